// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole check: every rootkit check of the library (kh_check), or one
 * with --only NAME, and an exit status a script can act on: 4 when
 * something was found (even if the result is also incomplete, which the
 * warning says), else as every view (0, or 3 incomplete).
 */
#include <string.h>

#include "keyhole.h"
#include "render.h"

/* Exit status when a check found something. */
#define EXIT_FOUND 4
/* --only has no short form. */
enum { ONLY = OPT_LONG_ONLY };

const struct cmd_option check_options[] = {
	OPTION("only", ONLY, "CHECK", "run only this check (hidden_processes, hidden_modules, syscalls, idt, kprobes, ftrace, netfilter, malfind, procfs, tty)"),
	{ .name = NULL },
};

int cmd_check(const struct options *opts, const struct subcommand *cmd,
	      const struct cmd_args *args)
{
	static const char *const names[] = {
		"hidden_processes", "hidden_modules", "syscalls", "idt",
		"kprobes", "ftrace", "netfilter", "malfind", "procfs", "tty",
		NULL,
	};
	struct kh_query_result res;
	const char *only = NULL;
	unsigned int i;
	size_t found;
	json_t *q;
	int ret;

	for (i = 0; i < args->nr_opts; i++)
		only = args->opt[i].value;
	for (i = 0; only && names[i] && strcmp(only, names[i]); i++)
		;
	if (only && !names[i])
		return usage_error(opts, cmd, "--only: no check named \"%s\"",
				   only);
	ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	q = only ? json_pack("{s:s}", "only", only) : json_object();
	if (run_query(opts, args->pos[0], cmd->name, q, &res))
		return 1;
	found = json_array_size(json_object_get(res.doc, "findings"));
	ret = show_result(opts, &res, render_check);
	/* A failure to print is worse news than a finding. */
	return found && ret != 1 ? EXIT_FOUND : ret;
}
