/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * probe-questions.h - the questions a probe asks and how its answer is
 * judged, without a model.
 *
 * Every question is made afresh from a template with random parts
 * (operands, a made-up word, a token), in one of several phrasings, so
 * that no fixed text marks a probe; each template carries its checker.
 */
#ifndef IC_ROUTER_PROBE_QUESTIONS_H
#define IC_ROUTER_PROBE_QUESTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_PROMPT_MAX 256
#define PROBE_EXPECT_MAX 32

enum probe_check {
	CHECK_NUMBER,	/* expect appears as a whole number */
	CHECK_WORD,	/* expect appears, any case, not inside a longer word */
	CHECK_ANY_WORD, /* one of the '|'-separated words of expect */
};

struct probe_question {
	char prompt[PROBE_PROMPT_MAX];
	enum probe_check check;
	char expect[PROBE_EXPECT_MAX];
};

/* A source of random numbers: returns a uniform 32-bit value. */
typedef uint32_t (*probe_rand_fn)(void *ctx);

/* Make a question from a template chosen with rnd. */
void probe_question_make(struct probe_question *q, probe_rand_fn rnd, void *ctx);
/* Judge an answer's content (len bytes, not NUL-terminated). */
bool probe_question_check(const struct probe_question *q, const char *content, size_t len);
/* The number of templates (for tests). */
size_t probe_templates_count(void);
/* Make a question from template i (for tests). */
void probe_question_make_from(struct probe_question *q, size_t i, probe_rand_fn rnd, void *ctx);

#endif
