/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * control.c - idleclawd's control socket server: accept, read JSON lines,
 * check peer credentials, validate against the command table
 * (common/ctlproto.c), dispatch to the handler the daemon bound to the
 * row, and queue replies and events without ever blocking the loop.  The
 * listening socket comes from control_listen.c.
 *
 * Thread: main thread only.  Every client has:
 *   - a bounded input: one line of at most IC_CONTROL_LINE_MAX bytes (the
 *     bufferevent stops reading at that mark; a longer line gets a
 *     too_long reply and the connection closes once that reply is out);
 *   - a bounded output: IC_CONTROL_OUTBUF_MAX bytes queued; a client that
 *     does not read is disconnected, never waited for; a write that makes
 *     no progress for write_timeout_ms also disconnects;
 *   - a list of its requests still waiting for their reply, so that events
 *     and replies go only to requests that exist, ids are unique per
 *     connection and one client cannot start unbounded work;
 *   - an idle timeout: with no request running, sending nothing for
 *     idle_timeout_s closes it (so idle connections cannot fill the table).
 * The last IC_CONTROL_CLIENTS_RESERVED connections are for the owner (root
 * and the daemon's user) only: members of the control group may run the
 * privileged commands, but cannot lock root out either.
 * A client that shuts down its sending side keeps its connection until
 * its running requests have replied (so `... | socat - UNIX:...` works);
 * one that goes away is dropped and on_disconnect cancels its work.
 *
 * Freeing: a handler may cause its own client to be dropped (its output
 * overflowed).  A client is therefore only marked dead while its read
 * callback runs and freed when that callback returns.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "control.h"
#include "control_listen.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

/* A request of a client that has not had its reply yet. */
struct pending {
	LIST_ENTRY(pending) entry;
	const struct ctl_command *cmd; /* its row of ctl_commands[] */
	char id[CTL_ID_MAX + 1];
};

struct client {
	TAILQ_ENTRY(client) entry;
	struct control *ctl;
	struct bufferevent *bev;
	struct control_peer peer;
	LIST_HEAD(, pending) pending;
	size_t n_pending;
	size_t scanned; /* input bytes already searched for a line end */
	bool eof;	/* peer shut down its sending side */
	bool closing;	/* close once output is flushed and nothing runs */
	bool dead;	/* dropped inside its own read callback */
	bool in_read;
};

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *rearm; /* re-enables accept after EMFILE and such */
	struct control_listen sock;
	/* handler of ctl_commands[i] (owned array of ctl_n_commands) */
	control_handler_fn *bound;
	void *daemon;
	void (*on_disconnect)(void *daemon, uint64_t client_id);
	struct timeval write_timeout;
	struct timeval idle_timeout; /* read timeout; 0 s = none */
	TAILQ_HEAD(, client) clients;
	size_t n_clients;
	uint64_t next_id;
	uid_t self_uid;
	char *group;	 /* control group's name (owned), or NULL */
	gid_t group_gid; /* its gid, or CONTROL_NO_GID */
	bool refusing;	 /* at the client limit (logged once) */
};

/* --- pure checks (unit tested) --- */

bool control_peer_privileged(
	uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, uid_t daemon_uid, gid_t group)
{
	size_t i;

	if (uid == 0 || uid == daemon_uid)
		return true;
	if (group == CONTROL_NO_GID)
		return false;
	if (gid == group)
		return true;
	for (i = 0; i < n_groups; i++)
		if (groups[i] == group)
			return true;
	return false;
}

enum ctl_status control_check_request(const struct control_peer *peer, const char *line, size_t len,
	struct ctl_request *req, const struct ctl_command **cmd_out, char *err, size_t errlen)
{
	const struct ctl_command *cmd;
	enum ctl_status st;

