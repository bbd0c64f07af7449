/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * goduration.h - Go's time.ParseDuration, which Ollama applies to a
 * string keep_alive ("5m", "1h30m", "0"; "300" without a unit is an error).
 * idleclawd checks its [daemon] keep_alive with it; fake-ollama answers
 * 400 with Go's own sentences from it.
 */
#ifndef IC_COMMON_GODURATION_H
#define IC_COMMON_GODURATION_H

#include <stddef.h>

/*
 * Parse s as Go does: an optional sign, then one or more decimal numbers
 * (with an optional fraction) each followed by a unit (ns, us, µs, μs, ms,
 * s, m, h); "0" alone is allowed.  0 and *seconds set, or -1 with err Go's
 * message ("time: invalid duration \"x\"", "time: missing unit in duration
 * \"300\"", "time: unknown unit \"d\" in duration \"1d\"").  Values beyond
 * Go's range (about 292 years) are invalid, as in Go.
 */
int ic_go_duration_parse(const char *s, double *seconds, char *err, size_t errlen);

#endif
