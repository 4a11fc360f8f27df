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

/*
 * kprobes, ftrace, netfilter as text: one row per hook, as Volatility's
 * plugins list them: what is hooked, by which handler, the code it runs
 * (symbol+offset in the kernel or a module) and whether keyhole check
 * would report it.
 */
const struct table_column hooks_columns[] = {
	{ "HOOKED", 0, "the probed or traced code; a netfilter hook's family and hook" },
	{ "ROLE", 0, "pre, post, kretprobe, entry; func, saved_func; hook" },
	{ "PRIO", TABLE_RIGHT, "a netfilter hook's priority" },
	{ "NETNS", TABLE_RIGHT, "its network namespace's inode number" },
	{ "TARGET", 0, "the code it runs: symbol+offset or module+offset" },
	{ "OWNER", 0, "the module that holds it, or -" },
	{ "SUSPECT", 0, "yes when keyhole check reports it" },
	{ "ADDR", TABLE_HIDDEN, "the kprobe, ftrace_ops or nf_hook_entry" },
	{ NULL },
};

void render_hooks(const json_t *doc, FILE *out)
{
	static const char *const keys[] = { "kprobes", "ftrace", "netfilter" };
	const json_t *hooks = NULL, *h;
	struct table *t = table_new(hooks_columns);
	unsigned int k;
	size_t i;

	for (k = 0; !hooks && k < 3; k++)
		hooks = json_object_get(doc, keys[k]);
	json_array_foreach(hooks, i, h) {
		int nf = json_object_get(h, "priority") != NULL;
		char prio[16] = "-", netns[16] = "-";
		const char *owner = field_str(h, "owner");
		const char *cells[] = {
			field_str(h, "hooked")[0] ? field_str(h, "hooked") :
						    "(all)",
			field_str(h, "role"), prio, netns,
			field_str(h, "target_symbol")[0] ?
				field_str(h, "target_symbol") :
				field_str(h, "target"),
			owner[0] ? owner : "-",
			json_is_true(json_object_get(h, "suspect")) ? "yes" :
								      "no",
			field_str(h, "addr"),
		};

		if (nf) {
			snprintf(prio, sizeof(prio), "%" PRId64,
				 (int64_t)field_int(h, "priority"));
			snprintf(netns, sizeof(netns), "%" PRId64,
				 (int64_t)field_int(h, "netns"));
		}
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}
