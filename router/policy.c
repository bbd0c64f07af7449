/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* policy.c - refusing consumer messages by pattern (see policy.h). */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "policy.h"

/*
 * ERE has no \s or \b: [[:space:]] stands for the one, and "not a letter
 * or digit" for the other where a bare word would refuse innocent text
 * ("retrieval (", "you are now dancing").
 */
const char policy_default_patterns[] =
	"<script[[:space:]>] "
	"javascript: "
	"data:text/html "
	"ignore[[:space:]]+(all[[:space:]]+)?(previous|prior|above)[[:space:]]+"
	"(instructions|prompts) "
	"you[[:space:]]+are[[:space:]]+now[[:space:]]+"
	"((dan|evil|unrestricted)([^[:alnum:]]|$)|jailbr) "
	"do[[:space:]]+anything[[:space:]]+now "
	"disregard[[:space:]]+(your|all|any)[[:space:]]+(rules|guidelines|instructions) "
	"(^|[^[:alnum:]_])eval[[:space:]]*[(] "
	"(^|[^[:alnum:]_])exec[[:space:]]*[(]";

struct policy {
	regex_t *re;
	size_t n;
};

struct policy *policy_new(const char *list, size_t *bad, char *first_bad, size_t first_bad_len)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	const char *s = list ? list : "";
	size_t cap = 0;

	*bad = 0;
	while (*s) {
		size_t len;
		char *pat;

		while (*s && isspace((unsigned char)*s))
			s++;
		len = 0;
		while (s[len] && !isspace((unsigned char)s[len]))
			len++;
		if (len == 0)
			break;
		pat = xstrndup(s, len);
		s += len;
		if (p->n == cap) {
			cap = cap ? cap * 2 : 8;
			p->re = xrealloc(p->re, cap * sizeof(*p->re));
		}
		if (regcomp(&p->re[p->n], pat, REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0) {
			p->n++;
		} else {
			if (*bad == 0 && first_bad && first_bad_len)
				snprintf(first_bad, first_bad_len, "%s", pat);
			(*bad)++;
		}
		free(pat);
	}
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		regfree(&p->re[i]);
	free(p->re);
	free(p);
}

size_t policy_count(const struct policy *p)
{
	return p ? p->n : 0;
}

bool policy_refuses_text(const struct policy *p, const char *text)
{
	if (!p || !text)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (regexec(&p->re[i], text, 0, NULL, 0) == 0)
			return true;
	return false;
}

bool policy_refuses_messages(const struct policy *p, json_object *messages)
{
	size_t n;

	if (!p || p->n == 0 || !json_object_is_type(messages, json_type_array))
		return false;
	n = json_object_array_length(messages);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(messages, i), *content;

		if (json_object_object_get_ex(m, "content", &content) &&
			json_object_is_type(content, json_type_string) &&
			policy_refuses_text(p, json_object_get_string(content)))
			return true;
	}
	return false;
}
