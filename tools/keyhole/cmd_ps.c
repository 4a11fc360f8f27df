// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ps: the guest's processes, or with -T its threads, as the guest
 * kernel's task list has them.
 */
#include <getopt.h>

#include "keyhole.h"
#include "render.h"

int cmd_ps(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kh_query_result res;
	int c, threads = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+Th", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			threads = 1;
			break;
		case 'h':
			subcommand_usage(&subcommands[0], stdout);
			return 0;
		default:
			return report_error(opts, "ps: bad option; see 'ps --help'");
		}
	}
	if (optind != argc - 1)
		return report_error(opts, "ps: expected one VM (a QEMU pid, QMP socket path or -name)");
	if (run_query(opts, argv[optind], "ps",
		      json_pack("{s:b}", "threads", threads), &res))
		return 1;
	return show_result(opts, &res, render_ps);
}
