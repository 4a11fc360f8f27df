// SPDX-License-Identifier: GPL-2.0-only
/*
 * envars as text: one row per variable of each process's environment, as
 * Volatility's linux.envars lists them (PID, COMM, KEY, VALUE), split at
 * the first '=' as the C library does.
 */
#include <inttypes.h>
#include <string.h>

#include "keyhole.h"
#include "render.h"

const struct table_column envars_columns[] = {
	{ "PID", TABLE_RIGHT, "the process's id" },
	{ "COMMAND", 0, "the process's command name" },
	{ "VARIABLE", 0, "the name, before the first '='" },
	{ "VALUE", 0, "the rest (nothing for an entry without '=')" },
	{ NULL },
};

void render_envars(const json_t *doc, FILE *out)
{
	const json_t *procs = json_object_get(doc, "envars"), *proc, *var;
	struct table *t = table_new(envars_columns);
	size_t i, j;

	json_array_foreach(procs, i, proc) {
		char pid[16];

		snprintf(pid, sizeof(pid), "%" PRId64,
			 (int64_t)field_int(proc, "pid"));
		json_array_foreach(json_object_get(proc, "environ"), j, var) {
			const char *entry = json_string_value(var) ?: "";
			const char *eq = strchr(entry, '=');
			char raw[256], name[256], value[4096];
			const char *cells[] = { pid, field_str(proc, "comm"),
						name, value };

			snprintf(raw, sizeof(raw), "%.*s",
				 eq ? (int)(eq - entry) : (int)strlen(entry),
				 entry);
			kh_printable(raw, sizeof(name), name);
			kh_printable(eq ? eq + 1 : "", sizeof(value), value);
			table_row(t, cells);
		}
	}
	table_print(t, out);
	table_free(t);
}
