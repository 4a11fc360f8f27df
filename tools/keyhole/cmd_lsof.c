// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole lsof: the open files of every process (or of one, with -p), as
 * the guest's /proc/PID/fd shows them.
 */
#include <getopt.h>
#include <stdlib.h>

#include "keyhole.h"
#include "render.h"

int cmd_lsof(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kh_query_result res;
	json_t *args;
	int32_t pid = 0;
	char *end;
	long val;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			val = strtol(optarg, &end, 10);
			if (*end || end == optarg || val <= 0 ||
			    val > INT32_MAX)
				return report_error(opts, "lsof: bad pid '%s'",
						    optarg);
			pid = val;
			break;
		case 'h':
			subcommand_usage(subcommand_find("lsof"), stdout);
			return 0;
		default:
			return report_error(opts, "lsof: bad option; see 'lsof --help'");
		}
	}
	if (optind != argc - 1)
		return report_error(opts, "lsof: expected one VM (a QEMU pid, QMP socket path or -name)");
	/* Without a pid: every process. */
	args = pid ? json_pack("{s:i}", "pid", pid) : json_object();
	if (run_query(opts, argv[optind], "lsof", args, &res))
		return 1;
	return show_result(opts, &res, render_lsof);
}
