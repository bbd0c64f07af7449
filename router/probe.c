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
#include "sched.h"
#include "tools.h"
#include "trust.h"

#define PROBE_MIN_DELAY_US 100000 /* shortest gap between two draws */
#define PROBE_RETRY_S 60	  /* probe_interval 0: look again after */

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

/* A probe may go now: registered, available, two free slots. */
static bool may_probe(const struct node *n)
{
	return node_has_capacity(n) && n->max_concurrent - n->active >= 2 && n->n_models > 0;
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

static void send_probe(struct probe *pr)
{
	struct node *n = pr->n;
	struct router *r = n->r;
	json_object *messages = json_object_new_array(), *msg = json_object_new_object();
	json_object *params;

	snprintf(pr->model, sizeof(pr->model), "%s",
		n->models[rand32(NULL) % n->n_models].model->name);
	question_new(pr);
	memcpy(pr->request_id, "req-", 4);
	random_hex(pr->request_id + 4, 12);
	json_object_object_add(msg, "role", json_object_new_string("user"));
	json_object_object_add(msg, "content", json_object_new_string(pr->q.prompt));
	json_object_array_add(messages, msg);
	params = chat_params_for(n, pr->model, messages);
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
