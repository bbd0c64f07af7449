/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* probe.c - probing nodes with checkable questions (see probe.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "chat.h"
#include "chunkparse.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "models.h"
#include "nodes.h"
#include "probe-questions.h"
#include "strmap.h"
#include "probe.h"
#include "prompt.h"
#include "sched.h"
#include "tools.h"
#include "trust.h"

#define PROBE_MIN_DELAY_US 100000 /* shortest gap between two draws */
#define PROBE_RETRY_S 60	  /* probe_interval 0: look again after */
#define PROBE_TOOL_ROUND_ONE_IN 4 /* tools on: a searched question, one in */
#define PROBE_ARRAY_N(a) (sizeof(a) / sizeof((a)[0]))

struct probes {
	struct router *r;
	struct tq next_q;    /* when each node is next due */
	struct tq silence_q; /* chunk_timeout of probes in flight */
	int in_flight;
};

struct probe {
	struct node *n;
	struct tq_timer next_timer;
	struct tq_timer silence_timer;
	bool in_flight;
	char request_id[40];
	char model[72];
	struct probe_question q;
	char content[ROUTER_PROBE_ANSWER_MAX];
	size_t content_len;
	bool tools_offered; /* as a consumer's chat would be offered them */
	bool tool_called;   /* answered with a tool call: no verdict */
	int64_t last_chunk_us;
	/* the node's last questions (hashes of their prompts): a node that
	 * saw a question before could tell a probe from a chat by it */
	uint64_t recent[PROBE_RECENT_MAX];
	unsigned n_recent;
};

/* Unpredictable: a node must not be able to foresee a probe. */
static uint32_t rand32(void *ctx)
{
	uint32_t v;

	(void)ctx;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)router_now_us() * 2654435761u;
	return v;
}

struct probes *probes_new(struct router *r)
{
	struct probes *p = xcalloc(1, sizeof(*p));

	p->r = r;
	tq_init(&p->next_q, r->ctx);
	tq_init(&p->silence_q, r->ctx);
	return p;
}

void probes_free(struct probes *p)
{
	free(p);
}

int probes_in_flight(const struct probes *p)
{
	return p ? p->in_flight : 0;
}

static void probe_due(struct tq_timer *t);

/* The next draw: exponential, mean probe_interval seconds. */
static void schedule_next(struct probe *pr)
{
	struct router *r = pr->n->r;
	int mean = r->cfg->trust_probe_interval;
	int64_t delay;

	if (mean <= 0) {
		delay = (int64_t)PROBE_RETRY_S * 1000000;
	} else {
		double u = ((double)rand32(NULL) + 1.0) / 4294967297.0; /* (0, 1) */

		delay = (int64_t)(-log(u) * mean * 1e6);
		if (delay < PROBE_MIN_DELAY_US)
			delay = PROBE_MIN_DELAY_US;
	}
	tq_schedule(&r->probes->next_q, &pr->next_timer, delay, probe_due);
}

static void random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < nbytes; i++) {
		uint32_t b = rand32(NULL) & 0xff;

		out[2 * i] = hex[b >> 4];
		out[2 * i + 1] = hex[b & 15];
	}
	out[2 * nbytes] = '\0';
}

/* Give the slot back and let waiting chats have it. */
static void release(struct probe *pr, bool node_usable)
{
	struct node *n = pr->n;

	pr->in_flight = false;
	n->r->probes->in_flight--;
	tq_cancel(&pr->silence_timer);
	n->active--;
	models_node_update(n);
	if (node_usable)
		sched_node_ready(n);
}

static void conclude(struct probe *pr, enum probe_outcome o)
{
	struct node *n = pr->n;

	log_info("node %s: probe on %s: %s", n->node_id, pr->model, trust_outcome_name(o));
	n->r->stats.probes[o]++;
	release(pr, true);
	trust_probe_result(n, pr->model, o);
	schedule_next(pr);
}

/* A probe offers tools as a consumer's chat does (so it looks the same);
 * a node that answers with a tool call has done nothing wrong, and its
 * answer cannot be judged: the probe ends without a verdict. */
static void conclude_without_verdict(struct probe *pr)
{
	log_info("node %s: probe on %s: answered with a tool call; no verdict", pr->n->node_id,
		pr->model);
	release(pr, true);
	schedule_next(pr);
}

static void silence_over(struct tq_timer *t)
{
	struct probe *pr = lws_container_of(t, struct probe, silence_timer);
	struct router *r = pr->n->r;
	int64_t due = pr->last_chunk_us + (int64_t)r->cfg->chunk_timeout * 1000000;
	int64_t now = router_now_us();

	if (!pr->in_flight)
		return;
	if (now < due) {
		tq_schedule(&r->probes->silence_q, &pr->silence_timer, due - now, silence_over);
		return;
	}
	node_send(pr->n, ic_msg_cancel_new(pr->request_id));
	conclude(pr, PROBE_TIMEOUT);
}

