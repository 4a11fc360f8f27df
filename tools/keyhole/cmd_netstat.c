// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole netstat: the guest's TCP, UDP and unix sockets that processes
 * hold open, with their addresses, state, inode and owning processes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

static void pid_string(const struct kh_conn *c, char *out, size_t size)
{
	size_t n = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; i < c->nr_pids && i < KH_CONN_PIDS && n < size; i++)
		n += snprintf(out + n, size - n, "%s%d", i ? "," : "",
			      c->pids[i]);
}

static const char *proto_rank[] = { "tcp", "tcp6", "udp", "udp6", "unix" };

static int rank(const char *proto)
{
	unsigned int i;

	for (i = 0; i < sizeof(proto_rank) / sizeof(proto_rank[0]); i++)
		if (!strcmp(proto, proto_rank[i]))
			return i;
	return i;
}

static int by_proto_port(const void *a, const void *b)
{
	const struct kh_conn *x = a, *y = b;

	if (rank(x->proto) != rank(y->proto))
		return rank(x->proto) - rank(y->proto);
	if (x->lport != y->lport)
		return x->lport - y->lport;
	return (x->inode > y->inode) - (x->inode < y->inode);
}

static void print_text(const struct kh_conn_list *list)
{
	char local[128], remote[128], pids[128];
	unsigned int i;

	printf("%-5s %-30s %-30s %-12s %8s %s\n", "Proto", "Local", "Remote",
	       "State", "Inode", "PIDs");
	for (i = 0; i < list->nr; i++) {
		const struct kh_conn *c = &list->conns[i];

		kh_format_endpoint(c, 1, local, sizeof(local));
		kh_format_endpoint(c, 0, remote, sizeof(remote));
		pid_string(c, pids, sizeof(pids));
		printf("%-5s %-30s %-30s %-12s %8" PRIu64 " %s\n", c->proto,
		       local, remote, c->state, c->inode, pids);
	}
}

int cmd_netstat(const struct options *opts, int argc, char **argv)
{
	struct kh_conn_list *list;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (attach(opts, spec, &ctx, &vm))
		return 1;
	ret = kh_conns(vm, &list, &err);
	if (ret) {
		detach(ctx, vm);
		return report_error(opts, "%s", err.msg);
	}
	qsort(list->conns, list->nr, sizeof(*list->conns), by_proto_port);
	if (opts->json)
		print_json(kh_json_conns(list));
	else
		print_text(list);
	ret = result_status(list->result.flags, list->result.problem);
	kh_conn_list_free(list);
	detach(ctx, vm);
	return ret;
}
