/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backoff.c - see backoff.h.
 */
#include "daemon/backoff.h"

double backoff_delay_s(int attempt, int min_s, int max_s, double r)
{
	double cap = min_s;
	int i;

	for (i = 0; i < attempt && cap < max_s; i++)
		cap *= 2;
	if (cap > max_s)
		cap = max_s;
	if (cap < min_s)
		cap = min_s;
	return min_s + r * (cap - min_s);
}

enum backoff_kind backoff_classify(int code, bool registered)
{
	if (code == BACKOFF_CLOSE_POLICY)
		return BACKOFF_POLICY;
	if (!registered)
		return BACKOFF_FAILURE;
	switch (code) {
	case BACKOFF_CLOSE_GOING_AWAY:
	case BACKOFF_CLOSE_PROTOCOL:
	case BACKOFF_CLOSE_RESTART:
	case BACKOFF_CLOSE_TRY_LATER:
	case BACKOFF_CLOSE_BAD_GATEWAY:
		return BACKOFF_RESTART;
	default:
		return BACKOFF_FAILURE;
	}
}