/* A probe may go now: registered, available, a free slot, whichever it
 * is.  (It once had to leave the last slot free: a node could tell that a
 * chat taking its last slot was a consumer's.  The timer is a Poisson
 * process whatever the node's load, so a chat that arrives at k free slots
 * is a probe with the same odds for every k >= 1; the price is that a
 * consumer's chat may wait behind a probe for a few seconds, once in a mean
 * probe_interval.) */
static bool may_probe(const struct node *n)
{
	return node_has_capacity(n) && n->n_models > 0;
}

static bool asked_recently(const struct probe *pr, uint64_t h)
{
	for (unsigned i = 0; i < pr->n_recent && i < PROBE_RECENT_MAX; i++)
		if (pr->recent[i] == h)
			return true;
	return false;
}

/* pr->q: a question the node has not had among its last PROBE_RECENT_MAX
 * (the templates make about 10^5 prompts, so a few tries suffice). */
static void question_new(struct probe *pr)
{
	uint64_t h;

	for (int tries = 0; tries < 64; tries++) {
		probe_question_make(&pr->q, rand32, NULL);
		h = strmap_hash(pr->q.prompt);
		if (!asked_recently(pr, h))
			break;
	}
	pr->recent[pr->n_recent++ % PROBE_RECENT_MAX] = h;
}

static void message_add(json_object *messages, const char *role, const char *content)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "role", json_object_new_string(role));
	json_object_object_add(m, "content", json_object_new_string(content));
	json_object_array_add(messages, m);
}

/* Earlier turns of the conversation: questions and right answers. */
static void earlier_turns(json_object *messages, int turns)
{
	for (int i = 0; i < turns; i++) {
		struct probe_question q;
		char answer[PROBE_PROMPT_MAX];

		probe_question_make(&q, rand32, NULL);
		probe_question_answer(&q, answer, sizeof(answer), rand32, NULL);
		message_add(messages, "user", q.prompt);
		message_add(messages, "assistant", answer);
	}
}

/* The question was searched for (as chat-tools.c feeds a round back): the
 * assistant's call, then its result, in the model's form (native tool
 * calls or text).  The answer is then expected with no new user turn. */
static void tool_round(json_object *messages, const char *query, bool native)
{
	static const char *const results[] = {
		"No results found.",
		"the search service is unreachable (Timeout was reached)",
	};
	const char *result = results[rand32(NULL) % PROBE_ARRAY_N(results)];
	json_object *asst = json_object_new_object(), *args = json_object_new_object();

	json_object_object_add(args, "query", json_object_new_string(query));
	json_object_object_add(asst, "role", json_object_new_string("assistant"));
	if (native) {
		json_object *call = json_object_new_object(), *fn = json_object_new_object();
		json_object *calls = json_object_new_array(), *res = json_object_new_object();

		json_object_object_add(fn, "name", json_object_new_string("web_search"));
		json_object_object_add(fn, "arguments", args);
		json_object_object_add(call, "function", fn);
		json_object_array_add(calls, call);
		json_object_object_add(asst, "content", json_object_new_string(""));
		json_object_object_add(asst, "tool_calls", calls);
		json_object_array_add(messages, asst);
		json_object_object_add(res, "role", json_object_new_string("tool"));
		json_object_object_add(res, "content", json_object_new_string(result));
		json_object_object_add(res, "tool_name", json_object_new_string("web_search"));
		json_object_array_add(messages, res);
	} else {
		json_object *call = json_object_new_object();
		char *text, *back;

		json_object_object_add(call, "name", json_object_new_string("web_search"));
		json_object_object_add(call, "arguments", args);
		text = xasprintf("<tool_call>%s</tool_call>",
			json_object_to_json_string_ext(call, JSON_C_TO_STRING_SPACED));
		json_object_object_add(asst, "content", json_object_new_string(text));
		json_object_array_add(messages, asst);
		back = xasprintf("[Tool Result for web_search]:\n%s", result);
		message_add(messages, "user", back);
		free(text);
		free(back);
		json_object_put(call);
	}
}

/*
 * The conversation a probe sends, in the shapes consumers' chats have
 * (probe.h): sometimes earlier turns, sometimes (tools on) the question
 * already searched for, think on for thinking models half the time.
 */
