// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh-bench --views VM REPEAT: what each keyhole command costs, per access
 * technique. A command is timed as the keyhole CLI and keyholed run it,
 * through kh_query() (everything but printing), so that the table is the
 * price of `keyhole ps VM` and friends on a warm handle. Two of them are
 * also taken apart: ss's walk of the kernel's socket hash tables (the
 * sockets no process holds) and ip's per-driver counters (virtio_net's
 * from the module's own BTF), each against the same command without it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct view {
	const char *what;
	const char *query;	/* kh_query() name, or NULL: op */
	const char *args;	/* its arguments as JSON, or NULL */
	int (*op)(struct kh_vm *vm, struct kh_err *err);
};

static int conns_fd_only(struct kh_vm *vm, struct kh_err *err)
{
	struct kh_conn_list *list;
	int ret = kh_conns(vm, &list, err);

	if (!ret)
		ret = kh_conn_queues(vm, list, err);
	if (!ret)
		kh_conn_list_free(list);
	return ret;
}

static int conns_and_hash(struct kh_vm *vm, struct kh_err *err)
{
	struct kh_conn_list *list;
	int ret = kh_conns(vm, &list, err);

	if (!ret)
		ret = kh_conns_unheld(vm, list, err);
	if (!ret)
		ret = kh_conn_queues(vm, list, err);
	if (!ret)
		kh_conn_list_free(list);
	return ret;
}

static int ifaces_only(struct kh_vm *vm, struct kh_err *err)
{
	struct kh_iface_list *list;
	int ret = kh_ifaces(vm, &list, err);

	if (!ret)
		kh_iface_list_free(list);
	return ret;
}

static int ifaces_and_stats(struct kh_vm *vm, struct kh_err *err)
{
	struct kh_iface_list *list;
	int ret = kh_ifaces(vm, &list, err);

	if (!ret)
		ret = kh_iface_stats(vm, list, err);
	if (!ret)
		kh_iface_list_free(list);
	return ret;
}

static const struct view views[] = {
	{ "ps", "ps", NULL, NULL },
	{ "ps -T", "ps", "{\"threads\": true}", NULL },
	{ "lsof", "lsof", NULL, NULL },
	{ "ss (netstat)", "netstat", NULL, NULL },
	{ "ip -s (ifconfig)", "ifconfig", NULL, NULL },
	{ "lsmod", "lsmod", NULL, NULL },
	{ "dmesg", "dmesg", NULL, NULL },
	{ "mounts", "mounts", NULL, NULL },
	{ "ebpf", "ebpf", NULL, NULL },
	{ "envars", "envars", NULL, NULL },
	{ "creds", "creds", NULL, NULL },
	{ "bash", "bash", NULL, NULL },
	{ "elfs", "elfs", NULL, NULL },
	{ "netfilter", "netfilter", NULL, NULL },
	{ "check (all)", "check", NULL, NULL },
	{ "check --only hidden_processes", "check", "{\"only\": \"hidden_processes\"}", NULL },
	{ "check --only hidden_modules", "check", "{\"only\": \"hidden_modules\"}", NULL },
	{ "check --only syscalls", "check", "{\"only\": \"syscalls\"}", NULL },
	{ "check --only idt", "check", "{\"only\": \"idt\"}", NULL },
	{ "check --only kprobes", "check", "{\"only\": \"kprobes\"}", NULL },
	{ "check --only ftrace", "check", "{\"only\": \"ftrace\"}", NULL },
	{ "check --only netfilter", "check", "{\"only\": \"netfilter\"}", NULL },
	{ "check --only malfind", "check", "{\"only\": \"malfind\"}", NULL },
	{ "check --only procfs", "check", "{\"only\": \"procfs\"}", NULL },
	{ "check --only tty", "check", "{\"only\": \"tty\"}", NULL },
	{ "kallsyms", "kallsyms", NULL, NULL },
	{ "kallsyms -m sys_call", "kallsyms", "{\"match\": \"sys_call\"}", NULL },
	{ "maps 1", "maps", "{\"pid\": 1}", NULL },
	{ "info", "info", NULL, NULL },
	{ "mem", "mem", NULL, NULL },
	{ "ss: fd tables only", NULL, NULL, conns_fd_only },
	{ "ss: fd tables + socket hash tables", NULL, NULL, conns_and_hash },
	{ "ip: addresses only", NULL, NULL, ifaces_only },
	{ "ip: addresses + driver counters", NULL, NULL, ifaces_and_stats },
};

static int run_view(struct kh_vm *vm, const struct view *v, json_t *args,
		    struct kh_err *err)
{
	struct kh_query_result res;
	int ret;

	if (v->op)
		return v->op(vm, err);
	ret = kh_query(vm, v->query, args, &res, err);
	if (!ret)
		kh_query_result_release(&res);
	return ret;
}

static void view_row(struct kh_vm *vm, const char *technique,
		     const struct view *v, int repeat)
{
	double *wall = calloc(repeat, sizeof(*wall));
	struct kh_stats before, after;
	json_t *args = NULL;
	struct kh_err err = { 0 };
	double cpu = 0;
	int i;

	if (!wall) {
		fprintf(stderr, "kh-bench: out of memory\n");
		exit(1);
	}
	if (v->args && !(args = json_loads(v->args, 0, NULL))) {
		fprintf(stderr, "kh-bench: bad arguments for %s\n", v->what);
		exit(1);
	}
	/* One untimed run: the first read of a handle pays page faults. */
	if (run_view(vm, v, args, &err))
		die(v->what, &err);
	kh_vm_get_stats(vm, &before);
	for (i = 0; i < repeat; i++) {
		double w0 = now_us(CLOCK_MONOTONIC);
		double c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);

		if (run_view(vm, v, args, &err))
			die(v->what, &err);
		cpu += now_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
		wall[i] = now_us(CLOCK_MONOTONIC) - w0;
	}
	kh_vm_get_stats(vm, &after);
	printf("| %s | %s | %d | %.3g us | %.3g us | %.3g us | %.0f | %.1f |\n",
	       v->what, technique, repeat, quantile(wall, repeat, 0.5),
	       quantile(wall, repeat, 0.9), cpu / repeat,
	       (double)(after.read_calls - before.read_calls) / repeat,
	       (double)(after.read_bytes - before.read_bytes) / repeat / 1024);
	json_decref(args);
	free(wall);
}

int views_table(const char *spec, int repeat)
{
	static const char *const techniques[] = { "memmap", "pvreadv",
						  "procmem", NULL };
	struct kh_ctx_config nocache = { .cache_dir = "" };
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	size_t v;
	int t;

	if (kh_ctx_new(&nocache, &ctx, &err))
		die("context", &err);
	printf("| command | technique | runs | median | p90 | CPU (mean) | read calls | KiB read |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (t = 0; techniques[t]; t++) {
		struct kh_vm_config cfg = { .technique = techniques[t] };
		struct kh_vm *vm;

		if (kh_vm_open(ctx, spec, &cfg, &vm, &err)) {
			printf("| every command | %s | - | - | - | - | - | not available: %s |\n",
			       techniques[t], err.msg);
			continue;
		}
		for (v = 0; v < sizeof(views) / sizeof(views[0]); v++)
			view_row(vm, techniques[t], &views[v], repeat);
		kh_vm_close(vm);
	}
	kh_ctx_free(ctx);
	return 0;
}
