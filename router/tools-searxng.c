/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* tools-searxng.c - SearXNG searches on the router's loop (see tools-searxng.h). */
#include <curl/curl.h>
#include <libwebsockets.h> /* lws_dll2 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "tools-searxng.h"

/* A search: running (its easy handle in the multi, in s->jobs), or done
 * (easy handle gone, the outcome in ok and text, in s->done). */
struct job {
	lws_dll2_t link;
	uint64_t id;
	CURL *easy;
	char *body;
	size_t len;
	bool too_big;
	bool ok;
	char *text;
};

struct searx {
	uv_loop_t *loop;
	struct lws_context *ctx; /* woken when a search is done */
	CURLM *multi;
	uv_timer_t *timer;     /* curl's timeout; freed by its close callback */
	lws_dll2_owner_t jobs; /* running */
	lws_dll2_owner_t done; /* done, for searx_poll() */
	uint64_t next_id;
	bool stopped;
};

/* A socket curl asked the loop to watch (curl_multi_assign()ed to it);
 * freed by its close callback, after curl is done with the socket. */
struct watch {
	uv_poll_t poll;
	struct searx *s;
	curl_socket_t fd;
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

/* --- a search --- */

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

/* Out of the multi (its connection closed if it still runs). */
static void job_end(struct searx *s, struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(s->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	free(j->body);
	j->body = NULL;
}

/* Off its list, ended, freed. */
static void job_free(struct searx *s, struct job *j)
{
	lws_dll2_remove(&j->link);
	job_end(s, j);
	free(j->text);
	free(j);
}

static CURL *easy_new(struct job *j, const char *url, long timeout_ms)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)SEARX_BODY_MAX);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "idleclaw-routerd");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	return e;
}

/* The outcome of a finished transfer: NEW text, and *ok. */
static char *judge(struct job *j, CURLcode rc, bool *ok)
{
	long status = 0;
	const char *why = NULL;
	char *text = NULL;

	*ok = false;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (j->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		why = "the search service's reply was too large";
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		why = "the search timed out";
	} else if (rc != CURLE_OK) {
		text = xasprintf("the search service is unreachable (%s)", curl_easy_strerror(rc));
	} else if (status != 200) {
		text = xasprintf("the search service answered HTTP %ld", status);
	} else {
		text = searx_format_new(j->body ? j->body : "", j->len, &why);
		*ok = text != NULL;
	}
	return text ? text : xstrdup(why ? why : "the search failed");
}

/* Judge every finished search (on the loop, no lock: nothing else touches
 * it) and move it to s->done; wake lws to hand them over (searx_poll()
 * from its callback, where the chats' work belongs: lws arms the timers
 * they set only from its own callbacks). */
static void finished(struct searx *s)
{
	CURLMsg *msg;
	int left, n = 0;

	while ((msg = curl_multi_info_read(s->multi, &left))) {
		struct job *j = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		j->text = judge(j, msg->data.result, &j->ok);
		job_end(s, j); /* msg is gone with the handle */
		lws_dll2_remove(&j->link);
		lws_dll2_add_tail(&j->link, &s->done);
		n++;
	}
	if (n)
		lws_cancel_service(s->ctx);
}

/* --- curl on the loop --- */

static void on_ready(uv_poll_t *h, int status, int events)
{
	struct watch *w = h->data;
	struct searx *s = w->s;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->multi, w->fd, flags, &running);
	finished(s);
}

static void on_timer(uv_timer_t *h)
{
	struct searx *s = h->data;
	int running;

	curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	finished(s);
}

static void handle_free(uv_handle_t *h)
{
	free(h);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl waits for. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct searx *s = userp;
	struct watch *w = socketp;
	int events = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			curl_multi_assign(s->multi, fd, NULL);
			uv_close((uv_handle_t *)&w->poll, handle_free);
		}
		return 0;
	}
	if (!w) {
		w = xcalloc(1, sizeof(*w));
		w->s = s;
		w->fd = fd;
		if (uv_poll_init_socket(s->loop, &w->poll, fd) != 0) {
			free(w);
			return -1; /* the transfer fails */
		}
		w->poll.data = w;
		curl_multi_assign(s->multi, fd, w);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&w->poll, events, on_ready);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl wants on_timer() in ms (-1: not at all).
 * Never socket_action from here: a 0 runs at the loop's next turn. */