static json_object *probe_messages_new(struct probe *pr, bool *think)
{
	struct node *n = pr->n;
	const struct router_config *cfg = n->r->cfg;
	unsigned caps = prompt_model_caps(cfg, n, pr->model);
	json_object *messages = json_object_new_array();
	uint32_t shape = rand32(NULL);

	*think = (caps & IC_CAP_THINKING) && (shape & 1);
	/* none half the time, else one to three */
	earlier_turns(messages, (shape >> 1) & 1 ? 1 + (int)((shape >> 2) % 3) : 0);
	message_add(messages, "user", pr->q.prompt);
	if (tools_enabled(cfg) && (shape >> 4) % PROBE_TOOL_ROUND_ONE_IN == 0)
		tool_round(messages, pr->q.prompt, caps & IC_CAP_TOOLS);
	return messages;
}

static void send_probe(struct probe *pr)
{
	struct node *n = pr->n;
	struct router *r = n->r;
	json_object *messages, *params;
	bool think;

	snprintf(pr->model, sizeof(pr->model), "%s",
		n->models[rand32(NULL) % n->n_models].model->name);
	question_new(pr);
	memcpy(pr->request_id, "req-", 4);
	random_hex(pr->request_id + 4, 12);
	messages = probe_messages_new(pr, &think);
	params = chat_params_for(n, pr->model, messages, think);
	json_object_put(messages);
	pr->content_len = 0;
	pr->tool_called = false;
	pr->tools_offered = tools_enabled(r->cfg);
	pr->in_flight = true;
	r->probes->in_flight++;
	n->active++;
	models_node_update(n);
	log_debug("node %s: probe %s on %s", n->node_id, pr->request_id, pr->model);
	node_send(n, ic_msg_request_new(pr->request_id, params));
	json_object_put(params);
	pr->last_chunk_us = router_now_us();
	tq_schedule(&r->probes->silence_q, &pr->silence_timer,
		(int64_t)r->cfg->chunk_timeout * 1000000, silence_over);
}

static void probe_due(struct tq_timer *t)
{
	struct probe *pr = lws_container_of(t, struct probe, next_timer);

	if (!pr->in_flight && pr->n->r->cfg->trust_probe_interval > 0 && may_probe(pr->n) &&
		!pr->n->r->draining) {
		send_probe(pr);
		return;
	}
	schedule_next(pr); /* busy, or probes off: another draw */
}

void probe_node_up(struct node *n)
{
	struct probe *pr;

	if (n->probe)
		return;
	pr = xcalloc(1, sizeof(*pr));
	pr->n = n;
	n->probe = pr;
	schedule_next(pr);
}

void probe_node_down(struct node *n)
{
	struct probe *pr = n->probe;

	if (!pr)
		return;
	if (pr->in_flight)
		release(pr, false);
	tq_cancel(&pr->next_timer);
	tq_cancel(&pr->silence_timer);
	n->probe = NULL;
	free(pr);
}

static struct probe *probe_of(struct node *n, const char *request_id)
{
	struct probe *pr = n->probe;

	if (!pr || !pr->in_flight || !request_id || strcmp(pr->request_id, request_id) != 0)
		return NULL;
	return pr;
}

bool probe_node_chunk(struct node *n, const struct chunk_view *v)
{
	struct probe *pr = probe_of(n, v->request_id);
	size_t room;

	if (!pr)
		return false;
	pr->last_chunk_us = router_now_us();
	room = sizeof(pr->content) - pr->content_len;
	if (v->content && v->content_len) {
		size_t k = v->content_len < room ? v->content_len : room;

		memcpy(pr->content + pr->content_len, v->content, k);
		pr->content_len += k;
	}
	if (!v->done)
		return true;
	if (pr->tools_offered &&
		(pr->tool_called || memmem(pr->content, pr->content_len, "<tool_call>", 11)))
		conclude_without_verdict(pr);
	else
		conclude(pr,
			probe_question_check(&pr->q, pr->content, pr->content_len) ? PROBE_PASS
										   : PROBE_FAIL);
	return true;
}

bool probe_node_message(struct node *n, const struct ic_msg *m)
{
	struct probe *pr = probe_of(n, m->request_id);
	struct chunk_view v;

	if (!pr)
		return false;
	if (m->type == IC_MSG_INFERENCE_CHUNK) {
		json_object *msg, *calls;

		if (json_object_object_get_ex(m->chunk, "message", &msg) &&
			json_object_object_get_ex(msg, "tool_calls", &calls))
			pr->tool_called = true;
		chunk_view_of_json(m->chunk, &v);
		v.request_id = m->request_id;
		return probe_node_chunk(n, &v);
	}
	conclude(pr, PROBE_ERROR);
	return true;
}
