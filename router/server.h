/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * server.h - the lws protocol callback: HTTP routes and the node socket.
 */
#ifndef IC_ROUTER_SERVER_H
#define IC_ROUTER_SERVER_H

#include <libwebsockets.h>

extern const struct lws_protocols server_protocols[];

/*
 * Queue a JSON reply {"detail": detail} with status on an HTTP connection
 * (Retry-After when retry_after > 0) and ask for a writeable callback.
 */
void server_reply_detail(struct lws *wsi, int status, const char *detail, int retry_after);
/* Same with any JSON text (taken over: a NEW string). */
void server_reply_text(struct lws *wsi, int status, char *json, int retry_after);

#endif