	*cmd_out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	st = ctl_request_parse(line, len, req);
	if (st != CTL_ST_OK)
		return st;
	cmd = ctl_command_find(req->cmd);
	if (cmd == NULL) {
		/* The name is the client's text: quote it bounded. */
		snprintf(err, errlen, "unknown command \"%.64s\"", req->cmd);
		return CTL_ST_UNKNOWN_COMMAND;
	}
	if (cmd->privileged && !peer->privileged)
		return CTL_ST_PERMISSION;
	st = ctl_command_check_args(cmd, req->args, err, errlen);
	if (st != CTL_ST_OK)
		return st;
	*cmd_out = cmd;
	return CTL_ST_OK;
}

/*
 * Give every row of ctl_commands[] its handler: exactly one each, and no
 * handler for a name the table lacks (a typo would otherwise leave a
 * command answering unknown_command).  0, or -1 with err.
 */
static int bind_handlers(control_handler_fn *bound, const struct control_handler *h, size_t n,
	char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct ctl_command *cmd = ctl_command_find(h[i].name);
		size_t row;

		if (cmd == NULL) {
			snprintf(err, errlen,
				"control handler \"%s\" is not for a command of "
				"the protocol",
				h[i].name != NULL ? h[i].name : "(null)");
			return -1;
		}
		if (h[i].fn == NULL) {
			snprintf(err, errlen, "control command \"%s\" has no handler", cmd->name);
			return -1;
		}
		row = (size_t)(cmd - ctl_commands);
		if (bound[row] != NULL) {
			snprintf(err, errlen, "two control handlers for \"%s\"", cmd->name);
			return -1;
		}
		bound[row] = h[i].fn;
	}
	for (i = 0; i < ctl_n_commands; i++) {
		if (bound[i] == NULL) {
			snprintf(err, errlen, "control command \"%s\" has no handler",
				ctl_commands[i].name);
			return -1;
		}
	}
	return 0;
}

/* --- clients --- */

static struct client *client_find(const struct control *ctl, uint64_t client_id)
{
	struct client *c;

	TAILQ_FOREACH(c, &ctl->clients, entry)
	if (c->peer.client_id == client_id && !c->dead)
		return c;
	return NULL;
}

static struct pending *pending_find(struct client *c, const char *id)
{
	struct pending *p;

	if (id == NULL)
		return NULL;
	LIST_FOREACH(p, &c->pending, entry)
	if (strcmp(p->id, id) == 0)
		return p;
	return NULL;
}

static void client_free(struct client *c)
{
	struct pending *p;

	while ((p = LIST_FIRST(&c->pending)) != NULL) {
		LIST_REMOVE(p, entry);
		free(p);
	}
	bufferevent_free(c->bev);
	free(c);
}

/* Drop a client now (or when its read callback returns). */
static void client_drop(struct client *c, const char *why)
{
	struct control *ctl = c->ctl;

	if (c->dead)
		return;
	c->dead = true;
	TAILQ_REMOVE(&ctl->clients, c, entry);
	ctl->n_clients--;
	log_debug("control: client %llu (pid %ld uid %ld) gone: %s",
		(unsigned long long)c->peer.client_id, (long)c->peer.pid, (long)c->peer.uid, why);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (ctl->on_disconnect != NULL)
		ctl->on_disconnect(ctl->daemon, c->peer.client_id);
	if (!c->in_read)
		client_free(c);
}

/* Close once nothing is queued and no request still waits for its reply. */
static void client_maybe_close(struct client *c)
{
	if (c->dead || !(c->closing || c->eof))
		return;
	if (c->eof && !c->closing && c->n_pending > 0)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return;
	client_drop(c, c->closing ? "closed after error" : "end of input");
}

/* Queue one message; on overflow drop the client.  0 or -1. */
static int client_send(struct client *c, json_object *msg)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len;
	char *line;

	if (c->dead)
		return -1;
	line = ctl_line_new(msg, &len);
	if (evbuffer_get_length(out) + len > IC_CONTROL_OUTBUF_MAX) {
		free(line);
		log_warn("control: client %llu (pid %ld) does not read its replies; disconnecting",
			(unsigned long long)c->peer.client_id, (long)c->peer.pid);
		client_drop(c, "output queue full");
		return -1;
	}
	/* One copy into the buffer; the line itself is freed below. */
	bufferevent_write(c->bev, line, len);
	free(line);
	return 0;
}

