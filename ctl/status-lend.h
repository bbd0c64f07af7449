/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * status-lend.h - the lines of `idleclawctl status` about when and how
 * this node lends: the schedule and when its next window opens, which
 * GPUs count for idleness, and the node's standing with the router.
 */
#ifndef IC_CTL_STATUS_LEND_H
#define IC_CTL_STATUS_LEND_H

#include <json-c/json.h>

/* Print them from the whole status reply (each only if present). */
void ctl_print_lending(json_object *reply);

#endif
