/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * control.h - idleclawd's control socket server: accept, JSON-line framing,
 * peer credentials, validation, dispatch.
 *
 * The wire protocol (message types, statuses, version, and the command
 * table with each command's arguments and privilege) is common/ctlproto.h
 * and docs/control.md.  This file knows nothing of what the commands do:
 * the daemon binds a handler to each row of the command table by name
 * (daemon/commands.c).  The listening socket itself is control_listen.c.
 *
 * Thread: main thread only (libevent).  Clients are named by a 64-bit id,
 * never by pointer, so a handler that streams (chat) can keep the id after
 * the client went away: control_reply() to a gone client returns -1 and
 * on_disconnect has already told the daemon to cancel its work.
 *
 * Every request gets exactly one reply: after control_reply() for an id,
 * control_event()/control_reply() for it return -1.  The daemon must ignore
 * SIGPIPE (a client may vanish while we write to it).
 */
#ifndef IC_DAEMON_CONTROL_H
#define IC_DAEMON_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "ctlproto.h"

struct control;

/* Who sent a request (SO_PEERCRED). */
struct control_peer {
	uint64_t client_id;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool privileged; /* root, the daemon's uid, or in the control group */
	/* root or the daemon's uid: may take the connections and chats kept
	 * free so that nobody else, group members included, can lock them out */
	bool owner;
};

/*
 * A handler gets the validated request (args: the request's "args" object,
 * borrowed, never NULL; privilege already checked) and must answer, now or
 * later, with control_reply() for req_id.  Handlers of a command whose row
 * streams send control_event()s first.
 */
typedef void (*control_handler_fn)(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args);

/* The daemon's side of one command: the handler for the row named name. */
struct control_handler {
	const char *name; /* a ctl_commands[] row's name */
	control_handler_fn fn;
};

struct control_config {
	const char *path; /* socket path; ignored when listen_fd >= 0 */
	int listen_fd;	  /* from sd_listen_fds(), or -1 */
	/* chgrp the socket to this group if it exists; its members may run
	 * privileged commands.  NULL or "": none. */
	const char *group;
	/* One handler for every row of ctl_commands[], no other names:
	 * control_new() refuses anything else. */
	const struct control_handler *handlers;
	size_t n_handlers;
	void *daemon; /* passed to handlers */
	/* A client went away: cancel what it started.  May be NULL. */
	void (*on_disconnect)(void *daemon, uint64_t client_id);
	/* A client whose queued output makes no progress this long is
	 * dropped; 0 = CONTROL_WRITE_TIMEOUT_MS.  (Tests use less.) */
	int write_timeout_ms;
	/* A client with no request running that sends nothing this long is
	 * closed; 0 = never. */
	int idle_timeout_s;
};

/* Requests one connection may have running (waiting for their reply);
 * one more gets CTL_ST_BUSY.  A command whose row has spare_slot (cancel)
 * has one extra slot, so its handler must reply at once. */
#define CONTROL_REQUESTS_PER_CLIENT_MAX 16
/* Connections one unprivileged user may have open; one more gets one
 * CTL_ST_BUSY reply and is closed.  Unprivileged peers together get
 * IC_CONTROL_CLIENTS_MAX - IC_CONTROL_CLIENTS_RESERVED connections;
 * privileged ones all IC_CONTROL_CLIENTS_MAX, so no user can lock root out. */
#define CONTROL_CLIENTS_PER_UID_MAX IC_CONTROL_CLIENTS_PER_UID_MAX
/* Default of control_config.write_timeout_ms. */
#define CONTROL_WRITE_TIMEOUT_MS 30000

/* Change idle_timeout_s (on reload); clients connected before keep theirs
 * until they next send or their requests end. */
void control_set_idle_timeout(struct control *ctl, int seconds);

/* Bind the handlers, listen and start accepting.  NULL with err filled on
 * failure (also when a row of ctl_commands[] has no handler). */
struct control *control_new(
	struct event_base *base, const struct control_config *cfg, char *err, size_t errlen);
/* Close every client and the socket (unlinks a path we created). */
void control_free(struct control *ctl);

/*
 * Final reply to req_id: {"v":..,"id":req_id,"status":"<name>","message":
 * "<fixed sentence>", ...members of body}.  body is borrowed (may be NULL).
 * Returns -1 if the client is gone or its output queue overflowed (then it
 * is disconnected).
 */
int control_reply(struct control *ctl, uint64_t client_id, const char *req_id,
	enum ctl_status status, json_object *body);

/* An event for a running request of a command that streams:
 * {"v":..,"id":req_id,"event":"<type>",...}.  -1 as control_reply(), and
 * for a request that is not running or whose command does not stream. */
int control_event(struct control *ctl, uint64_t client_id, const char *req_id,
	const char *event_type, json_object *body);

/* Number of connected clients (status). */
size_t control_client_count(const struct control *ctl);

/* control_reply() with a one-line "detail" (may be NULL) after the fixed
 * sentence, e.g. the router's error text.  Same return value. */
int control_reply_detail(struct control *ctl, uint64_t client_id, const char *req_id,
	enum ctl_status status, const char *detail, json_object *body);

/* true while req_id of that client still waits for its reply: a cancel
 * handler answers CTL_ST_NOT_FOUND when this is false. */
bool control_request_pending(const struct control *ctl, uint64_t client_id, const char *req_id);

/* control_config.group names no group (or none that exists). */
#define CONTROL_NO_GID ((gid_t)-1)
/* The largest buffer getgrnam_r() gets for the control group's entry. */
#define CONTROL_GROUP_BUF_MAX (1024 * 1024)

/*
 * A peer may run privileged commands if it is root, the daemon's user, or
 * a member of the control group (group, CONTROL_NO_GID for none): its
 * primary gid or one of its n_groups supplementary groups, all as the
 * kernel gave them for the socket (SO_PEERCRED, SO_PEERGROUPS).
 */
bool control_peer_privileged(
	uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, uid_t daemon_uid, gid_t group);

/* Look the control group's name up again (at start, and on reload: a
 * group created or renumbered since), logging a change. */
void control_resolve_group(struct control *ctl);

/*
 * The one place a request line is validated before dispatch (pure; used by
 * control.c, unit tested): envelope (ctl_request_parse), command in
 * ctl_commands[], the row's privilege, its arguments
 * (ctl_command_check_args).  CTL_ST_OK and *cmd_out set to the row, or the
 * status to reply with and err (may be "") as its detail.  The caller
 * always ctl_request_clear()s req; req->id names the request in the error
 * reply when it had a valid id.
 */
enum ctl_status control_check_request(const struct control_peer *peer, const char *line, size_t len,
	struct ctl_request *req, const struct ctl_command **cmd_out, char *err, size_t errlen);

#endif