static void client_reply_error(
	struct client *c, const char *id, enum ctl_status st, const char *detail)
{
	json_object *msg = ctl_reply_new(id, st, detail, NULL);

	client_send(c, msg);
	json_object_put(msg);
}

/* --- reading requests --- */

static void pending_add(struct client *c, const char *id, const struct ctl_command *cmd)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->cmd = cmd;
	snprintf(p->id, sizeof(p->id), "%s", id);
	LIST_INSERT_HEAD(&c->pending, p, entry);
	c->n_pending++;
}

/* A client with all its requests running must still be able to cancel
 * one: a spare_slot command has one slot of its own. */
static size_t pending_limit(const struct ctl_command *cmd)
{
	if (cmd->spare_slot)
		return CONTROL_REQUESTS_PER_CLIENT_MAX + 1;
	return CONTROL_REQUESTS_PER_CLIENT_MAX;
}

static void handle_line(struct client *c, const char *line, size_t len)
{
	struct control *ctl = c->ctl;
	const struct ctl_command *cmd;
	struct ctl_request req;
	char err[IC_ERRBUF_MAX];
	enum ctl_status st;

	st = control_check_request(&c->peer, line, len, &req, &cmd, err, sizeof(err));
	if (st == CTL_ST_OK && pending_find(c, req.id) != NULL) {
		st = CTL_ST_BAD_REQUEST;
		snprintf(err, sizeof(err), "id \"%s\" is already in use by a running request",
			req.id);
	} else if (st == CTL_ST_OK && c->n_pending >= pending_limit(cmd)) {
		st = CTL_ST_BUSY;
		snprintf(err, sizeof(err), "at most %d requests may run at once on one connection",
			CONTROL_REQUESTS_PER_CLIENT_MAX);
	}
	if (st != CTL_ST_OK) {
		log_debug("control: client %llu: refused request: %s",
			(unsigned long long)c->peer.client_id, ctl_status_name(st));
		client_reply_error(c, req.id, st, err);
		ctl_request_clear(&req);
		return;
	}
	pending_add(c, req.id, cmd);
	ctl->bound[cmd - ctl_commands](ctl->daemon, &c->peer, req.id, req.args);
	ctl_request_clear(&req);
}

static void refuse_too_long(struct client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char err[IC_ERRBUF_MAX];

	snprintf(err, sizeof(err), "a request line may have at most %d bytes", IC_CONTROL_LINE_MAX);
	evbuffer_drain(in, evbuffer_get_length(in));
	c->scanned = 0;
	bufferevent_disable(c->bev, EV_READ);
	c->closing = true;
	client_reply_error(c, NULL, CTL_ST_TOO_LONG, err);
	client_maybe_close(c);
}

/*
 * Take the next complete line out of in.  1: *line (owned) and *len set;
 * 0: no complete line yet; -1: the line is too long.
 */
