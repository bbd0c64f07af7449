/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-power.c - on battery?  SYS/class/power_supply/ * /type is Mains (or
 * USB, USB_C, ...) with online 0/1, or Battery with present and status.
 * On battery: no external supply online while a battery is present and,
 * when no external supply is listed at all, the battery is discharging.
 */

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "daemon/idle-sources.h"

static int read_word(const char *dir, const char *name, const char *file, char *buf, size_t len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);
	if (idle_read_small(path, 0, buf, len) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

enum idle_power idle_power_read(const char *sys_root)
{
	char dir[512], type[32], v[32];
	bool external = false, external_online = false, battery = false, discharging = false;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class/power_supply", sys_root);
	d = opendir(dir);
	if (!d)
		return IDLE_POWER_UNKNOWN;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
			read_word(dir, e->d_name, "type", type, sizeof(type)) < 0)
			continue;
		if (strcmp(type, "Battery") == 0) {
			/* no "present" file means present */
			if (read_word(dir, e->d_name, "present", v, sizeof(v)) == 0 &&
				strcmp(v, "0") == 0)
				continue;
			battery = true;
			if (read_word(dir, e->d_name, "status", v, sizeof(v)) == 0 &&
				strcmp(v, "Discharging") == 0)
				discharging = true;
			continue;
		}
		/* Mains, USB, USB_C, USB_PD...: external power when online */
		if (read_word(dir, e->d_name, "online", v, sizeof(v)) < 0)
			continue;
		external = true;
		if (strcmp(v, "0") != 0)
			external_online = true;
	}
	closedir(d);
	if (!battery)
		return external ? IDLE_POWER_MAINS : IDLE_POWER_NONE;
	if (external_online)
		return IDLE_POWER_MAINS;
	if (external || discharging)
		return IDLE_POWER_BATTERY;
	return IDLE_POWER_MAINS;
}

const char *idle_power_name(enum idle_power p)
{
	switch (p) {
	case IDLE_POWER_MAINS:
		return "mains";
	case IDLE_POWER_BATTERY:
		return "battery";
	case IDLE_POWER_NONE:
		return "no battery";
	case IDLE_POWER_UNKNOWN:
		break;
	}
	return "unknown";
}
