// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hooks a module attaches through the kernel's own interfaces, whose
 * code lives outside the kernel's text:
 *
 * - kprobes (Volatility's kprobes): every registered kprobe is on
 *   kprobe_table's hash chains. Its pre and post handlers (a kretprobe's
 *   handler and entry handler) must be kernel code (a BPF program's or
 *   ftrace's dispatcher) or a listed module's; one in a hidden module or
 *   in no known code is a finding, named by the probed symbol. Probes
 *   that share an address hang under one aggregate probe
 *   (aggr_pre_handler) on its list, and are checked there.
 * - ftrace (Volatility's tracing.ftrace): every registered ftrace_ops is
 *   on ftrace_ops_list (ending at ftrace_list_end), each with the
 *   callback the traced functions call: how rootkits for current kernels
 *   hook system calls. A callback outside the kernel's text and every
 *   listed module is a finding (its saved_func too, the callback while a
 *   pid filter is on), named by a function its filter traces. Not seen:
 *   direct calls (register_ftrace_direct(), whose targets are in
 *   direct_functions behind the kernel's direct_ops), and an ops taken
 *   off the list after its call sites were patched.
 * - netfilter (Volatility's netfilter): every network namespace's IPv4
 *   and IPv6 hook arrays (net->nf.hooks_ipv4/6[hook], a struct
 *   nf_hook_entries each: the functions, then the nf_hook_ops they came
 *   from, for the priority). A hook function outside the kernel's text
 *   and outside every listed module is a finding (iptables and nftables
 *   register from listed modules).
 *
 * kh_hooks() runs the same walks with every hook found (cx->list_hooks),
 * each named by its code wherever it is, and marked suspect where the
 * check would report it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

/* Probes per chain and in all, hooks per array and in all: more is corruption. */
#define MAX_CHAIN 4096
#define MAX_PROBES 65536
#define MAX_HOOKS 1024
#define MAX_ALL_HOOKS 65536
#define MAX_NETNS 65536
#define NF_INET_HOOKS_MAX 8
/* KPROBE_TABLE_SIZE: 1 << KPROBE_HASH_BITS (6) since 2.6. */
#define KPROBE_TABLE_SIZE 64

static const char *const nf_hook_names[] = {
	"PRE_ROUTING", "LOCAL_IN", "FORWARD", "LOCAL_OUT", "POST_ROUTING",
};

/*
 * A hook's code that is a finding: outside the kernel's text and in no
 * module on the list (in a hidden one, or in memory no module holds).
 * Netfilter and kprobe hooks in listed modules (nf_conntrack, iptables,
 * systemtap) are how those modules work; the finding there would be the
 * module, which hidden_modules judges.
 */
static int suspect(struct kh_check_ctx *cx, uint64_t target,
		   struct kh_finding *f, int *found)
{
	int ret, in_text;

	*found = 0;
	if (!target)
		return 0;
	in_text = kh_check_in_text(cx, target);
	if (in_text && !cx->list_hooks)
		return 0;
	ret = kh_check_describe(cx, target, f);
	if (ret)
		return ret;
	f->suspect = !in_text &&
		     (!f->owner[0] || strstr(f->owner, " (hidden)"));
	*found = f->suspect || cx->list_hooks;
	return 0;
}

/* Where a hook's code is, for its sentence. */
static const char *holder(const struct kh_finding *f)
{
	if (f->owner[0])
		return f->owner;
	return f->suspect ? "memory outside the kernel's text" :
			    "the kernel's text";
}

enum {
	KP_HLIST, KP_LIST, KP_ADDR, KP_PRE, KP_POST, RP_KP, RP_HANDLER,
	RP_ENTRY,
	NR_KP_FIELDS
};

static const struct kh_field kp_fields[NR_KP_FIELDS] = {
	[KP_HLIST] = { "kprobe", "hlist" },
	[KP_LIST] = { "kprobe", "list" },
	[KP_ADDR] = { "kprobe", "addr" },
	[KP_PRE] = { "kprobe", "pre_handler" },
	[KP_POST] = { "kprobe", "post_handler" },
	/* A kretprobe's handlers are its own, its kprobe's are the kernel's. */
	[RP_KP] = { "kretprobe", "kp", .optional = 1 },
	[RP_HANDLER] = { "kretprobe", "handler", .optional = 1 },
	[RP_ENTRY] = { "kretprobe", "entry_handler", .optional = 1 },
};

struct kp_walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	uint64_t aggr;		/* aggr_pre_handler, or 0 */
	uint64_t kretprobe;	/* pre_handler_kretprobe, or 0 */
	struct kh_addr_set seen;
	int bad;
};

/* One probe's handlers; *aggr set when it is an aggregate's. */
static int check_probe(struct kp_walk *w, uint64_t kp, int *aggr)
{
	static const char *const kinds[] = {
		"pre", "post", "kretprobe", "kretprobe entry",
	};
	static const char *const roles[] = { "pre", "post", "kretprobe",
					     "entry" };
	struct kh_check_ctx *cx = w->cx;
	const uint32_t *off = w->off;
	uint64_t addr = 0, handlers[4] = { 0 };
	struct kh_read r[3] = {
		{ .addr = kp + off[KP_ADDR], .buf = &addr, .len = 8 },
		{ .addr = kp + off[KP_PRE], .buf = &handlers[0], .len = 8 },
		{ .addr = kp + off[KP_POST], .buf = &handlers[1], .len = 8 },
	};
	struct kh_sym_near near;
	unsigned int i;
	int ret, found;

	*aggr = 0;
	if (w->seen.nr >= MAX_PROBES) {
		w->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&w->seen, kp);
	if (ret <= 0) {
		w->bad = 1;
		return ret;
	}
	ret = kh_kva_fetch(cx->vm, r, 3, NULL);
	if (ret < 0)
		return ret;
	if (ret) {
		w->bad = 1;
		return 0;
	}
	cx->report->checks[KH_CHECK_KPROBES].examined++;
	if (w->aggr && handlers[0] == w->aggr) {
		*aggr = 1;
		return 0;
	}
	if (w->kretprobe && handlers[0] == w->kretprobe &&
	    off[RP_KP] != KH_FIELD_ABSENT && kp >= off[RP_KP]) {
		struct kh_read rr[2] = {
			{ .addr = kp - off[RP_KP] + off[RP_HANDLER],
			  .buf = &handlers[2], .len = 8 },
			{ .addr = kp - off[RP_KP] + off[RP_ENTRY],
			  .buf = &handlers[3], .len = 8 },
		};

		ret = kh_kva_fetch(cx->vm, rr, 2, NULL);
		if (ret < 0)
			return ret;
		w->bad |= ret > 0;
	}
	for (i = 0; i < 4; i++) {
		struct kh_finding f = { .addr = kp };
		char at[140] = "";

		ret = suspect(cx, handlers[i], &f, &found);
		if (ret)
			return ret;
		if (!found)
			continue;
		if (!kh_symbol_near(cx->vm, addr, &near))
			snprintf(at, sizeof(at), "%s+0x%" PRIx64, near.name,
				 near.offset);
		else
			snprintf(at, sizeof(at), "0x%" PRIx64, addr);
		snprintf(f.what, sizeof(f.what),
			 "a kprobe on %s has its %s handler in %s", at, kinds[i],
			 holder(&f));
		snprintf(f.expected, sizeof(f.expected),
			 "handlers in the kernel's text or a listed module");
		snprintf(f.hooked, sizeof(f.hooked), "%s", at);
		snprintf(f.role, sizeof(f.role), "%s", roles[i]);
		ret = kh_check_found(cx, KH_CHECK_KPROBES, &f);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The probes under an aggregate, on its list. A real aggregate's list
 * holds plain probes: one that is itself an aggregate is not followed
 * (no recursion a guest could make deep), only marked.
 */
static int probe_children(struct kp_walk *w, uint64_t kp)
{
	struct kh_addr_list kids = { 0 };
	struct kh_result walk = { 0 };
	unsigned int i;
	int ret, aggr;

	ret = kh_list_walk(w->cx->vm, kp + w->off[KP_LIST], w->off[KP_LIST],
			   MAX_CHAIN, kh_list_collect, &kids, &walk, NULL);
	if (walk.flags)
		w->bad = 1;
	for (i = 0; !ret && i < kids.nr; i++) {
		ret = check_probe(w, kids.addrs[i], &aggr);
		w->bad |= aggr;
	}
	free(kids.addrs);
	return ret;
}

int kh_check_kprobes(struct kh_check_ctx *cx)
{
	struct kp_walk w = { .cx = cx };
	uint64_t table[KPROBE_TABLE_SIZE];
	struct kh_sym_near near;
	uint64_t va, i;
	int ret, aggr;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_KPROBES, 0,
					"the kernel's text bounds are unknown");
	if (kh_offsets(cx->vm, kp_fields, NR_KP_FIELDS, &w.off, NULL) ||
	    kh_sym_va(cx->vm, "kprobe_table", &va, NULL) ||
	    kh_symbol_near(cx->vm, va, &near) || near.offset)
		return kh_check_problem(cx, KH_CHECK_KPROBES, 0,
					"this kernel has no kprobe_table (CONFIG_KPROBES)");
	if (near.next && near.next - va < sizeof(table))
		return kh_check_problem(cx, KH_CHECK_KPROBES, 0,
					"kprobe_table is smaller than %d chains",
					KPROBE_TABLE_SIZE);
	if (kh_sym_va(cx->vm, "aggr_pre_handler", &w.aggr, NULL))
		kh_check_problem(cx, KH_CHECK_KPROBES, 1,
				 "no aggr_pre_handler: probes that share an address are not told apart");
	kh_sym_va(cx->vm, "pre_handler_kretprobe", &w.kretprobe, NULL);
	ret = kh_kva_fetch_one(cx->vm, va, table, sizeof(table), NULL);
	if (ret == -ESRCH)
		return ret;
	if (ret)
		return kh_check_problem(cx, KH_CHECK_KPROBES, 0,
					"kprobe_table cannot be read");
	for (i = 0; i < KPROBE_TABLE_SIZE && !ret; i++) {
		uint64_t node = table[i];
		unsigned int n = 0;

		/* An hlist: NULL-terminated, each node the kprobe's hlist. */
		while (node && !ret) {
			if (!kh_kernel_ptr_aligned(cx->vm, node, 8) ||
			    node < w.off[KP_HLIST] || ++n > MAX_CHAIN) {
				w.bad = 1;
				break;
			}
			ret = check_probe(&w, node - w.off[KP_HLIST], &aggr);
			if (!ret && aggr)
				ret = probe_children(&w, node - w.off[KP_HLIST]);
			if (!ret && kh_kva_u64(cx->vm, node, &node)) {
				w.bad = 1;
				break;
			}
		}
	}
	kh_addr_set_free(&w.seen);
	if (ret == -ENOMEM)
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for kprobes");
	if (!ret && w.bad)
		kh_check_problem(cx, KH_CHECK_KPROBES, 1,
				 "kprobe chains that could not be read whole");
	return ret;
}

enum {
	OPS_FUNC, OPS_SAVED_FUNC, OPS_NEXT, OPS_FUNC_HASH, OPSHASH_FILTER,
	HASH_BITS,
	HASH_BUCKETS, ENTRY_HLIST, ENTRY_IP,
	NR_FT_FIELDS
};

static const struct kh_field ft_fields[NR_FT_FIELDS] = {
	[OPS_FUNC] = { "ftrace_ops", "func" },
	/* The callback itself when func is ftrace_pid_func (set_ftrace_pid). */
	[OPS_SAVED_FUNC] = { "ftrace_ops", "saved_func", .optional = 1 },
	[OPS_NEXT] = { "ftrace_ops", "next" },
	[OPS_FUNC_HASH] = { "ftrace_ops", "func_hash" },
	[OPSHASH_FILTER] = { "ftrace_ops_hash", "filter_hash" },
	[HASH_BITS] = { "ftrace_hash", "size_bits" },
	[HASH_BUCKETS] = { "ftrace_hash", "buckets" },
	[ENTRY_HLIST] = { "ftrace_func_entry", "hlist" },
	[ENTRY_IP] = { "ftrace_func_entry", "ip" },
};

/* ftrace_ops registered at once, buckets of a filter looked at: bounds. */
#define MAX_FTRACE_OPS 4096
#define MAX_HASH_BITS 12

/* A pointer the filter's walk follows: NULL is none, else a kernel one. */
static int filter_ptr(struct kh_check_ctx *cx, uint64_t p, int *bad)
{
	*bad |= p && !kh_kernel_ptr(cx->vm, p);
	return p && !*bad;
}

/*
 * The first function ops's filter traces, as "symbol+0x0" in at; "" when
 * it has none (it traces every function), "(unreadable filter)" when its
 * filter cannot be read: a guest must not make a hook look as if it
 * traced everything.
 */
static void traced(struct kh_check_ctx *cx, const uint32_t *off,
		   uint64_t ops, char *at, size_t size)
{
	uint64_t hash = 0, filter = 0, bits = 0, buckets = 0, node, ip;
	uint64_t heads[1u << MAX_HASH_BITS];
	struct kh_sym_near near;
	unsigned int i, nr;
	int bad = 0;

	at[0] = '\0';
	if (kh_kva_u64(cx->vm, ops + off[OPS_FUNC_HASH], &hash) ||
	    (filter_ptr(cx, hash, &bad) &&
	     kh_kva_u64(cx->vm, hash + off[OPSHASH_FILTER], &filter)) ||
	    (filter_ptr(cx, filter, &bad) &&
	     (kh_kva_u64(cx->vm, filter + off[HASH_BITS], &bits) ||
	      kh_kva_u64(cx->vm, filter + off[HASH_BUCKETS], &buckets))))
		bad = 1;
	/* No filter (no hash, no buckets): every function. */
	if (!bad && !filter_ptr(cx, buckets, &bad) && !bad)
		return;
	nr = 1u << (bits < MAX_HASH_BITS ? bits : MAX_HASH_BITS);
	if (bad || kh_kva_fetch_one(cx->vm, buckets, heads, nr * 8, NULL)) {
		snprintf(at, size, "(unreadable filter)");
		return;
	}
	for (i = 0; i < nr; i++) {
		node = heads[i];
		if (!node || !kh_kernel_ptr(cx->vm, node) ||
		    node < off[ENTRY_HLIST] ||
		    kh_kva_u64(cx->vm, node - off[ENTRY_HLIST] + off[ENTRY_IP],
			       &ip))
			continue;
		if (!kh_symbol_near(cx->vm, ip, &near))
			snprintf(at, size, "%s+0x%" PRIx64, near.name,
				 near.offset);
		else
			snprintf(at, size, "0x%" PRIx64, ip);
		return;
	}
}

/* One callback of an ftrace_ops: a finding if suspect (or listed). */
static int ftrace_callback(struct kh_check_ctx *cx, const uint32_t *off,
			   uint64_t ops, uint64_t func, const char *role)
{
	struct kh_finding f = { .addr = ops };
	char at[140];
	int ret, found;

	ret = suspect(cx, func, &f, &found);
	if (ret || !found)
		return ret;
	traced(cx, off, ops, at, sizeof(at));
	snprintf(f.what, sizeof(f.what), "an ftrace hook%s%s calls %s",
		 at[0] ? " on " : "", at, holder(&f));
	snprintf(f.expected, sizeof(f.expected),
		 "callbacks in the kernel's text or a listed module");
	snprintf(f.hooked, sizeof(f.hooked), "%s", at);
	snprintf(f.role, sizeof(f.role), "%s", role);
	return kh_check_found(cx, KH_CHECK_FTRACE, &f);
}

int kh_check_ftrace(struct kh_check_ctx *cx)
{
	struct kh_addr_set seen = { 0 };
	const uint32_t *off;
	uint64_t head, end, ops;
	int ret = 0, bad = 0;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_FTRACE, 0,
					"the kernel's text bounds are unknown");
	if (kh_offsets(cx->vm, ft_fields, NR_FT_FIELDS, &off, NULL) ||
	    kh_sym_va(cx->vm, "ftrace_ops_list", &head, NULL) ||
	    kh_sym_va(cx->vm, "ftrace_list_end", &end, NULL))
		return kh_check_problem(cx, KH_CHECK_FTRACE, 0,
					"this kernel has no ftrace_ops_list (CONFIG_FUNCTION_TRACER)");
	ret = kh_kva_u64(cx->vm, head, &ops);
	if (ret == -ESRCH)
		return ret;
	if (ret)
		return kh_check_problem(cx, KH_CHECK_FTRACE, 0,
					"ftrace_ops_list cannot be read");
	while (!ret && ops != end) {
		uint64_t func, saved = 0;

		if (!kh_kernel_ptr_aligned(cx->vm, ops, 8) ||
		    seen.nr >= MAX_FTRACE_OPS) {
			bad = 1;
			break;
		}
		ret = kh_addr_set_add(&seen, ops);
		if (ret <= 0) {
			bad = 1;	/* a cycle; or no memory */
			break;
		}
		ret = 0;
		if (kh_kva_u64(cx->vm, ops + off[OPS_FUNC], &func) ||
		    (off[OPS_SAVED_FUNC] != KH_FIELD_ABSENT &&
		     kh_kva_u64(cx->vm, ops + off[OPS_SAVED_FUNC], &saved))) {
			bad = 1;
			break;
		}
		cx->report->checks[KH_CHECK_FTRACE].examined++;
		ret = ftrace_callback(cx, off, ops, func, "func");
		/* A pid filter's ftrace_pid_func in front of the callback. */
		if (!ret && saved && saved != func)
			ret = ftrace_callback(cx, off, ops, saved,
					      "saved_func");
		if (!ret && kh_kva_u64(cx->vm, ops + off[OPS_NEXT], &ops)) {
			bad = 1;
			break;
		}
	}
	kh_addr_set_free(&seen);
	if (ret == -ENOMEM)
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for ftrace hooks");
	if (!ret && bad)
		kh_check_problem(cx, KH_CHECK_FTRACE, 1,
				 "ftrace_ops_list could not be read whole");
	return ret;
}

enum {
	NET_LIST, NET_INUM, NET_HOOKS4, NET_HOOKS6,
	NFE_NUM, NFE_HOOKS, NFENTRY_HOOK, NFENTRY_SIZEOF, OPS_PRIORITY,
	NR_NF_FIELDS
};

static const struct kh_field nf_fields[NR_NF_FIELDS] = {
	[NET_LIST] = { "net", "list" },
	[NET_INUM] = { "net", "ns.inum" },
	[NET_HOOKS4] = { "net", "nf.hooks_ipv4" },
	[NET_HOOKS6] = { "net", "nf.hooks_ipv6", .optional = 1 },
	[NFE_NUM] = { "nf_hook_entries", "num_hook_entries" },
	[NFE_HOOKS] = { "nf_hook_entries", "hooks" },
	[NFENTRY_HOOK] = { "nf_hook_entry", "hook" },
	[NFENTRY_SIZEOF] = { "nf_hook_entry", NULL },
	[OPS_PRIORITY] = { "nf_hook_ops", "priority" },
};

struct nf_walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	struct kh_addr_set arrays;	/* nf_hook_entries seen */
	unsigned int hooks;		/* read in all */
	int bad;
};

/* One nf_hook_entries: its functions, then its ops' priorities. */
static int check_entries(struct nf_walk *w, uint32_t inum,
			 const char *family, unsigned int hooknum,
			 uint64_t entries)
{
	struct kh_check_ctx *cx = w->cx;
	const uint32_t *off = w->off;
	uint64_t fn, ops;
	uint16_t num;
	unsigned int i;
	int ret, found;

	/* Namespaces never share an array: a shared one is read once. */
	ret = kh_addr_set_add(&w->arrays, entries);
	if (ret <= 0) {
		w->bad |= !ret;
		return ret;
	}
	ret = kh_kva_fetch_one(cx->vm, entries + off[NFE_NUM], &num, 2, NULL);
	if (ret == -ESRCH)
		return ret;
	if (ret || num > MAX_HOOKS || w->hooks + num > MAX_ALL_HOOKS) {
		w->bad = 1;
		return 0;
	}
	w->hooks += num;
	for (i = 0; i < num; i++) {
		uint64_t hook = entries + off[NFE_HOOKS] +
				(uint64_t)i * off[NFENTRY_SIZEOF];
		struct kh_finding f = { .addr = hook };
		int32_t prio = 0;
		uint32_t u;

		ret = kh_kva_u64(cx->vm, hook + off[NFENTRY_HOOK], &fn);
		if (ret == -ESRCH)
			return ret;
		if (ret) {
			w->bad = 1;
			continue;
		}
		cx->report->checks[KH_CHECK_NETFILTER].examined++;
		ret = suspect(cx, fn, &f, &found);
		if (ret)
			return ret;
		if (!found)
			continue;
		/* orig_ops: num pointers right after the num entries. */
		if (!kh_kva_u64(cx->vm, entries + off[NFE_HOOKS] +
				(uint64_t)num * off[NFENTRY_SIZEOF] + i * 8,
				&ops) &&
		    kh_kernel_ptr(cx->vm, ops) &&
		    !kh_kva_u32(cx->vm, ops + off[OPS_PRIORITY], &u))
			prio = (int32_t)u;
		snprintf(f.what, sizeof(f.what),
			 "netfilter %s %s hook (priority %d, netns %u) in %s",
			 family, hooknum < 5 ? nf_hook_names[hooknum] : "?",
			 prio, inum, holder(&f));
		snprintf(f.expected, sizeof(f.expected),
			 "hook functions in the kernel's text or a listed module");
		snprintf(f.hooked, sizeof(f.hooked), "%s %s", family,
			 hooknum < 5 ? nf_hook_names[hooknum] : "?");
		snprintf(f.role, sizeof(f.role), "hook");
		f.priority = prio;
		f.netns = inum;
		ret = kh_check_found(cx, KH_CHECK_NETFILTER, &f);
		if (ret)
			return ret;
	}
	return 0;
}

int kh_check_netfilter(struct kh_check_ctx *cx)
{
	struct nf_walk w = { .cx = cx };
	struct kh_addr_list nets = { 0 };
	struct kh_result walk = { 0 };
	const uint32_t *off;
	int64_t numhooks = 0;
	uint64_t head, arr[NF_INET_HOOKS_MAX];
	unsigned int n, h, fam;
	int ret;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_NETFILTER, 0,
					"the kernel's text bounds are unknown");
	if (kh_offsets(cx->vm, nf_fields, NR_NF_FIELDS, &off, NULL) ||
	    kh_sym_va(cx->vm, "net_namespace_list", &head, NULL) ||
	    kh_enum_value(cx->vm, "NF_INET_NUMHOOKS", &numhooks, NULL) ||
	    numhooks < 1 || numhooks > NF_INET_HOOKS_MAX)
		return kh_check_problem(cx, KH_CHECK_NETFILTER, 0,
					"this kernel has no netfilter hooks keyhole knows");
	w.off = off;
	ret = kh_list_walk(cx->vm, head, off[NET_LIST], MAX_NETNS,
			   kh_list_collect, &nets, &walk, NULL);
	if (walk.flags)
		w.bad = 1;
	for (n = 0; !ret && n < nets.nr; n++) {
		uint32_t inum = 0;

		kh_kva_u32(cx->vm, nets.addrs[n] + off[NET_INUM], &inum);
		for (fam = 0; fam < 2 && !ret; fam++) {
			uint32_t at = fam ? off[NET_HOOKS6] : off[NET_HOOKS4];

			if (at == KH_FIELD_ABSENT)
				continue;
			if (kh_kva_fetch_one(cx->vm, nets.addrs[n] + at, arr,
					     numhooks * 8, NULL)) {
				w.bad = 1;
				continue;
			}
			for (h = 0; h < numhooks && !ret; h++)
				if (arr[h] && kh_kernel_ptr(cx->vm, arr[h]))
					ret = check_entries(&w, inum,
							    fam ? "ipv6" : "ipv4",
							    h, arr[h]);
				else if (arr[h])
					w.bad = 1;
		}
	}
	free(nets.addrs);
	kh_addr_set_free(&w.arrays);
	if (ret == -ENOMEM)
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for netfilter hooks");
	if (!ret && w.bad)
		kh_check_problem(cx, KH_CHECK_NETFILTER, 1,
				 "netfilter hooks that could not be read whole");
	return ret;
}