static int next_line(struct client *c, struct evbuffer *in, char **line, size_t *len)
{
	struct evbuffer_ptr start, eol;
	size_t eol_len = 0, n;

	if (evbuffer_ptr_set(in, &start, c->scanned, EVBUFFER_PTR_SET) < 0)
		return 0;
	eol = evbuffer_search_eol(in, &start, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		c->scanned = evbuffer_get_length(in);
		/* room for a "\r" that may still be followed by "\n" */
		return c->scanned > (size_t)IC_CONTROL_LINE_MAX + 1 ? -1 : 0;
	}
	n = (size_t)eol.pos;
	c->scanned = 0;
	*line = xmalloc(n + 1);
	evbuffer_remove(in, *line, n);
	evbuffer_drain(in, eol_len);
	(*line)[n] = '\0';
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	if (n > IC_CONTROL_LINE_MAX) {
		free(*line);
		*line = NULL;
		return -1;
	}
	*len = n;
	return 1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->in_read = true;
	while (!c->dead && !c->closing) {
		char *line = NULL;
		size_t len = 0;
		int r = next_line(c, in, &line, &len);

		if (r == 0)
			break;
		if (r < 0) {
			refuse_too_long(c);
			break;
		}
		if (len > 0) /* blank lines are ignored */
			handle_line(c, line, len);
		free(line);
	}
	c->in_read = false;
	if (c->dead)
		client_free(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	client_maybe_close(arg);
}

/*
 * End of input: a peer that only shut down its sending side still reads;
 * one that closed the socket is gone.  Linux reports POLLHUP on a UNIX
 * socket once both directions are shut, i.e. when the peer closed it.
 */
static bool peer_gone(evutil_socket_t fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (poll(&p, 1, 0) < 0)
		return true;
	return (p.revents & (POLLHUP | POLLERR)) != 0;
}

static const struct timeval *idle_timeout_of(const struct control *ctl)
{
	return ctl->idle_timeout.tv_sec > 0 ? &ctl->idle_timeout : NULL;
}

void control_set_idle_timeout(struct control *ctl, int seconds)
{
	ctl->idle_timeout.tv_sec = seconds > 0 ? seconds : 0;
	ctl->idle_timeout.tv_usec = 0;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if (what & BEV_EVENT_EOF) {
		if (peer_gone(bufferevent_getfd(bev))) {
			client_drop(c, "closed");
			return;
		}
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		client_maybe_close(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING)) {
		/* silence is fine while a request runs (a long chat) */
		if (c->n_pending > 0) {
			bufferevent_set_timeouts(
				bev, idle_timeout_of(c->ctl), &c->ctl->write_timeout);
			bufferevent_enable(bev, EV_READ);
			return;
		}
		client_drop(c, "idle");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		client_drop(c, "write timeout");
		return;
	}
	client_drop(c, (what & BEV_EVENT_ERROR) ? strerror(EVUTIL_SOCKET_ERROR()) : "closed");
}

/* --- accepting --- */

static void refuse_client(evutil_socket_t fd, const char *why)
{
	json_object *msg = ctl_reply_new(NULL, CTL_ST_BUSY, why, NULL);
	size_t len;
	char *line = ctl_line_new(msg, &len);

	/* Best effort, never blocking: a fresh socket buffer takes one line. */
	if (send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("control: refusing a client: %s", strerror(errno));
	free(line);
	json_object_put(msg);
	evutil_closesocket(fd);
}

/*
 * The peer's supplementary groups as the kernel recorded them at connect()
 * (SO_PEERGROUPS, Linux >= 4.13), never looked up by name: *out (owned by
 * the caller) and their number; 0 and NULL when the kernel cannot say, so
 * that only the peer's uid and gid count.
 */
static size_t peer_groups(evutil_socket_t fd, gid_t **out)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g = xmalloc(len);
	int r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len);

	if (r < 0 && errno == ERANGE) { /* len is now the size needed */
		g = xrealloc(g, len);
		r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len);
	}
	if (r < 0) {
		log_debug("control: no supplementary groups of the peer: %s", strerror(errno));
		free(g);
		*out = NULL;
		return 0;
	}
	*out = g;
	return len / sizeof(gid_t);
}

static int peer_credentials(
	evutil_socket_t fd, struct control_peer *peer, const struct control *ctl)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t *groups = NULL;
	size_t n_groups = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	if (ctl->group_gid != CONTROL_NO_GID)
		n_groups = peer_groups(fd, &groups);
	peer->owner = cred.uid == 0 || cred.uid == ctl->self_uid;
	peer->privileged = control_peer_privileged(
		cred.uid, cred.gid, groups, n_groups, ctl->self_uid, ctl->group_gid);
	free(groups);
	return 0;
}

static int clients_of_uid(const struct control *ctl, uid_t uid)
{
	const struct client *c;
	int n = 0;

	TAILQ_FOREACH(c, &ctl->clients, entry)
	if (c->peer.uid == uid)
		n++;
	return n;
}

