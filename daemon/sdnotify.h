/*
 * sdnotify.h - the parts of systemd's service protocol idleclawd uses,
 * without libsystemd (whose compression and crypto dependencies cost
 * about 0.8 MiB of idle RSS): sd_notify, the watchdog and socket
 * activation variables, and sd_id128_get_machine_app_specific().
 * Behaviour follows sd-daemon(3) and sd_id128_get_machine(3).
 */
#ifndef IC_DAEMON_SDNOTIFY_H
#define IC_DAEMON_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDN_LISTEN_FDS_START 3

/*
 * Send state ("READY=1", "STATUS=...") to $NOTIFY_SOCKET (a path, or
 * "@name" for the abstract namespace).  Never blocks the caller: a full
 * socket drops the message.  1 sent, 0 not under systemd, -1 error.
 */
int sdn_notify(const char *state);
int sdn_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* $WATCHDOG_USEC if set for this process ($WATCHDOG_PID absent or ours):
 * true and *usec. */
bool sdn_watchdog_enabled(uint64_t *usec);

/* Sockets passed by socket activation ($LISTEN_PID is us, $LISTEN_FDS);
 * they start at SDN_LISTEN_FDS_START and get FD_CLOEXEC; the variables
 * are unset.  0 if none, -1 on malformed variables. */
int sdn_listen_fds(void);

/*
 * The machine id (path, normally /etc/machine-id) hashed for app_id, as
 * sd_id128_get_machine_app_specific() does: HMAC-SHA256 keyed with the
 * machine id, first 16 bytes, marked as a v4 UUID.  out gets 32 lower-case
 * hex digits.  0 ok, -1 if the machine id cannot be read (errno set).
 */
int sdn_machine_app_specific(const char *path, const uint8_t app_id[16], char out[33]);

#endif
