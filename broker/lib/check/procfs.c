// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hooked /proc operations (Volatility's check_afinfo, and more): every
 * entry of /proc and of each network namespace's /proc/net is a struct
 * proc_dir_entry holding the operations its files are read with. A
 * rootkit hides its sockets by replacing the show() of tcp4_seq_ops
 * (what /proc/net/tcp, netstat and ss -F read), or hides processes by
 * hooking the iterate of /proc's root directory; either way a table
 * leads where it must not (check/ops.c says where it must).
 *
 * Each entry's inode, dentry and file (or directory) operations are
 * judged, and for entries made by proc_create_seq() and
 * proc_create_single() the seq_operations and show function they keep.
 * The tree is walked from proc_root and from each namespace's proc_net
 * (not a child of proc_root: /proc/net is a link to self/net), breadth
 * first, through each directory's rbtree of entries. Guest memory is
 * untrusted: the walk is bounded in entries and depth, and an entry seen
 * twice (a cycle) is not followed again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

#define S_IFMT_ 0170000
#define S_IFDIR_ 0040000
/* More /proc entries than this is no kernel's (a few hundred per netns). */
#define MAX_ENTRIES 65536
#define MAX_DEPTH 16
#define MAX_NETNS 4096
/* A directory's entries are reached through an rbtree of this height. */
#define MAX_RB_STACK 128

enum {
	PDE_IOPS, PDE_OPS, PDE_DOPS, PDE_SEQ_OPS, PDE_SUBDIR, PDE_NODE,
	PDE_NAME, PDE_MODE, RB_RIGHT, RB_LEFT, NET_LIST, NET_PROC, NET_INUM,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[PDE_IOPS] = { "proc_dir_entry", "proc_iops" },
	[PDE_OPS] = { "proc_dir_entry", "proc_ops" },
	[PDE_DOPS] = { "proc_dir_entry", "proc_dops" },
	[PDE_SEQ_OPS] = { "proc_dir_entry", "seq_ops" },
	[PDE_SUBDIR] = { "proc_dir_entry", "subdir" },
	[PDE_NODE] = { "proc_dir_entry", "subdir_node" },
	[PDE_NAME] = { "proc_dir_entry", "name" },
	[PDE_MODE] = { "proc_dir_entry", "mode" },
	[RB_RIGHT] = { "rb_node", "rb_right" },
	[RB_LEFT] = { "rb_node", "rb_left" },
	[NET_LIST] = { "net", "list" },
	[NET_PROC] = { "net", "proc_net" },
	[NET_INUM] = { "net", "ns.inum" },
};

/* An entry found: its parent's index (-1 for a root) and its name. */
struct entry {
	uint64_t pde;
	int parent;
	uint32_t netns;
	unsigned int depth;
	char name[64];
};

struct walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	struct entry *entries;
	unsigned int nr, cap;
	struct kh_addr_set pdes;	/* every entry reached: no cycles */
	struct kh_addr_set tables;	/* every table judged */
	/* proc_ops of the entries that keep seq_ops or single_show. */
	uint64_t seq[2], single[2];
	int bad, full;
};

