/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * addr.h - addresses as configuration and headers write them: HOST:PORT
 * (IPv6 in brackets), ports, loopback, and lists of networks (CIDR).
 *
 * Every host:port in the tree is split here: idleclaw-routerd's listen,
 * the gateway's listen and Host header, [cluster] url and http(s) URLs
 * (validate.h).  Each caller keeps its own rules on top (must a port be
 * given, may the host be a name, ...) and its own error sentences, so the
 * functions below return what went wrong, never a message.  Pure.
 */
#ifndef IC_ADDR_H
#define IC_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* The parts of one "HOST[:PORT]", pointing into the text split. */
struct ic_hostport {
	const char *host; /* without brackets */
	size_t host_len;
	const char *port; /* after the ':'; NULL: no port given */
	size_t port_len;
	bool bracketed; /* "[...]": an IPv6 literal (not checked here) */
};

enum ic_hostport_split_flags {
	/* An unbracketed host ends at the last ':', not the first ("::1:80"
	 * is host "::1", port 80; idleclaw-routerd's listen has taken that). */
	IC_HP_LAST_COLON = 1 << 0,
};

enum ic_hostport_err {
	IC_HP_OK = 0,
	IC_HP_NO_BRACKET = -1, /* "[" without "]" */
	IC_HP_JUNK = -2,       /* after "]" neither the end nor ":" (host is set) */
};

/*
 * Splits s[0..len) into *out: "[V6]", "[V6]:PORT", "HOST" or "HOST:PORT".
 * The host's characters and the port's digits are not checked (see
 * ic_port_parse()).  flags: enum ic_hostport_split_flags.
 */
enum ic_hostport_err ic_hostport_split(
	const char *s, size_t len, unsigned flags, struct ic_hostport *out);

/* A port p[0..len): decimal digits only, 1..65535.  The port, or -1. */
int ic_port_parse(const char *p, size_t len);

/* Is host (text, no brackets) a numeric loopback address: IPv4 127/8 or
 * IPv6 ::1, as written (not "::ffff:127.0.0.1")?  Names, "localhost"
 * included, are not. */
bool ic_addr_is_loopback(const char *host);

/* s[0..len) as an IPv4 or IPv6 address (no brackets) into 16 bytes, IPv4
 * in its mapped form ::ffff:a.b.c.d, so one comparison serves both; an
 * IPv6 peer "::ffff:1.2.3.4" is then the IPv4 client 1.2.3.4.  *v4 (if
 * v4) says which.  false if s is not an address. */
bool ic_addr_parse(const char *s, size_t len, unsigned char out[16], bool *v4);

/*
 * Lists of networks: "ADDR[/BITS], ..." (comma-separated, white space
 * around entries ignored; ADDR alone is the one address), parsed once when the
 * configuration is loaded so that a request only compares bytes.
 */
struct ic_cidr_list;

/* A NEW list from text (NULL or empty: no networks).  Entries that are not
 * an address, or whose BITS are out of range, are left out and counted in
 * *n_bad (if n_bad) for the caller to report. */
struct ic_cidr_list *ic_cidr_list_new(const char *text, size_t *n_bad);
void ic_cidr_list_free(struct ic_cidr_list *l);
/* Networks in l (0 for NULL). */
size_t ic_cidr_list_count(const struct ic_cidr_list *l);
/* Is addr (text; IPv6 in any form) in one of l's networks?  false for NULL
 * l or addr, or an addr that is not an address. */
bool ic_cidr_list_match(const struct ic_cidr_list *l, const char *addr);

#endif
