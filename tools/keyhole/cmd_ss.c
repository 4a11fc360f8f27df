// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ss (and netstat, its other name): the sockets the guest's
 * processes hold, chosen as ss(8) chooses them: TCP, UDP and unix
 * (-t, -u, -x; all when none is named), and by default only those not
 * listening, with -l only the listening ones (a UDP or unix socket
 * without a peer is listening, as UNCONN), with -a all. The document
 * keeps the chosen sockets, as the table does.
 */
#include <string.h>

#include "keyhole.h"
#include "render.h"

const struct cmd_option ss_options[] = {
	OPTION("tcp", 't', NULL, "TCP sockets"),
	OPTION("udp", 'u', NULL, "UDP sockets"),
	OPTION("unix", 'x', NULL, "unix sockets"),
	OPTION("listening", 'l', NULL, "only listening sockets (and unconnected UDP, unix)"),
	OPTION("all", 'a', NULL, "listening and not"),
	{ .name = NULL },
};

#define SS_TCP		(1u << 0)
#define SS_UDP		(1u << 1)
#define SS_UNIX		(1u << 2)

enum ss_states { SS_CONNECTED, SS_LISTENING, SS_ALL };

static unsigned int proto_bit(const char *proto)
{
	if (!strncmp(proto, "tcp", 3))
		return SS_TCP;
	if (!strncmp(proto, "udp", 3))
		return SS_UDP;
	return !strcmp(proto, "unix") ? SS_UNIX : 0;
}

/*
 * ss's default leaves out what listens, what is closed or unconnected,
 * and the half-open and closing TCP states the kernel keeps for itself.
 */
static bool listening(const char *state)
{
	return !strcmp(state, "LISTEN") || !strcmp(state, "UNCONN") ||
	       !strcmp(state, "UNCONNECTED") || !strcmp(state, "CLOSE");
}

static bool wanted(const json_t *conn, unsigned int protos,
		   enum ss_states states)
{
	const char *state = json_string_value(json_object_get(conn, "state"));
	const char *proto = json_string_value(json_object_get(conn, "proto"));

	if (!state || !proto || !(proto_bit(proto) & protos))
		return false;
	if (states == SS_ALL)
		return true;
	if (states == SS_LISTENING)
		return listening(state);
	return !listening(state) && strcmp(state, "TIME_WAIT") &&
	       strcmp(state, "SYN_RECV");
}

int cmd_ss(const struct options *opts, const struct subcommand *cmd,
	   const struct cmd_args *args)
{
	enum ss_states states = SS_CONNECTED;
	unsigned int protos = 0, i;
	struct kh_query_result res;
	json_t *kept, *conn;
	size_t j;
	int ret;

	for (i = 0; i < args->nr_opts; i++) {
		switch (args->opt[i].key) {
		case 't':
			protos |= SS_TCP;
			break;
		case 'u':
			protos |= SS_UDP;
			break;
		case 'x':
			protos |= SS_UNIX;
			break;
		/* As in ss, the last of -l and -a counts. */
		case 'l':
			states = SS_LISTENING;
			break;
		case 'a':
			states = SS_ALL;
			break;
		}
	}
	ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	if (!protos)
		protos = SS_TCP | SS_UDP | SS_UNIX;
	if (run_query(opts, args->pos[0], "netstat", json_object(), &res))
		return 1;
	kept = json_array();
	if (!kept) {
		kh_query_result_release(&res);
		return report_error(opts, "out of memory");
	}
	json_array_foreach(json_object_get(res.doc, "ss"), j, conn)
		if (wanted(conn, protos, states))
			json_array_append(kept, conn);
	if (json_object_set_new(res.doc, "ss", kept)) {
		kh_query_result_release(&res);
		return report_error(opts, "out of memory");
	}
	return show_result(opts, &res, render_ss);
}
