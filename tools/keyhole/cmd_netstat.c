// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole netstat: the guest's TCP, UDP and unix sockets that processes
 * hold open, with their addresses, state, inode and owning processes.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"


static int is_inet6(const struct kh_conn *c)
{
	return !strcmp(c->proto, "tcp6") || !strcmp(c->proto, "udp6");
}

/* "127.0.0.1" or "::1" (no port): what JSON carries. */
static void addr_string(const struct kh_conn *c, const uint8_t *addr,
			char *out, size_t size)
{
	out[0] = '\0';
	if (!strcmp(c->proto, "unix"))
		return;
	inet_ntop(is_inet6(c) ? AF_INET6 : AF_INET, addr, out, size);
}

/* "127.0.0.1:7777" or "[::1]:7780"; unix: the path, or "-". */
static void endpoint(const struct kh_conn *c, const uint8_t *addr,
		     uint16_t port, int local, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	size_t i;

	if (!strcmp(c->proto, "unix")) {
		if (!local || !c->path[0]) {
			snprintf(out, size, "-");
			return;
		}
		/* A guest's path: never let it steer the terminal. */
		for (i = 0; i < size - 1 && i < sizeof(c->path) &&
			    c->path[i]; i++)
			out[i] = c->path[i] >= 0x20 && c->path[i] < 0x7f ?
				 c->path[i] : '?';
		out[i] = '\0';
		return;
	}
	addr_string(c, addr, ip, sizeof(ip));
	snprintf(out, size, is_inet6(c) ? "[%s]:%u" : "%s:%u", ip, port);
}

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

		endpoint(c, c->local, c->lport, 1, local, sizeof(local));
		endpoint(c, c->remote, c->rport, 0, remote, sizeof(remote));
		pid_string(c, pids, sizeof(pids));
		printf("%-5s %-30s %-30s %-12s %8" PRIu64 " %s\n", c->proto,
		       local, remote, c->state, c->inode, pids);
	}
}

json_t *conns_json(const struct kh_conn_list *list)
{
	char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN], sock[32];
	char path[sizeof(list->conns->path) + 1];
	json_t *array = json_array();
	unsigned int i, j;

	for (i = 0; i < list->nr; i++) {
		const struct kh_conn *c = &list->conns[i];
		json_t *pids = json_array();

		addr_string(c, c->local, local, sizeof(local));
		addr_string(c, c->remote, remote, sizeof(remote));
		if (c->path[0])
			endpoint(c, NULL, 0, 1, path, sizeof(path));
		else
			path[0] = '\0';
		snprintf(sock, sizeof(sock), "0x%" PRIx64, c->sock);
		for (j = 0; j < c->nr_pids && j < KH_CONN_PIDS; j++)
			json_array_append_new(pids, json_integer(c->pids[j]));
		json_array_append_new(array,
			json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:I, s:s, s:s, s:o}",
				  "proto", c->proto, "local", local,
				  "remote", remote, "lport", c->lport,
				  "rport", c->rport, "state", c->state,
				  "inode", (json_int_t)c->inode, "path", path,
				  "sock", sock, "pids", pids));
	}
	return array;
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
		print_json(conns_json(list));
	else
		print_text(list);
	ret = result_status(list->result.flags, list->result.problem);
	kh_conn_list_free(list);
	detach(ctx, vm);
	return ret;
}
