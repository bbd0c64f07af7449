/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* startup.c - configuration at start and on reload (see startup.h). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "startup.h"

void *ic_startup_config_new(const char *program, const struct ic_config_schema *schema,
	const struct ic_cmdline *cl, FILE *err)
{
	char *errors = NULL;
	void *cfg = ic_config_load_new(
		schema, cl->config_path, (const char *const *)cl->overrides, &errors);

	if (cfg == NULL)
		fprintf(err, "%s: configuration not valid:\n%s\n", program,
			errors ? errors : "unknown error");
	free(errors);
	return cfg;
}

/* The new value is in the config now, but the old one still runs. */
static void log_restart_keys(
	const struct ic_config_schema *schema, const void *old, const void *cfg)
{
	char buf[32];
	size_t i;

	for (i = 0; i < schema->n_keys; i++) {
		const struct ic_config_key *k = &schema->keys[i];

		if (k->restart && !ic_config_key_equal(k, old, cfg))
			log_warn("reload: %s.%s changes at the next start (running with \"%s\")",
				k->section, k->key, ic_config_value_text(k, old, buf, sizeof(buf)));
	}
}

int ic_reload(const struct ic_reload_ops *ops, void *program, const char *path,
	const char *const *overrides, char **errors)
{
	void *cfg, *old;

	ops->notify("RELOADING=1");
	*errors = NULL;
	cfg = ic_config_load_new(ops->schema, path, overrides, errors);
	if (cfg == NULL || (ops->prepare && ops->prepare(program, cfg, errors) < 0)) {
		log_err("reload failed; configuration not changed:\n%s",
			*errors ? *errors : "unknown error");
		ic_config_free(ops->schema, cfg);
		ops->notify("READY=1");
		return -1;
	}
	old = ops->swap(program, cfg);
	log_restart_keys(ops->schema, old, cfg);
	log_notice("configuration reloaded");
	if (ops->changed)
		ops->changed(program, old, cfg);
	ic_config_free(ops->schema, old);
	ops->notify("READY=1");
	return 0;
}