static void accept_cb(
	struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct control *ctl = arg;
	struct client *c = xcalloc(1, sizeof(*c));
	size_t limit;

	if (peer_credentials(fd, &c->peer, ctl) < 0) {
		log_warn("control: cannot read peer credentials: %s", strerror(errno));
		evutil_closesocket(fd);
		free(c);
		return;
	}
	/* the last IC_CONTROL_CLIENTS_RESERVED are kept for root and us */
	limit = c->peer.owner ? IC_CONTROL_CLIENTS_MAX
			      : IC_CONTROL_CLIENTS_MAX - IC_CONTROL_CLIENTS_RESERVED;
	if (ctl->n_clients >= limit) {
		/* once per burst, not once per connection attempt */
		if (!ctl->refusing)
			log_warn("control: %zu clients connected; refusing more%s", ctl->n_clients,
				c->peer.owner ? "" : " (the rest are kept for root)");
		ctl->refusing = true;
		refuse_client(fd, "too many control clients");
		free(c);
		return;
	}
	ctl->refusing = false;
	/* One user cannot fill every slot: root can always get in to pause. */
	if (!c->peer.owner && clients_of_uid(ctl, c->peer.uid) >= CONTROL_CLIENTS_PER_UID_MAX) {
		log_debug("control: uid %ld has %d connections; refusing another",
			(long)c->peer.uid, CONTROL_CLIENTS_PER_UID_MAX);
		refuse_client(fd, "too many connections from this user");
		free(c);
		return;
	}
	c->ctl = ctl;
	c->peer.client_id = ++ctl->next_id;
	LIST_INIT(&c->pending);
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_err("control: cannot set up a client connection");
		evutil_closesocket(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* A line, its "\r\n" and one more byte to tell "too long" apart. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)IC_CONTROL_LINE_MAX + 3);
	bufferevent_set_timeouts(c->bev, idle_timeout_of(ctl), &ctl->write_timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	ctl->n_clients++;
	log_debug("control: client %llu connected (pid %ld uid %ld%s)",
		(unsigned long long)c->peer.client_id, (long)c->peer.pid, (long)c->peer.uid,
		c->peer.privileged ? ", privileged" : "");
}

static void rearm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;

	evconnlistener_enable(ctl->listener);
}

/* accept() failed (out of descriptors...): pause a second instead of spinning. */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct control *ctl = arg;
	struct timeval one = { 1, 0 };

	log_warn("control: accept failed: %s; pausing for a second",
		strerror(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(lev);
	event_add(ctl->rearm, &one);
}

/* The gid of the group named name, or CONTROL_NO_GID (no name, no such
 * group, or the group database failed). */
static gid_t group_gid(const char *name)
{
	struct group gr, *res = NULL;
	size_t size = 16384;
	char *buf = NULL;
	gid_t gid = CONTROL_NO_GID;
	int r;

	if (name == NULL || name[0] == '\0')
		return CONTROL_NO_GID;
	do { /* a group with many members needs a larger buffer */
		buf = xrealloc(buf, size);
		r = getgrnam_r(name, &gr, buf, size, &res);
		size *= 2;
	} while (r == ERANGE && size <= CONTROL_GROUP_BUF_MAX);
	if (r == 0 && res != NULL)
		gid = gr.gr_gid;
	else if (r != 0)
		log_warn("control: cannot look up group %s: %s", name, strerror(r));
	free(buf);
	return gid;
}

void control_resolve_group(struct control *ctl)
{
	gid_t gid = group_gid(ctl->group);

	if (gid != ctl->group_gid && gid != CONTROL_NO_GID)
		log_info("control: members of group %s (gid %ld) may pause, resume and reload",
			ctl->group, (long)gid);
	else if (gid != ctl->group_gid)
		log_info("control: no group %s; only root and the daemon's user may pause, "
			 "resume and reload",
			ctl->group ? ctl->group : "");
	ctl->group_gid = gid;
}

struct control *control_new(
	struct event_base *base, const struct control_config *cfg, char *err, size_t errlen)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	int ms;

	ctl->base = base;
	ctl->daemon = cfg->daemon;
	ctl->on_disconnect = cfg->on_disconnect;
	ctl->self_uid = geteuid();
	ctl->group = cfg->group != NULL && cfg->group[0] != '\0' ? xstrdup(cfg->group) : NULL;
	ctl->group_gid = CONTROL_NO_GID;
	ms = cfg->write_timeout_ms > 0 ? cfg->write_timeout_ms : CONTROL_WRITE_TIMEOUT_MS;
	ctl->write_timeout.tv_sec = ms / 1000;
	ctl->write_timeout.tv_usec = (ms % 1000) * 1000;
	control_set_idle_timeout(ctl, cfg->idle_timeout_s);
	TAILQ_INIT(&ctl->clients);
	ctl->bound = xcalloc(ctl_n_commands, sizeof(*ctl->bound));
	if (bind_handlers(ctl->bound, cfg->handlers, cfg->n_handlers, err, errlen) < 0 ||
		control_listen_open(
			&ctl->sock, cfg->path, cfg->listen_fd, cfg->group, err, errlen) < 0) {
		free(ctl->bound);
		free(ctl->group);
		free(ctl);
		return NULL;
	}
	ctl->listener = evconnlistener_new(base, accept_cb, ctl,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, ctl->sock.fd);
	ctl->rearm = evtimer_new(base, rearm_cb, ctl);
	if (ctl->listener == NULL || ctl->rearm == NULL) {
		snprintf(err, errlen, "cannot watch the control socket");
		if (ctl->listener == NULL)
			close(ctl->sock.fd);
		ctl->on_disconnect = NULL;
		control_free(ctl);
		return NULL;
	}
	evconnlistener_set_error_cb(ctl->listener, accept_error_cb);
	control_resolve_group(ctl);
	return ctl;
}

