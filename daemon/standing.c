/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * standing.c - see standing.h.
 */

#include "ctlproto.h"
#include "daemon/standing.h"
#include "log.h"

void standing_set(struct standing *s, bool chats)
{
	if (!s->known || s->chats != chats) {
		if (chats)
			log_notice("standing: the router gives this node chats");
		else
			log_warn("standing: the router gives this node no chats: it found its "
				 "answers wrong or failing (check the models and Ollama)");
	}
	s->known = true;
	s->chats = chats;
}

void standing_clear(struct standing *s)
{
	s->known = false;
}

void standing_status_add(const struct standing *s, json_object *b)
{
	json_object *o;

	if (!s->known)
		return;
	o = json_object_new_object();
	json_object_object_add(o, CTL_R_STANDING_CHATS, json_object_new_boolean(s->chats));
	json_object_object_add(o, CTL_R_STANDING_TEXT,
		json_object_new_string(s->chats ? STANDING_CHATS_TEXT : STANDING_NO_CHATS_TEXT));
	json_object_object_add(b, CTL_R_STANDING, o);
}
