// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole watch: a subscription of keyholed's, printed as it streams: one
 * JSON line per message, {"event": ..., "data": ...} as keyholed sent it
 * (Documentation/broker-protocol.md, "watch"). Only keyholed watches: a
 * crawl that outlives this command, shared with every other watcher of
 * the same VM at the same rate, is what the daemon is for; `keyhole
 * crawl` is the same without it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

const struct cmd_option watch_options[] = {
	OPTION("all", 'a', NULL, "every VM keyholed watches that you may see"),
	OPTION("match", 'm', "PAT", "the VMs whose name matches PAT (fnmatch)"),
	OPTION("hz", 'f', "F", "crawls a second (default 1)"),
	OPTION("events", 'e', NULL, "the changes between crawls, not records"),
	OPTION("summary", 's', NULL, "records with counts and cost only"),
	OPTION("pause", 'p', NULL, "halt the guest for each crawl"),
	OPTION("check", 'c', NULL, "every rootkit check too: \"check\" in records, finding events"),
	OPTION("count", 'n', "N", "stop after N messages"),
	{ .name = NULL },
};

int cmd_watch(const struct options *opts, const struct subcommand *cmd,
	      const struct cmd_args *cargs)
{
	const char *sock = opts->broker ?: KH_PROTO_SOCKET;
	json_t *args, *msg, *error;
	unsigned long count = 0, seen = 0;
	struct kh_proto_conn conn;
	const char *event, *match = NULL;
	int all = 0, events = 0, summary = 0, pause = 0, check = 0, ret = 0;
	unsigned int i;
	char why[512];
	double hz = 1;

	for (i = 0; i < cargs->nr_opts && !ret; i++) {
		const char *value = cargs->opt[i].value;

		switch (cargs->opt[i].key) {
		case 'a':
			all = 1;
			break;
		case 'm':
			match = value;
			break;
		case 'f':
			ret = parse_rate(opts, cmd, "--hz", value, false, &hz);
			break;
		case 'e':
			events = 1;
			break;
		case 's':
			summary = 1;
			break;
		case 'p':
			pause = 1;
			break;
		case 'c':
			check = 1;
			break;
		case 'n':
			ret = parse_uint(opts, cmd, "--count", value, 1,
					 ULONG_MAX, &count);
			break;
		}
	}
	if (ret)
		return ret;
	if (all + !!match + !!cargs->nr_pos != 1 || cargs->nr_pos > 1)
		return usage_error(opts, cmd, "expected one VM, --all or --match PATTERN");
	args = json_object();
	if (match)
		json_object_set_new(args, "match", json_string(match));
	if (pause)
		json_object_set_new(args, "pause", json_true());
	if (check)
		json_object_set_new(args, "check", json_true());
	if (cargs->nr_pos)
		json_object_set_new(args, "vm", json_string(cargs->pos[0]));
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