void control_free(struct control *ctl)
{
	struct client *c;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->clients)) != NULL)
		client_drop(c, "control socket closing");
	if (ctl->listener != NULL)
		evconnlistener_free(ctl->listener);
	if (ctl->rearm != NULL)
		event_free(ctl->rearm);
	control_listen_remove(&ctl->sock);
	free(ctl->bound);
	free(ctl->group);
	free(ctl);
}

/* --- sending --- */

int control_reply(struct control *ctl, uint64_t client_id, const char *req_id,
	enum ctl_status status, json_object *body)
{
	return control_reply_detail(ctl, client_id, req_id, status, NULL, body);
}

int control_reply_detail(struct control *ctl, uint64_t client_id, const char *req_id,
	enum ctl_status status, const char *detail, json_object *body)
{
	struct client *c = client_find(ctl, client_id);
	struct pending *p;
	json_object *msg;
	int r;

	if (c == NULL)
		return -1;
	p = pending_find(c, req_id);
	if (p == NULL)
		return -1; /* answered already, or never asked */
	LIST_REMOVE(p, entry);
	free(p);
	c->n_pending--;
	if (c->n_pending == 0) /* idle from now, not from the last line it sent */
		bufferevent_set_timeouts(c->bev, idle_timeout_of(ctl), &ctl->write_timeout);
	msg = ctl_reply_new(req_id, status, detail, body);
	r = client_send(c, msg);
	json_object_put(msg);
	if (r == 0)
		client_maybe_close(c);
	return r;
}

int control_event(struct control *ctl, uint64_t client_id, const char *req_id,
	const char *event_type, json_object *body)
{
	struct client *c = client_find(ctl, client_id);
	struct pending *p;
	json_object *msg;
	int r;

	if (c == NULL)
		return -1;
	p = pending_find(c, req_id);
	if (p == NULL || !p->cmd->streams)
		return -1;
	msg = ctl_event_new(req_id, event_type, body);
	r = client_send(c, msg);
	json_object_put(msg);
	return r;
}

bool control_request_pending(const struct control *ctl, uint64_t client_id, const char *req_id)
{
	struct client *c = client_find(ctl, client_id);

	return c != NULL && pending_find(c, req_id) != NULL;
}

size_t control_client_count(const struct control *ctl)
{
	return ctl->n_clients;
}
