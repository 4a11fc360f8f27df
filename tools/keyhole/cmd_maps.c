// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole maps: one process's memory map, laid out as /proc/PID/maps.
 */
#include <getopt.h>
#include <stdlib.h>

#include "keyhole.h"
#include "render.h"

static int parse_pid(const char *arg, int32_t *pid)
{
	char *end;
	long val;

	val = strtol(arg, &end, 10);
	if (!*arg || *end || val <= 0 || val > INT32_MAX)
		return -1;
	*pid = val;
	return 0;
}

int cmd_maps(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kh_query_result res;
	int32_t pid;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			subcommand_usage(subcommand_find("maps"), stdout);
			return 0;
		default:
			return report_error(opts, "maps: bad option; see 'maps --help'");
		}
	}
	if (optind != argc - 2)
		return report_error(opts, "maps: expected a PID and one VM (a QEMU pid, QMP socket path or -name)");
	if (parse_pid(argv[optind], &pid))
		return report_error(opts, "maps: '%s' is not a process id",
				    argv[optind]);
	if (run_query(opts, argv[optind + 1], "maps",
		      json_pack("{s:i}", "pid", pid), &res))
		return 1;
	return show_result(opts, &res, render_maps);
}
