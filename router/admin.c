/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* admin.c - /admin/nodes and /metrics' allow list (see admin.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "common/addr.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "models.h"
#include "nodes.h"
#include "probe.h"
#include "server.h"
#include "trust.h"

struct admin {
	char *token;			    /* NULL: /admin/nodes is off */
	struct ic_cidr_list *metrics_allow; /* parsed at load; NULL: everyone */
};

/* The first line of path, or NULL (reason logged). */
static char *read_token(const char *path)
{
	char buf[ROUTER_ADMIN_TOKEN_MAX + 2];
	FILE *f = fopen(path, "r");
	struct stat st;
	char *why = NULL;
	size_t len;

	if (!f) {
		log_err("router.admin_token_file: cannot open %s: %s; /admin/nodes is off", path,
			strerror(errno));
		return NULL;
	}
	/* the file read is the file checked: it may have changed since the load */
	if (fstat(fileno(f), &st) < 0 ||
		(why = router_token_mode_error_new(path, (unsigned)st.st_mode))) {
		fclose(f);
		log_err("%s; /admin/nodes is off",
			why ? why : "router.admin_token_file: fstat failed");
		free(why);
		return NULL;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len < 16 || len > ROUTER_ADMIN_TOKEN_MAX) {
		log_err("router.admin_token_file: %s must hold a token of 16 to %d bytes on "
			"its first line; /admin/nodes is off",
			path, ROUTER_ADMIN_TOKEN_MAX);
		return NULL;
	}
	return xstrdup(buf);
}

struct admin *admin_new(const struct router_config *cfg)
{
	struct admin *a = xcalloc(1, sizeof(*a));
	size_t bad = 0;

	if (cfg->admin_token_file)
		a->token = read_token(cfg->admin_token_file);
	if (cfg->metrics_allow) {
		a->metrics_allow = ic_cidr_list_new(cfg->metrics_allow, &bad);
		if (bad)
			log_warn("router.metrics_allow: %zu entries are not addresses or "
				 "networks and are ignored",
				bad);
	}
	return a;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	if (a->token) {
		explicit_bzero(a->token, strlen(a->token));
		free(a->token);
	}
	ic_cidr_list_free(a->metrics_allow);
	free(a);
}

bool admin_enabled(const struct admin *a)
{
	return a && a->token;
}

bool admin_token_matches(const char *token, const char *header)
{
	static const char prefix[] = "Bearer ";
	size_t tlen, glen, n;
	const char *given;
	unsigned diff;

	if (!token || !header || strncmp(header, prefix, sizeof(prefix) - 1) != 0)
		return false;
	given = header + sizeof(prefix) - 1;
	tlen = strlen(token);
	glen = strlen(given);
	/* every byte of the longer is looked at, whatever differs where */
	diff = tlen != glen;
	n = tlen > glen ? tlen : glen;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(i < tlen ? token[i] : 0) ^
			(unsigned char)(i < glen ? given[i] : 0);
	return diff == 0;
}

bool admin_ip_in_list(const char *list, const char *ip, size_t *bad)
{
	struct ic_cidr_list *l = ic_cidr_list_new(list, bad);
	bool found = ic_cidr_list_match(l, ip);

	ic_cidr_list_free(l);
	return found;
}

bool admin_metrics_allowed(const struct router *r, const char *ip)
{
	if (!r->admin || !r->admin->metrics_allow)
		return true;
	return ic_cidr_list_match(r->admin->metrics_allow, ip);
}

void admin_metrics_add(const struct router *r, json_object *o)
{
	uint64_t buckets[10];
	json_object *rb = json_object_new_object(), *pr = json_object_new_object();

	trust_histogram(r, buckets, 10);
	for (int i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%.1f-%.1f", i / 10.0, (i + 1) / 10.0);
		json_object_object_add(rb, name, json_object_new_int64((int64_t)buckets[i]));
	}
	for (int i = 0; i < PROBE_OUTCOMES; i++)
		json_object_object_add(pr, trust_outcome_name((enum probe_outcome)i),
			json_object_new_int64((int64_t)r->stats.probes[i]));
	json_object_object_add(pr, "in_flight", json_object_new_int(probes_in_flight(r->probes)));
	json_object_object_add(o, "reputation_buckets", rb);
	json_object_object_add(o, "probes", pr);
	json_object_object_add(
		o, "refused_input", json_object_new_int64((int64_t)r->stats.refused_input));
	json_object_object_add(
		o, "flagged_output", json_object_new_int64((int64_t)r->stats.flagged));
}

static json_object *probe_results_new(const struct trust_rec *rec)
{
	json_object *arr = json_object_new_array();

	/* newest first */
	for (int k = 0; rec && k < rec->n_results; k++) {
		const struct probe_result *pr =
			&rec->results[(rec->next_result - 1 - k + TRUST_RESULTS) % TRUST_RESULTS];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "at", json_object_new_int64(pr->at));
		json_object_object_add(o, "model", json_object_new_string(pr->model));
		json_object_object_add(
			o, "result", json_object_new_string(trust_outcome_name(pr->outcome)));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *node_json_new(const struct node *n, int64_t now)
{
	json_object *o = json_object_new_object(), *models = json_object_new_array();

	for (size_t i = 0; i < n->n_models; i++)
		json_object_array_add(models, json_object_new_string(n->models[i].model->name));
	json_object_object_add(o, "node_id", json_object_new_string(n->node_id));
	json_object_object_add(o, "ip", json_object_new_string(n->ip));
	json_object_object_add(o, "models", models);
	json_object_object_add(
		o, "connected_seconds", json_object_new_int64((now - n->registered_us) / 1000000));
	json_object_object_add(o, "active_requests", json_object_new_int(n->active));
	json_object_object_add(o, "max_concurrent", json_object_new_int(n->max_concurrent));
	json_object_object_add(o, "available", json_object_new_boolean(n->available));
	json_object_object_add(o, "ollama_version",
		n->ollama_version ? json_object_new_string(n->ollama_version) : NULL);
	json_object_object_add(
		o, "reputation", json_object_new_double(trust_rep(n) / (double)TRUST_POINTS_MAX));
	json_object_object_add(o, "probes", probe_results_new(n->trust));
	return o;
}

int admin_route_nodes(struct router *r, struct lws *wsi, struct pss *pss)
{
	char auth[ROUTER_ADMIN_TOKEN_MAX + 64];
	json_object *o, *arr;
	int64_t now = router_now_us();

	(void)pss;
	if (!admin_enabled(r->admin)) {
		server_reply_detail(wsi, 404, "Not Found", 0);
		return 0;
	}
	if (lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
		!admin_token_matches(r->admin->token, auth)) {
		explicit_bzero(auth, sizeof(auth));
		server_reply_detail(wsi, 401, "Unauthorized", 0);
		return 0;
	}
	explicit_bzero(auth, sizeof(auth));
	o = json_object_new_object();
	arr = json_object_new_array();
	lws_start_foreach_dll(struct lws_dll2 *, d, r->nodes.head)
	{
		json_object_array_add(
			arr, node_json_new(lws_container_of(d, struct node, link), now));
	}
	lws_end_foreach_dll(d);
	json_object_object_add(o, "nodes", arr);
	server_reply_text(wsi, 200, ic_json_to_string_new(o, NULL), 0);
	json_object_put(o);
	return 0;
}
