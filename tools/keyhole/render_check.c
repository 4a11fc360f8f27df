// SPDX-License-Identifier: GPL-2.0-only
/*
 * check as text: one row per finding (which check, the process or module
 * concerned, what is wrong, the code it leads to and what it should be),
 * then one line per check with what it examined, so that "no findings"
 * is seen to mean something: how much was compared, and what a check
 * could not do on this kernel.
 */
#include <inttypes.h>
#include <stdio.h>

#include "keyhole.h"
#include "render.h"

const struct table_column check_columns[] = {
	{ "CHECK", 0, "the check that found it" },
	{ "PID", TABLE_RIGHT, "the process concerned, or -" },
	{ "FINDING", 0, "what is wrong" },
	{ "TARGET", 0, "the code it leads to: symbol+offset or module+offset" },
	{ "ADDR", TABLE_HIDDEN, "the object's kernel address (task, module, table entry)" },
	{ "EXPECTED", TABLE_HIDDEN, "what it should be" },
	{ NULL },
};

void render_check(const json_t *doc, FILE *out)
{
	const json_t *f, *c;
	struct table *t = table_new(check_columns);
	size_t i, nr = 0;

	json_array_foreach(json_object_get(doc, "findings"), i, f) {
		char pid[16] = "-";
		const char *target = field_str(f, "target_symbol");
		const char *cells[] = {
			field_str(f, "check"), pid, field_str(f, "what"),
			target[0] ? target : field_str(f, "target"),
			field_str(f, "addr"), field_str(f, "expected"),
		};

		if (field_int(f, "pid"))
			snprintf(pid, sizeof(pid), "%" PRId64,
				 (int64_t)field_int(f, "pid"));
		if (!cells[3][0])
			cells[3] = "-";
		table_row(t, cells);
		nr++;
	}
	if (nr)
		table_print(t, out);
	table_free(t);
	fprintf(out, "%s%zu finding%s\n", nr ? "\n" : "", nr,
		nr == 1 ? "" : "s");
	json_array_foreach(json_object_get(doc, "checks"), i, c) {
		if (!json_is_true(json_object_get(c, "ran"))) {
			const char *why = field_str(c, "problem");

			fprintf(out, "  %-17s not run%s%s\n", field_str(c, "name"),
				why[0] ? ": " : "", why);
			continue;
		}
		fprintf(out, "  %-17s %" PRId64 " examined, %" PRId64 " found%s%s\n",
			field_str(c, "name"), (int64_t)field_int(c, "examined"),
			(int64_t)field_int(c, "findings"),
			field_str(c, "problem")[0] ? "; " : "",
			field_str(c, "problem"));
	}
}
