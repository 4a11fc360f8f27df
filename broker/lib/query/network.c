// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The network queries: ifconfig (interfaces in the guest's order) and
 * netstat (connections by protocol as /proc/net lists them: tcp, tcp6,
 * udp, udp6, unix; then by local port, then inode), the ones processes
 * hold and the TCP sockets only the kernel's hash table has.
 */
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

static int run_ifconfig(struct kh_vm *vm, const struct kh_query_args *args,
			struct kh_query_result *res, struct kh_err *err)
{
	struct kh_iface_list *list = NULL;
	int held, ret;

	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_ifaces(vm, &list, err);
	if (!ret)
		ret = kh_iface_stats(vm, list, err);
	ret = kh_query_release(vm, held, ret, err);
	if (ret) {
		kh_iface_list_free(list);
		return ret;
	}
	ret = kh_query_done("ifconfig", kh_json_ifaces(list), &list->result,
			    res, err);
	kh_iface_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_ifconfig = {
	.name = "ifconfig", .args = kh_query_no_args, .run = run_ifconfig,
};

static const char *const proto_order[] = {
	"tcp", "tcp6", "udp", "udp6", "unix",
};

/* An unknown protocol sorts last. */
static int proto_rank(const char *proto)
{
	unsigned int i;

	for (i = 0; i < sizeof(proto_order) / sizeof(proto_order[0]); i++)
		if (!strcmp(proto, proto_order[i]))
			return i;
	return i;
}

static int conn_by_proto_port(const void *a, const void *b)
{
	const struct kh_conn *x = a, *y = b;

	if (proto_rank(x->proto) != proto_rank(y->proto))
		return proto_rank(x->proto) - proto_rank(y->proto);
	if (x->lport != y->lport)
		return x->lport - y->lport;
	return (x->inode > y->inode) - (x->inode < y->inode);
}

static int run_netstat(struct kh_vm *vm, const struct kh_query_args *args,
		       struct kh_query_result *res, struct kh_err *err)
{
	struct kh_conn_list *list = NULL;
	int held, ret;

	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_conns(vm, &list, err);
	if (!ret)
		ret = kh_conns_unheld(vm, list, err);
	if (!ret)
		ret = kh_conn_queues(vm, list, err);
	ret = kh_query_release(vm, held, ret, err);
	if (ret) {
		kh_conn_list_free(list);
		return ret;
	}
	qsort(list->conns, list->nr, sizeof(*list->conns),
	      conn_by_proto_port);
	/* Under "ss": keyhole ss shows them, netstat is its other name. */
	ret = kh_query_done("ss", kh_json_conns(list), &list->result,
			    res, err);
	kh_conn_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_netstat = {
	.name = "netstat", .args = kh_query_no_args, .run = run_netstat,
};
