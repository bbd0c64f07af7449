/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * status-idle.h - the "idle" part of `idleclawctl status`: the idle
 * policy's state and reason, and each signal's latest value.
 */
#ifndef IC_CTL_STATUS_IDLE_H
#define IC_CTL_STATUS_IDLE_H

#include <json-c/json.h>

/* Print the status reply's "idle" object (nothing if it is absent). */
void ctl_print_idle(json_object *idle);

#endif