static int add_entry(struct walk *w, uint64_t pde, int parent,
		     uint32_t netns, unsigned int depth)
{
	int ret;

	if (!kh_kernel_ptr_aligned(w->cx->vm, pde, 8)) {
		w->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&w->pdes, pde);
	if (ret <= 0)
		return ret;
	if (w->nr == MAX_ENTRIES || depth > MAX_DEPTH) {
		w->full = 1;
		return 0;
	}
	if (w->nr == w->cap) {
		unsigned int cap = w->cap ? w->cap * 2 : 256;
		struct entry *n = realloc(w->entries, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->entries = n;
		w->cap = cap;
	}
	w->entries[w->nr++] = (struct entry){
		.pde = pde, .parent = parent, .netns = netns, .depth = depth,
	};
	return 0;
}

/* "/proc/net/tcp": the names up to the root, which is named for itself. */
static void entry_path(const struct walk *w, int i, char *buf, size_t size)
{
	const char *names[MAX_DEPTH + 2];
	unsigned int n = 0;
	size_t len = 0;

	for (; i >= 0 && n < MAX_DEPTH + 2; i = w->entries[i].parent)
		names[n++] = w->entries[i].name;
	buf[0] = 0;
	while (n-- && len < size)
		len += snprintf(buf + len, size - len, "%s%s",
				len ? "/" : "", names[n]);
}

/* Adds the entries of the rbtree at root, children of entry i. */
static int add_children(struct walk *w, int i, uint64_t root)
{
	const struct entry *e = &w->entries[i];
	uint32_t netns = e->netns, depth = e->depth + 1;
	uint64_t stack[MAX_RB_STACK], node[3];
	unsigned int sp = 0;
	int ret;

	if (root)
		stack[sp++] = root;
	while (sp) {
		uint64_t at = stack[--sp];
		unsigned int before = w->pdes.nr;

		if (!kh_kernel_ptr_aligned(w->cx->vm, at, 8) ||
		    at < w->off[PDE_NODE]) {
			w->bad = 1;
			continue;
		}
		ret = add_entry(w, at - w->off[PDE_NODE], i, netns, depth);
		if (ret)
			return ret;
		/* Seen before, or not a pointer: not followed again. */
		if (w->pdes.nr == before || w->full)
			continue;
		ret = kh_kva_fetch_one(w->cx->vm, at, node, sizeof(node), NULL);
		if (ret == -ESRCH)
			return ret;
		if (ret) {
			w->bad = 1;
			continue;
		}
		if (sp + 2 > MAX_RB_STACK) {
			w->bad = 1;
			continue;
		}
		if (node[w->off[RB_RIGHT] / 8])
			stack[sp++] = node[w->off[RB_RIGHT] / 8];
		if (node[w->off[RB_LEFT] / 8])
			stack[sp++] = node[w->off[RB_LEFT] / 8];
	}
	return 0;
}

/* Reads entry i, judges its tables and adds its children. */
static int visit(struct walk *w, int i)
{
	struct kh_check_ctx *cx = w->cx;
	const uint32_t *off = w->off;
	uint64_t iops = 0, ops = 0, dops = 0, seq = 0, subdir = 0, name = 0;
	uint16_t mode = 0;
	struct kh_read r[] = {
		{ .addr = w->entries[i].pde + off[PDE_IOPS], .buf = &iops, .len = 8 },
		{ .addr = w->entries[i].pde + off[PDE_OPS], .buf = &ops, .len = 8 },
		{ .addr = w->entries[i].pde + off[PDE_DOPS], .buf = &dops, .len = 8 },
		{ .addr = w->entries[i].pde + off[PDE_SEQ_OPS], .buf = &seq, .len = 8 },
		{ .addr = w->entries[i].pde + off[PDE_SUBDIR], .buf = &subdir, .len = 8 },
		{ .addr = w->entries[i].pde + off[PDE_NAME], .buf = &name, .len = 8 },
		{ .addr = w->entries[i].pde + off[PDE_MODE], .buf = &mode, .len = 2 },
	};
	char path[256];
	uint32_t netns = w->entries[i].netns;
	int dir, ret;

	ret = kh_kva_fetch(cx->vm, r, sizeof(r) / sizeof(r[0]), NULL);
	if (ret == -ESRCH)
		return ret;
	if (ret) {
		w->bad = 1;
		return 0;
	}
	/* A root keeps the name it was given ("/proc", "/proc/net"). */
	if (w->entries[i].parent >= 0 &&
	    (!name || kh_kva_str(cx->vm, name, w->entries[i].name,
				 sizeof(w->entries[i].name)) ||
	     !w->entries[i].name[0] || strchr(w->entries[i].name, '/'))) {
		w->bad = 1;
		snprintf(w->entries[i].name, sizeof(w->entries[i].name),
			 "(entry %#" PRIx64 ")", w->entries[i].pde);
	}
	cx->report->checks[KH_CHECK_PROCFS].examined++;
	entry_path(w, i, path, sizeof(path));
	/* A namespace's proc_net is made by hand, with no mode. */
	dir = (mode & S_IFMT_) == S_IFDIR_ || w->entries[i].parent < 0;
	ret = kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, iops,
			   "inode_operations", path, netns);
	if (!ret)
		ret = kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, ops,
				   dir ? "file_operations" : "proc_ops", path,
				   netns);
	if (!ret)
		ret = kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, dops,
				   "dentry_operations", path, netns);
	if (!ret && !dir && ops && (ops == w->seq[0] || ops == w->seq[1]))
		ret = kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, seq,
				   "seq_operations", path, netns);
	if (!ret && !dir && ops && (ops == w->single[0] || ops == w->single[1])) {
		/* The entry is allocated: a listed module's code is right. */
		struct kh_check_fn_at at = {
			.where = path, .table = "", .member = "single_show",
			.netns = netns,
		};

		ret = kh_check_fn(cx, KH_CHECK_PROCFS, &at,
				  w->entries[i].pde + off[PDE_SEQ_OPS], seq);
	}
	if (!ret && dir)
		ret = add_children(w, i, subdir);
	return ret;
}

