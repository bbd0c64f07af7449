/*
 * sdnotify.c - see sdnotify.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/sdnotify.h"
#include "daemon/sha256.h"
#include "hex.h"

int
sdn_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t n;
	int fd, rc;

	if (!path || !*path)
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = (int)sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
			 (struct sockaddr *)&sa, salen);
	close(fd);
	return rc < 0 ? -1 : 1;
}

int
sdn_notifyf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		va_end(ap);
		return -1;
	}
	va_end(ap);
	rc = sdn_notify(s);
	free(s);
	return rc;
}

/* An unsigned decimal environment variable; false if unset or bad. */
static bool
env_ulong(const char *name, unsigned long long *out)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return false;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno == 0 && *end == '\0' && v[0] != '-';
}

static bool
env_is_our_pid(const char *name, bool absent_ok)
{
	unsigned long long pid;

	if (!getenv(name))
		return absent_ok;
	return env_ulong(name, &pid) && pid == (unsigned long long)getpid();
}

bool
sdn_watchdog_enabled(uint64_t *usec)
{
	unsigned long long v;

	if (!env_ulong("WATCHDOG_USEC", &v) || v == 0 || !env_is_our_pid("WATCHDOG_PID", true))
		return false;
	*usec = v;
	return true;
}

int
sdn_listen_fds(void)
{
	unsigned long long n;
	int i, rc = 0;

	if (!getenv("LISTEN_FDS"))
		return 0;
	if (!env_is_our_pid("LISTEN_PID", false))
		goto out;
	if (!env_ulong("LISTEN_FDS", &n) || n > 1024) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < (int)n; i++) {
		int fd = SDN_LISTEN_FDS_START + i;
		int fl = fcntl(fd, F_GETFD);

		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			rc = -1;
			goto out;
		}
	}
	rc = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}

int
sdn_machine_app_specific(const char *path, const uint8_t app_id[16], char out[33])
{
	char buf[64];
	uint8_t mid[16], mac[SHA256_LEN];
	ssize_t n;
	int fd, i;
	bool zero = true;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 32 || (n > 32 && buf[32] != '\n')) {
		errno = n < 0 ? errno : ENOMEDIUM;	/* empty: not initialised */
		return -1;
	}
	for (i = 0; i < 16; i++) {
		long byte = ic_hex_parse(buf + 2 * i, 2);

		if (byte < 0) {
			errno = EINVAL;
			return -1;
		}
		mid[i] = (uint8_t)byte;
		zero = zero && mid[i] == 0;
	}
	if (zero) {
		errno = ENOMEDIUM;
		return -1;
	}
	hmac_sha256(mid, sizeof(mid), app_id, 16, mac);
	mac[6] = (mac[6] & 0x0F) | 0x40;	/* version 4 */
	mac[8] = (mac[8] & 0x3F) | 0x80;	/* variant DCE */
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return 0;
}
