/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * availability.c - see availability.h.
 */

#include "daemon/availability.h"

static const char *const names[AVAIL_REASON_COUNT] = {
	[AVAIL_DRAINING] = "draining",
	[AVAIL_PAUSED] = "paused",
	[AVAIL_OLLAMA_DOWN] = "ollama down",
	[AVAIL_NO_MODELS] = "no models",
	[AVAIL_OUTSIDE_SCHEDULE] = "outside schedule",
	[AVAIL_NOT_IDLE] = "machine busy",
};

bool avail_is(const struct availability *a)
{
	return a->reasons == 0;
}

bool avail_has(const struct availability *a, enum avail_reason r)
{
	return (a->reasons & (1u << r)) != 0;
}

bool avail_set(struct availability *a, enum avail_reason r, bool on)
{
	bool before = avail_is(a);

	if (on)
		a->reasons |= 1u << r;
	else
		a->reasons &= ~(1u << r);
	return before != avail_is(a);
}

bool avail_pause(struct availability *a, time_t now, long seconds)
{
	a->paused_until = seconds > 0 ? now + seconds : 0;
	return avail_set(a, AVAIL_PAUSED, true);
}

bool avail_resume(struct availability *a)
{
	a->paused_until = 0;
	return avail_set(a, AVAIL_PAUSED, false);
}

bool avail_tick(struct availability *a, time_t now)
{
	if (avail_has(a, AVAIL_PAUSED) && a->paused_until && now >= a->paused_until)
		return avail_resume(a);
	return false;
}

const char *avail_reason_text(const struct availability *a)
{
	int i;

	for (i = 0; i < AVAIL_REASON_COUNT; i++)
		if (a->reasons & (1u << i))
			return names[i];
	return "available";
}
