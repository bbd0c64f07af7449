/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-logind.c - the owner's presence as logind sees it: properties
 * IdleHint (b) and IdleSinceHint (t, CLOCK_REALTIME µs) of
 * org.freedesktop.login1.Manager on the system bus (sd_bus_open_system()
 * honours DBUS_SYSTEM_BUS_ADDRESS, which tests use).  Desktops set the
 * hint; a server with SSH users only leaves it to idle-tty.c.
 *
 * The calls are asynchronous: the bus fd is one libevent event of the main
 * loop (with sd-bus's own timeout), so a slow or absent logind never stops
 * the loop.  Each query asks for both properties; the answers replace the
 * last known values.  No bus, an error reply or a broken connection make
 * the signal unknown; the next query opens the bus again.
 */

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "daemon/idle-sources.h"
#include "log.h"
#include "xmalloc.h"

#define LOGIND_DEST "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_IFACE "org.freedesktop.login1.Manager"
/* A query gets this long before its answer counts as missing. */
#define LOGIND_CALL_USEC (2 * 1000 * 1000)

struct idle_logind {
	struct event_base *base;
	sd_bus *bus;
	struct event *ev;
	sd_bus_slot *hint_slot, *since_slot;
	int hint;	   /* -1 unknown, 0 active, 1 idle */
	uint64_t since_us; /* IdleSinceHint */
	bool told;	   /* "no system bus" was logged (once until it works) */
};

static void arm(struct idle_logind *l);

static void drop_bus(struct idle_logind *l)
{
	l->hint_slot = sd_bus_slot_unref(l->hint_slot);
	l->since_slot = sd_bus_slot_unref(l->since_slot);
	if (l->ev)
		event_del(l->ev);
	l->bus = sd_bus_flush_close_unref(l->bus);
	l->hint = -1;
}

static int open_bus(struct idle_logind *l)
{
	int r;

	if (l->bus)
		return 0;
	r = sd_bus_open_system(&l->bus);
	if (r < 0) {
		if (!l->told)
			log_info(
				"idle: no system bus for logind (%s): presence from terminals only",
				strerror(-r));
		l->told = true;
		l->bus = NULL;
		return -1;
	}
	l->told = false;
	return 0;
}

static void bus_cb(evutil_socket_t fd, short what, void *arg)
{
	struct idle_logind *l = arg;
	int r;

	while ((r = sd_bus_process(l->bus, NULL)) > 0)
		;
	if (r < 0) {
		log_debug("idle: system bus connection lost: %s", strerror(-r));
		drop_bus(l);
		return;
	}
	arm(l);
}

/* Wait for what sd-bus wants next: fd readiness and/or its timeout. */
static void arm(struct idle_logind *l)
{
	int fd = sd_bus_get_fd(l->bus), ev = sd_bus_get_events(l->bus);
	uint64_t until = UINT64_MAX;
	struct timeval tv, *tvp = NULL;
	short what = 0;

	if (fd < 0 || ev < 0) {
		drop_bus(l);
		return;
	}
	if (ev & POLLIN)
		what |= EV_READ;
	if (ev & POLLOUT)
		what |= EV_WRITE;
	if (sd_bus_get_timeout(l->bus, &until) >= 0 && until != UINT64_MAX) {
		struct timespec ts;
		uint64_t now;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
		until = until > now ? until - now : 0;
		tv.tv_sec = (time_t)(until / 1000000);
		tv.tv_usec = (suseconds_t)(until % 1000000);
		tvp = &tv;
	}
	if (l->ev)
		event_free(l->ev);
	l->ev = event_new(l->base, fd, what, bus_cb, l);
	event_add(l->ev, tvp);
}

static int hint_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct idle_logind *l = userdata;
	int b;

	l->hint_slot = sd_bus_slot_unref(l->hint_slot);
	if (sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "v", "b", &b) < 0) {
		l->hint = -1;
		return 0;
	}
	l->hint = b ? 1 : 0;
	return 0;
}

static int since_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct idle_logind *l = userdata;
	uint64_t t;

	l->since_slot = sd_bus_slot_unref(l->since_slot);
	if (!sd_bus_message_is_method_error(m, NULL) && sd_bus_message_read(m, "v", "t", &t) >= 0)
		l->since_us = t;
	return 0;
}

static int ask(
	struct idle_logind *l, sd_bus_slot **slot, const char *prop, sd_bus_message_handler_t cb)
{
	sd_bus_message *m = NULL;
	int r;

	if (*slot)
		return 0; /* the last question is still open */
	r = sd_bus_message_new_method_call(
		l->bus, &m, LOGIND_DEST, LOGIND_PATH, "org.freedesktop.DBus.Properties", "Get");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", LOGIND_IFACE, prop);
	if (r >= 0)
		r = sd_bus_call_async(l->bus, slot, m, cb, l, LOGIND_CALL_USEC);
	sd_bus_message_unref(m);
	return r;
}

void idle_logind_query(struct idle_logind *l)
{
	if (open_bus(l) < 0)
		return;
	if (ask(l, &l->hint_slot, "IdleHint", hint_reply) < 0 ||
		ask(l, &l->since_slot, "IdleSinceHint", since_reply) < 0) {
		drop_bus(l);
		return;
	}
	arm(l);
}

struct idle_logind *idle_logind_new(struct event_base *base)
{
	struct idle_logind *l = xcalloc(1, sizeof(*l));

	l->base = base;
	l->hint = -1;
	return l;
}

void idle_logind_free(struct idle_logind *l)
{
	if (!l)
		return;
	drop_bus(l);
	if (l->ev)
		event_free(l->ev);
	free(l);
}

long idle_logind_input_age(const struct idle_logind *l, time_t now)
{
	time_t since;

	if (l->hint < 0)
		return -1;
	if (l->hint == 0)
		return 0;
	since = (time_t)(l->since_us / 1000000);
	return now > since ? (long)(now - since) : 0;
}
