/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * probe-questions.h - the questions a probe asks and how its answer is
 * judged, without a model.
 *
 * Every question is made afresh from a template with random parts
 * (operands, a made-up word, a token), in one of several phrasings, with
 * one of several openers and closers (most often none), so that no fixed
 * text, beginning or ending marks a probe; each template carries its
 * checker, which finds the answer anywhere in a chatty reply.
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
/* A right answer to q, as a model might have put it, into out (for the
 * earlier turns of a conversation a probe continues). */
void probe_question_answer(
	const struct probe_question *q, char *out, size_t len, probe_rand_fn rnd, void *ctx);
/* The number of templates (for tests). */
size_t probe_templates_count(void);
/* Make a question from template i (for tests). */
void probe_question_make_from(struct probe_question *q, size_t i, probe_rand_fn rnd, void *ctx);

#endif