static int on_timeout(CURLM *multi, long ms, void *userp)
{
	struct searx *s = userp;

	(void)multi;
	if (ms < 0)
		uv_timer_stop(s->timer);
	else
		uv_timer_start(s->timer, on_timer, (uint64_t)ms, 0);
	return 0;
}

/* --- the loop thread's interface --- */

struct searx *searx_new(uv_loop_t *loop, struct lws_context *ctx)
{
	struct searx *s = xcalloc(1, sizeof(*s));

	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->loop = loop;
	s->ctx = ctx;
	s->timer = xcalloc(1, sizeof(*s->timer));
	uv_timer_init(loop, s->timer);
	s->timer->data = s;
	s->multi = curl_multi_init();
	if (!s->multi) {
		log_err("cannot make libcurl's multi handle");
		abort();
	}
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	return s;
}

void searx_stop(struct searx *s)
{
	if (!s || s->stopped)
		return;
	s->stopped = true;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, s->jobs.head)
	{
		job_free(s, lws_container_of(d, struct job, link));
	}
	lws_end_foreach_dll_safe(d, d1);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, s->done.head)
	{
		job_free(s, lws_container_of(d, struct job, link));
	}
	lws_end_foreach_dll_safe(d, d1);
	/* closes the connections it kept, and their watches: nothing of
	 * ours keeps the loop running after this */
	curl_multi_cleanup(s->multi);
	s->multi = NULL;
	uv_close((uv_handle_t *)s->timer, handle_free);
	s->timer = NULL;
}

void searx_free(struct searx *s)
{
	if (!s)
		return;
	searx_stop(s);
	curl_global_cleanup();
	free(s);
}

uint64_t searx_submit(struct searx *s, const char *base, const char *query, int timeout_s)
{
	struct job *j;
	char *q, *url;
	size_t blen = strlen(base);

	if (s->stopped || s->jobs.count + s->done.count >= SEARX_JOBS_MAX)
		return 0;
	while (blen && base[blen - 1] == '/')
		blen--;
	q = curl_easy_escape(NULL, query, 0);
	url = xasprintf(
		"%.*s/search?q=%s&format=json&categories=general", (int)blen, base, q ? q : "");
	curl_free(q);
	j = xcalloc(1, sizeof(*j));
	j->easy = easy_new(j, url, (long)timeout_s * 1000);
	free(url); /* curl keeps its own copy */
	if (!j->easy || curl_multi_add_handle(s->multi, j->easy) != CURLM_OK) {
		curl_easy_cleanup(j->easy);
		free(j);
		return 0;
	}
	j->id = ++s->next_id;
	lws_dll2_add_tail(&j->link, &s->jobs);
	return j->id;
}

/* The search id in list l, or NULL. */
static struct job *job_find(lws_dll2_owner_t *l, uint64_t id)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, l->head)
	{
		struct job *j = lws_container_of(d, struct job, link);

		if (j->id == id)
			return j;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

void searx_cancel(struct searx *s, uint64_t id)
{
	struct job *j = job_find(&s->jobs, id);

	if (!j)
		j = job_find(&s->done, id);
	if (j)
		job_free(s, j); /* a running one's connection closed */
}

void searx_poll(struct searx *s, void (*cb)(void *ctx, const struct searx_result *res), void *ctx)
{
	while (s->done.head) {
		struct job *j = lws_container_of(s->done.head, struct job, link);
		struct searx_result res = { j->id, j->ok, j->text };

		lws_dll2_remove(&j->link);
		cb(ctx, &res); /* may call searx_submit()/searx_cancel() */
		free(j->text);
		free(j);
	}
}

unsigned searx_pending(struct searx *s)
{
	return (unsigned)(s->jobs.count + s->done.count);
}
