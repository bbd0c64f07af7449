/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* tools-searxng.c - SearXNG searches in a worker thread (see tools-searxng.h). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "tools-searxng.h"

enum job_state {
	JOB_QUEUED,  /* in s->jobs, not yet given to curl */
	JOB_RUNNING, /* its easy handle is in the multi */
	JOB_DONE,    /* result ready for searx_poll() */
};

struct job {
	lws_dll2_t link; /* in s->jobs */
	uint64_t id;
	enum job_state state;
	bool cancelled; /* lws thread forgot it: worker frees */
	char *url;
	long timeout_ms;
	/* worker only */
	CURL *easy;
	char *body;
	size_t len;
	bool too_big;
	/* result */
	bool ok;
	char *text;
};

struct searx {
	struct lws_context *ctx;
	pthread_t thread;
	pthread_mutex_t lock;  /* guards jobs, next_id, quit and job states */
	lws_dll2_owner_t jobs; /* every job not yet polled */
	uint64_t next_id;
	bool quit;
	CURLM *multi; /* worker's, but curl_multi_wakeup() is thread-safe */
};

/* --- formatting (pure) --- */

/* Bytes of the first max characters of s (UTF-8). */
static size_t prefix_chars(const char *s, size_t len, size_t max, bool *cut)
{
	size_t off = 0, n = 0;

	while (off < len && n < max) {
		size_t l = ic_utf8_seq_len(s + off, len - off);

		if (l == 0)
			break;
		off += l;
		n++;
	}
	*cut = off < len;
	return off;
}

static void append_field(char **out, const char *label, const char *v, size_t max_chars)
{
	bool cut = false;
	size_t len = v ? strlen(v) : 0, n = prefix_chars(v ? v : "", len, max_chars, &cut);
	char *next = xasprintf("%s%s%.*s%s\n", *out, label, (int)n, v ? v : "", cut ? "..." : "");

	free(*out);
	*out = next;
}

char *searx_format_new(const char *body, size_t len, const char **why)
{
	json_object *o = ic_json_parse_new(body, len), *results;
	char *out;
	size_t n, shown = 0;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		*why = "the search service sent malformed JSON";
		return NULL;
	}
	if (!json_object_object_get_ex(o, "results", &results) ||
		!json_object_is_type(results, json_type_array)) {
		json_object_put(o);
		*why = "the search service's reply has no results array";
		return NULL;
	}
	out = xstrdup("");
	n = json_object_array_length(results);
	for (size_t i = 0; i < n && shown < SEARX_RESULTS; i++) {
		json_object *r = json_object_array_get_idx(results, i);
		char *next;

		if (!json_object_is_type(r, json_type_object))
			continue;
		shown++;
		next = xasprintf("%s%s%zu. ", out, shown > 1 ? "\n" : "", shown);
		free(out);
		out = next;
		append_field(&out, "", ic_json_get_string(r, "title"), SEARX_SNIPPET_CHARS);
		append_field(&out, "   URL: ", ic_json_get_string(r, "url"), 2048);
		append_field(&out, "   ", ic_json_get_string(r, "content"), SEARX_SNIPPET_CHARS);
	}
	json_object_put(o);
	if (shown == 0) {
		free(out);
		out = xstrdup("No results found.");
	}
	return out;
}

/* --- the worker --- */

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb;

	if (j->len + n > SEARX_BODY_MAX) {
		j->too_big = true;
		return 0; /* aborts the transfer */
	}
	j->body = xrealloc(j->body, j->len + n + 1);
	memcpy(j->body + j->len, p, n);
	j->len += n;
	j->body[j->len] = '\0';
	return n;
}

static void job_free(struct job *j)
{
	free(j->url);
	free(j->body);
	free(j->text);
	free(j);
}

static void start_job(struct searx *s, struct job *j)
{
	j->easy = curl_easy_init();
	curl_easy_setopt(j->easy, CURLOPT_URL, j->url);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, j->timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SEARX_BODY_MAX);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_USERAGENT, "idleclaw-routerd");
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, NULL);
	curl_multi_add_handle(s->multi, j->easy);
}

/* The outcome of a finished transfer, in j->ok and j->text. */
static void judge(struct job *j, CURLcode rc)
{
	long status = 0;
	const char *why = NULL;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (j->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		why = "the search service's reply was too large";
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		why = "the search timed out";
	} else if (rc != CURLE_OK) {
		j->text =
			xasprintf("the search service is unreachable (%s)", curl_easy_strerror(rc));
	} else if (status != 200) {
		j->text = xasprintf("the search service answered HTTP %ld", status);
	} else {
		j->text = searx_format_new(j->body ? j->body : "", j->len, &why);
		j->ok = j->text != NULL;
	}
	if (!j->text)
		j->text = xstrdup(why ? why : "the search failed");
}

