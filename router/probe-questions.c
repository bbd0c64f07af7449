/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* probe-questions.c - probe templates and their checkers (see probe-questions.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "probe-questions.h"

/* The phrasings are formats from the tables below, chosen at random: each
 * table's formats take the same arguments. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

struct fact {
	const char *subject; /* what the question names */
	const char *answers; /* '|'-separated right answers */
};

static const struct fact capitals[] = {
	{ "France", "Paris" },
	{ "Japan", "Tokyo" },
	{ "Italy", "Rome|Roma" },
	{ "Germany", "Berlin" },
	{ "Spain", "Madrid" },
	{ "Canada", "Ottawa" },
	{ "Egypt", "Cairo" },
	{ "Kenya", "Nairobi" },
	{ "Norway", "Oslo" },
	{ "Portugal", "Lisbon|Lisboa" },
	{ "Greece", "Athens" },
	{ "Peru", "Lima" },
};

static const struct fact facts[] = {
	{ "How many days are there in a week?", "7|seven" },
	{ "How many legs does a spider have?", "8|eight" },
	{ "How many sides does a triangle have?", "3|three" },
	{ "How many minutes are in an hour?", "60|sixty" },
	{ "What is the chemical symbol for gold?", "Au" },
	{ "What is the largest planet in our solar system?", "Jupiter" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t pick(probe_rand_fn rnd, void *ctx, uint32_t n)
{
	return rnd(ctx) % n;
}

/* A pronounceable word nobody has asked about before: four syllables. */
static void made_up_word(char *out, size_t len, probe_rand_fn rnd, void *ctx)
{
	static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
	size_t k = 0;

	for (int i = 0; i < 4 && k + 2 < len; i++) {
		out[k++] = cons[pick(rnd, ctx, sizeof(cons) - 1)];
		out[k++] = vow[pick(rnd, ctx, sizeof(vow) - 1)];
	}
	out[k] = '\0';
}

/*
 * Consumers ask in all manner of ways, and rarely end with an instruction
 * on the answer's form: the core of a question comes in several phrasings,
 * and decorate() puts one of several openers before it and one of several
 * closers after (most often none), so that no beginning or ending marks a
 * probe.  The checkers look for the answer anywhere in the content, so a
 * chatty answer passes as well as a terse one.
 */
static void decorate(struct probe_question *q, const char *core, probe_rand_fn rnd, void *ctx)
{
	static const char *const openers[] = {
		"",
		"",
		"",
		"",
		"Hi! ",
		"Hey, ",
		"Quick question: ",
		"Hello. ",
		"Hmm, ",
		"Okay, ",
		"Can you help me? ",
		"I was wondering: ",
		"Sorry to bother you, ",
		"Another one: ",
		"Hi there. ",
	};
	static const char *const closers[] = {
		"",
		"",
		"",
		"",
		"",
		" Thanks!",
		" Thank you.",
		" Thanks in advance.",
		" :)",
		" Cheers",
		" I'm curious.",
		" Just checking.",
		" No rush.",
		" ty",
	};
	const char *open = openers[pick(rnd, ctx, N(openers))];
	const char *close = closers[pick(rnd, ctx, N(closers))];
	int n = snprintf(q->prompt, sizeof(q->prompt), "%s%s%s", open, core, close);

	/* now and then all in lower case at the start, as typed in a hurry */
	if (n > 0 && !*open && pick(rnd, ctx, 4) == 0)
		q->prompt[0] = (char)tolower((unsigned char)q->prompt[0]);
}

/* The core from format form with arguments, then decorated. */
static void core_of(struct probe_question *q, probe_rand_fn rnd, void *ctx, const char *form, ...)
{
	char core[PROBE_PROMPT_MAX];
	va_list ap;

	va_start(ap, form);
	vsnprintf(core, sizeof(core), form, ap);
	va_end(ap);
	decorate(q, core, rnd, ctx);
}

static void t_add(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"What is %u + %u?",
		"what's %u plus %u",
		"Can you add %u and %u for me?",
		"%u + %u = ?",
		"I need the sum of %u and %u.",
		"How much is %u plus %u?",
		"Add %u and %u",
		"%u+%u",
	};
	unsigned a = 11 + pick(rnd, ctx, 889), b = 11 + pick(rnd, ctx, 889);

	core_of(q, rnd, ctx, forms[pick(rnd, ctx, N(forms))], a, b);
	q->check = CHECK_NUMBER;
	snprintf(q->expect, sizeof(q->expect), "%u", a + b);
}

static void t_mul(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"What is %u times %u?",
		"Multiply %u by %u.",
		"What do you get when you multiply %u and %u?",
		"%u x %u = ?",
		"how much is %u times %u",
		"What's the product of %u and %u?",
	};
	unsigned a = 3 + pick(rnd, ctx, 17), b = 3 + pick(rnd, ctx, 17);

	core_of(q, rnd, ctx, forms[pick(rnd, ctx, N(forms))], a, b);
	q->check = CHECK_NUMBER;
	snprintf(q->expect, sizeof(q->expect), "%u", a * b);
}

