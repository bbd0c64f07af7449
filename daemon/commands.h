/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * commands.h - idleclawd's handlers of the control commands (status,
 * models, pause, resume, reload, chat, cancel), one for each row of
 * ctl_commands[] (common/ctlproto.c), for daemon/control.c.
 */
#ifndef IC_DAEMON_COMMANDS_H
#define IC_DAEMON_COMMANDS_H

#include <stddef.h>

#include "daemon/control.h"

extern const struct control_handler daemon_handlers[];
extern const size_t daemon_n_handlers;

/* Shutdown: forget status/models requests waiting for the router. */
void commands_stop(void *daemon);

#endif