/* Each network namespace's /proc/net, as a root of its own. */
static int add_netns_roots(struct walk *w)
{
	struct kh_check_ctx *cx = w->cx;
	struct kh_result result = { 0 };
	struct kh_addr_list nets = { 0 };
	uint64_t head;
	unsigned int i;
	int ret;

	if (kh_sym_va(cx->vm, "net_namespace_list", &head, NULL)) {
		w->bad = 1;
		return 0;
	}
	ret = kh_list_walk(cx->vm, head, w->off[NET_LIST], MAX_NETNS,
			   kh_list_collect, &nets, &result, cx->err);
	if (result.flags & KH_RESULT_INCOMPLETE)
		w->bad = 1;
	for (i = 0; !ret && i < nets.nr; i++) {
		uint64_t pde = 0;
		uint32_t inum = 0;
		struct kh_read r[2] = {
			{ .addr = nets.addrs[i] + w->off[NET_PROC], .buf = &pde,
			  .len = 8 },
			{ .addr = nets.addrs[i] + w->off[NET_INUM], .buf = &inum,
			  .len = 4 },
		};

		ret = kh_kva_fetch(cx->vm, r, 2, NULL);
		if (ret > 0 || (!ret && !pde)) {
			w->bad = 1;
			ret = 0;
			continue;
		}
		if (!ret) {
			ret = add_entry(w, pde, -1, inum, 0);
			if (!ret && w->nr && w->entries[w->nr - 1].pde == pde)
				snprintf(w->entries[w->nr - 1].name,
					 sizeof(w->entries[0].name), "/proc/net");
		}
	}
	free(nets.addrs);
	return ret;
}

int kh_check_procfs(struct kh_check_ctx *cx)
{
	struct walk w = { .cx = cx };
	uint64_t root;
	unsigned int i;
	int ret;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_PROCFS, 0,
					"the kernel's text bounds are unknown");
	/* rb_node is three words; its links are two of them. */
	if (kh_offsets(cx->vm, fields, NR_FIELDS, &w.off, NULL) ||
	    kh_sym_va(cx->vm, "proc_root", &root, NULL) ||
	    w.off[RB_RIGHT] > 16 || w.off[RB_LEFT] > 16 ||
	    w.off[RB_RIGHT] % 8 || w.off[RB_LEFT] % 8)
		return kh_check_problem(cx, KH_CHECK_PROCFS, 0,
					"this kernel has no /proc keyhole knows (proc_root, struct proc_dir_entry)");
	kh_sym_va(cx->vm, "proc_seq_ops", &w.seq[0], NULL);
	kh_sym_va(cx->vm, "proc_net_seq_ops", &w.seq[1], NULL);
	kh_sym_va(cx->vm, "proc_single_ops", &w.single[0], NULL);
	kh_sym_va(cx->vm, "proc_net_single_ops", &w.single[1], NULL);
	ret = add_entry(&w, root, -1, 0, 0);
	if (!ret && w.nr)
		snprintf(w.entries[0].name, sizeof(w.entries[0].name), "/proc");
	if (!ret)
		ret = add_netns_roots(&w);
	/* Breadth first: visit() appends the children it finds. */
	for (i = 0; !ret && i < w.nr; i++)
		ret = visit(&w, i);
	if (ret == -ENOMEM)
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for /proc entries");
	if (ret == -ESRCH && cx->err->code != ESRCH)
		ret = kh_err_set(cx->err, ESRCH, "the VM is gone");
	if (!ret && w.full)
		kh_check_problem(cx, KH_CHECK_PROCFS, 1,
				 "more than %u /proc entries, or deeper than %u: the rest were not read",
				 MAX_ENTRIES, MAX_DEPTH);
	else if (!ret && w.bad)
		kh_check_problem(cx, KH_CHECK_PROCFS, 1,
				 "parts of the /proc tree could not be read or were not entries");
	kh_addr_set_free(&w.pdes);
	kh_addr_set_free(&w.tables);
	free(w.entries);
	return ret;
}