static void t_sub(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"What is %u minus %u?",
		"Subtract %2$u from %1$u.",
		"%u - %u = ?",
		"what's %u minus %u",
		"If I have %u and take away %u, how many are left?",
		"Can you subtract %2$u from %1$u for me?",
	};
	unsigned b = 1 + pick(rnd, ctx, 400), a = b + 1 + pick(rnd, ctx, 500);

	if (a == 2 * b) /* the answer would be an operand: a wrong one would pass */
		a++;

	core_of(q, rnd, ctx, forms[pick(rnd, ctx, N(forms))], a, b);
	q->check = CHECK_NUMBER;
	snprintf(q->expect, sizeof(q->expect), "%u", a - b);
}

static void t_repeat(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"Repeat this word exactly: %s",
		"Please write the word \"%s\" back to me.",
		"Echo the following word: %s",
		"Say %s.",
		"Can you spell %s for me?",
		"My friend's dog is called %s. What is the dog's name?",
	};

	made_up_word(q->expect, sizeof(q->expect), rnd, ctx);
	core_of(q, rnd, ctx, forms[pick(rnd, ctx, N(forms))], q->expect);
	q->check = CHECK_WORD;
}

static void t_capital(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"What is the capital of %s?",
		"Name the capital city of %s.",
		"Which city is the capital of %s?",
		"what's the capital of %s",
		"I'm going to %s next month. Which city is its capital?",
		"capital of %s?",
	};
	const struct fact *f = &capitals[pick(rnd, ctx, N(capitals))];

	core_of(q, rnd, ctx, forms[pick(rnd, ctx, N(forms))], f->subject);
	q->check = CHECK_ANY_WORD;
	snprintf(q->expect, sizeof(q->expect), "%s", f->answers);
}

static void t_fact(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"%s",
		"My kid asked me this: %s",
		"Settle a bet: %s",
		"%s I forgot.",
	};
	const struct fact *f = &facts[pick(rnd, ctx, N(facts))];

	core_of(q, rnd, ctx, forms[pick(rnd, ctx, N(forms))], f->subject);
	q->check = CHECK_ANY_WORD;
	snprintf(q->expect, sizeof(q->expect), "%s", f->answers);
}

/* The answer must carry a token the router chose: no table can hold it. */
static void t_token(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"Write one short sentence about the sea that includes the code %s.",
		"My order number is %s. Please confirm it back to me.",
		"Reply with a friendly greeting that contains the reference %s.",
		"Write a two-line poem that mentions the ticket %s.",
		"Draft a short email telling Sam that the booking code is %s.",
	};
	char word[16];

	made_up_word(word, sizeof(word), rnd, ctx);
	snprintf(q->expect, sizeof(q->expect), "%c%c%u%s", 'A' + (int)pick(rnd, ctx, 26),
		'A' + (int)pick(rnd, ctx, 26), 100 + pick(rnd, ctx, 900), word);
	core_of(q, rnd, ctx, forms[pick(rnd, ctx, N(forms))], q->expect);
	q->check = CHECK_WORD;
}

static void (*const templates[])(struct probe_question *, probe_rand_fn, void *) = {
	t_add,
	t_mul,
	t_sub,
	t_repeat,
	t_capital,
	t_fact,
	t_token,
};

size_t probe_templates_count(void)
{
	return N(templates);
}

void probe_question_make_from(struct probe_question *q, size_t i, probe_rand_fn rnd, void *ctx)
{
	memset(q, 0, sizeof(*q));
	templates[i % N(templates)](q, rnd, ctx);
}

void probe_question_make(struct probe_question *q, probe_rand_fn rnd, void *ctx)
{
	probe_question_make_from(q, pick(rnd, ctx, N(templates)), rnd, ctx);
}

/* word (wlen bytes) in s, any case, not inside a longer word or number. */
static bool has_word(const char *s, size_t len, const char *word, size_t wlen)
{
	for (size_t i = 0; wlen && i + wlen <= len; i++) {
		if (strncasecmp(s + i, word, wlen) != 0)
			continue;
		if (i > 0 && isalnum((unsigned char)s[i - 1]))
			continue;
		if (i + wlen < len && isalnum((unsigned char)s[i + wlen]))
			continue;
		return true;
	}
	return false;
}

bool probe_question_check(const struct probe_question *q, const char *content, size_t len)
{
	const char *w = q->expect;

	switch (q->check) {
	case CHECK_NUMBER:
	case CHECK_WORD:
		return has_word(content, len, q->expect, strlen(q->expect));
	case CHECK_ANY_WORD:
		while (*w) {
			size_t wlen = strcspn(w, "|");

			if (has_word(content, len, w, wlen))
				return true;
			w += wlen;
			if (*w == '|')
				w++;
		}
		return false;
	}
	return false;
}

void probe_question_answer(
	const struct probe_question *q, char *out, size_t len, probe_rand_fn rnd, void *ctx)
{
	static const char *const forms[] = {
		"%.*s",
		"%.*s.",
		"It's %.*s.",
		"The answer is %.*s.",
		"Sure! %.*s",
		"That would be %.*s.",
		"%.*s, I believe.",
	};
	/* CHECK_ANY_WORD: the first of the right answers */
	int n = (int)strcspn(q->expect, "|");

	snprintf(out, len, forms[pick(rnd, ctx, N(forms))], n, q->expect);
}
