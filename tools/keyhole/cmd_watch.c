// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole watch: a subscription of keyholed's, printed as it streams: one
 * JSON line per message, {"event": ..., "data": ...} as keyholed sent it
 * (Documentation/broker-protocol.md, "watch"). Only keyholed watches: a
 * crawl that outlives this command, shared with every other watcher of
 * the same VM at the same rate, is what the daemon is for; `keyhole
 * crawl` is the same without it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

static int parse_count(const char *arg, unsigned long *count)
{
	char *end;

	errno = 0;
	*count = strtoul(arg, &end, 10);
	return errno || *end || end == arg || !*count || arg[0] == '-' ?
	       -EINVAL : 0;
}

static int parse_hz(const char *arg, double *hz)
{
	char *end;

	errno = 0;
	*hz = strtod(arg, &end);
	return errno || *end || end == arg || !(*hz > 0) ? -EINVAL : 0;
}

int cmd_watch(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "match", required_argument, NULL, 'm' },
		{ "hz", required_argument, NULL, 'f' },
		{ "events", no_argument, NULL, 'e' },
		{ "summary", no_argument, NULL, 's' },
		{ "pause", no_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = opts->broker ?: KH_PROTO_SOCKET;
	json_t *args = json_object(), *msg, *error;
	unsigned long count = 0, seen = 0;
	struct kh_proto_conn conn;
	const char *event;
	int c, all = 0, events = 0, summary = 0;
	char why[512];
	double hz = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+am:f:espn:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 'm':
			json_object_set_new(args, "match", json_string(optarg));
			break;
		case 'f':
			if (parse_hz(optarg, &hz)) {
				json_decref(args);
				return report_error(opts, "watch: --hz takes a rate > 0, not '%s'",
						    optarg);
			}
			break;
		case 'e':
			events = 1;
			break;
		case 's':
			summary = 1;
			break;
		case 'p':
			json_object_set_new(args, "pause", json_true());
			break;
		case 'n':
			if (parse_count(optarg, &count)) {
				json_decref(args);
				return report_error(opts, "watch: --count takes a number > 0, not '%s'",
						    optarg);
			}
			break;
		case 'h':
			subcommand_usage(subcommand_find("watch"), stdout);
			json_decref(args);
			return 0;
		default:
			json_decref(args);
			return report_error(opts, "watch: bad option; see 'watch --help'");
		}
	}
	if (all + !!json_object_get(args, "match") + (optind < argc) != 1 ||
	    optind + 1 < argc) {
		json_decref(args);
		return report_error(opts, "watch: expected one VM, --all or --match PATTERN");
	}
	if (optind < argc)
		json_object_set_new(args, "vm", json_string(argv[optind]));
	if (all)
		json_object_set_new(args, "all", json_true());
	json_object_set_new(args, "hz", json_real(hz));
	/* --events alone: the changes only; with --summary, counts too. */
	json_object_set_new(args, "records", json_string(summary ? "summary" :
				events ? "none" : "full"));
	json_object_set_new(args, "events", json_boolean(events));

	if (kh_proto_connect(sock, &conn, why, sizeof(why))) {
		json_decref(args);
		return report_error(opts, "%s", why);
	}
	if (kh_proto_send(&conn, "watch", args, 1, why, sizeof(why)) ||
	    kh_proto_receive(&conn, &msg, why, sizeof(why))) {
		kh_proto_close(&conn);
		return report_error(opts, "%s", why);
	}
	error = json_object_get(msg, "error");
	if (error) {
		report_error(opts, "%s", json_string_value(json_object_get(
				error, "desc")) ?: "keyholed refused");
		json_decref(msg);
		kh_proto_close(&conn);
		return 1;
	}
	json_decref(msg);
	while ((!count || seen < count) && !interrupted()) {
		if (kh_proto_receive(&conn, &msg, why, sizeof(why))) {
			kh_proto_close(&conn);
			return report_error(opts, "%s", why);
		}
		event = json_string_value(json_object_get(msg, "event"));
		json_dumpf(msg, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		fflush(stdout);
		json_decref(msg);
		seen++;
		if (event && (!strcmp(event, "goodbye") ||
			      !strcmp(event, "subscription-ended")))
			break;
	}
	kh_proto_close(&conn);
	return 0;
}