static void end_job(struct searx *s, struct job *j)
{
	curl_multi_remove_handle(s->multi, j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	free(j->body);
	j->body = NULL;
}

/* Under the lock: start queued jobs, drop cancelled ones. */
static void sync_jobs(struct searx *s)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, s->jobs.head)
	{
		struct job *j = lws_container_of(d, struct job, link);

		if (j->cancelled) {
			if (j->easy)
				end_job(s, j); /* closes its connection */
			lws_dll2_remove(&j->link);
			job_free(j);
		} else if (j->state == JOB_QUEUED) {
			j->state = JOB_RUNNING;
			start_job(s, j);
		}
	}
	lws_end_foreach_dll_safe(d, d1);
}

static void *worker(void *arg)
{
	struct searx *s = arg;

	for (;;) {
		CURLMsg *msg;
		int running, left, done = 0;

		pthread_mutex_lock(&s->lock);
		if (s->quit) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		sync_jobs(s);
		pthread_mutex_unlock(&s->lock);
		curl_multi_perform(s->multi, &running);
		pthread_mutex_lock(&s->lock);
		while ((msg = curl_multi_info_read(s->multi, &left))) {
			struct job *j = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			judge(j, msg->data.result);
			end_job(s, j);
			j->state = JOB_DONE;
			done++;
		}
		pthread_mutex_unlock(&s->lock);
		if (done)
			lws_cancel_service(s->ctx);
		curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
	}
	return NULL;
}

/* --- the lws thread's side --- */

struct searx *searx_new(struct lws_context *ctx)
{
	struct searx *s = xcalloc(1, sizeof(*s));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	s->multi = curl_multi_init();
	if (pthread_create(&s->thread, NULL, worker, s) != 0) {
		log_err("cannot start the search worker thread");
		abort();
	}
	return s;
}

void searx_free(struct searx *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_mutex_unlock(&s->lock);
	curl_multi_wakeup(s->multi);
	pthread_join(s->thread, NULL);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, s->jobs.head)
	{
		struct job *j = lws_container_of(d, struct job, link);

		if (j->easy)
			end_job(s, j);
		lws_dll2_remove(&j->link);
		job_free(j);
	}
	lws_end_foreach_dll_safe(d, d1);
	curl_multi_cleanup(s->multi);
	pthread_mutex_destroy(&s->lock);
	curl_global_cleanup();
	free(s);
}

uint64_t searx_submit(struct searx *s, const char *base, const char *query, int timeout_s)
{
	struct job *j;
	char *q = curl_easy_escape(NULL, query, 0);
	size_t blen = strlen(base);
	uint64_t id;

	while (blen && base[blen - 1] == '/')
		blen--;
	pthread_mutex_lock(&s->lock);
	if (s->jobs.count >= SEARX_JOBS_MAX) {
		pthread_mutex_unlock(&s->lock);
		curl_free(q);
		return 0;
	}
	j = xcalloc(1, sizeof(*j));
	j->id = id = ++s->next_id;
	j->url = xasprintf(
		"%.*s/search?q=%s&format=json&categories=general", (int)blen, base, q ? q : "");
	j->timeout_ms = (long)timeout_s * 1000;
	lws_dll2_add_tail(&j->link, &s->jobs);
	pthread_mutex_unlock(&s->lock);
	curl_free(q);
	curl_multi_wakeup(s->multi);
	return id;
}

void searx_cancel(struct searx *s, uint64_t id)
{
	bool found = false;

	pthread_mutex_lock(&s->lock);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, s->jobs.head)
	{
		struct job *j = lws_container_of(d, struct job, link);

		if (j->id != id)
			continue;
		if (j->state == JOB_RUNNING) {
			j->cancelled = true; /* the worker closes it */
			found = true;
		} else {
			lws_dll2_remove(&j->link);
			job_free(j);
		}
		break;
	}
	lws_end_foreach_dll_safe(d, d1);
	pthread_mutex_unlock(&s->lock);
	if (found)
		curl_multi_wakeup(s->multi);
}

void searx_poll(struct searx *s, void (*cb)(void *ctx, const struct searx_result *res), void *ctx)
{
	for (;;) {
		struct job *j = NULL;
		struct searx_result res;

		pthread_mutex_lock(&s->lock);
		lws_start_foreach_dll(struct lws_dll2 *, d, s->jobs.head)
		{
			struct job *k = lws_container_of(d, struct job, link);

			if (k->state == JOB_DONE && !k->cancelled) {
				j = k;
				break;
			}
		}
		lws_end_foreach_dll(d);
		if (j)
			lws_dll2_remove(&j->link);
		pthread_mutex_unlock(&s->lock);
		if (!j)
			return;
		res.id = j->id;
		res.ok = j->ok;
		res.text = j->text;
		cb(ctx, &res); /* may call searx_submit()/searx_cancel() */
		job_free(j);
	}
}

unsigned searx_pending(struct searx *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = (unsigned)s->jobs.count;
	pthread_mutex_unlock(&s->lock);
	return n;
}
