/*
 * commands.h - the control commands of idleclawd (status, models, pause,
 * resume, reload, chat, cancel): one table for daemon/control.c.
 */
#ifndef IC_DAEMON_COMMANDS_H
#define IC_DAEMON_COMMANDS_H

#include <stddef.h>

#include "daemon/control.h"

extern const struct control_command daemon_commands[];
extern const size_t daemon_n_commands;

/* Shutdown: forget status/models requests waiting for the router. */
void commands_stop(void *daemon);

#endif
