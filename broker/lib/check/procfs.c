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
 * proc_create_single() the seq_operations and show function they keep:
 * which of the two the entry's union holds is told by its proc_ops'
 * open function (that of the kernel's proc_seq_ops and proc_net_seq_ops,
 * or of proc_single_ops and proc_net_single_ops), so that a copy of the
 * kernel's proc_ops still has its entry's union judged; a union set under
 * any other proc_ops is judged by where it points (a table in the
 * kernel's data, else code).
 * The tree is walked from proc_root and from each namespace's proc_net
 * (not a child of proc_root: /proc/net is a link to self/net), breadth
 * first, through each directory's rbtree of entries: each entry is one
 * read (its struct, its inline name, and its links in its parent's
 * tree), a level of them one batch. Guest memory is untrusted: the walk
 * is bounded in entries and depth, and an entry seen twice (a cycle) is
 * not followed again.
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
#define MAX_ENTRIES (1u << 18)
#define MAX_DEPTH 16
#define MAX_NETNS 4096

enum {
	PDE_IOPS, PDE_OPS, PDE_DOPS, PDE_SEQ_OPS, PDE_SUBDIR, PDE_NODE,
	PDE_NAME, PDE_MODE, PDE_INLINE_NAME, PDE_SIZE, RB_RIGHT, RB_LEFT,
	NET_LIST, NET_PROC, NET_INUM, OPS_OPEN,
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
	[PDE_INLINE_NAME] = { "proc_dir_entry", "inline_name" },
	[PDE_SIZE] = { "proc_dir_entry", NULL },
	[RB_RIGHT] = { "rb_node", "rb_right" },
	[RB_LEFT] = { "rb_node", "rb_left" },
	[NET_LIST] = { "net", "list" },
	[NET_PROC] = { "net", "proc_net" },
	[NET_INUM] = { "net", "ns.inum" },
	[OPS_OPEN] = { "proc_ops", "proc_open" },
};

/* What an entry's seq_ops/single_show union holds, by its proc_ops. */
enum { UNION_UNKNOWN, UNION_SEQ, UNION_SINGLE };

/* The bytes of an entry read: the struct and a short inline name. */
#define NAME_MAX_ 64
#define RECORD_MAX 1024

/*
 * An entry found: its parent's index (-1 for a root), its name, and
 * whether it was reached through its parent's tree (its own links in
 * that tree then lead to its siblings).
 */
struct entry {
	uint64_t pde;
	int parent;
	uint32_t netns;
	unsigned int depth;
	int in_tree;
	char name[NAME_MAX_];
};

struct walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	uint32_t record;		/* bytes read of each entry */
	struct entry *entries;
	unsigned int nr, cap;
	struct kh_addr_set pdes;	/* every entry reached: no cycles */
	struct kh_addr_set tables;	/* every table judged */
	struct kh_addr_set kinds;	/* proc_ops -> UNION_* + 1 */
	/* The open functions of seq and single entries' proc_ops. */
	uint64_t seq_open[2], single_open[2];
	int bad, full, deep;
};

static int add_entry(struct walk *w, uint64_t pde, int parent,
		     uint32_t netns, unsigned int depth, int in_tree)
{
	int ret;

	if (!kh_kernel_ptr_aligned(w->cx->vm, pde, 8)) {
		w->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&w->pdes, pde);
	if (ret <= 0)
		return ret;
	/* Too deep is one branch left out; too many ends the walk. */
	if (depth > MAX_DEPTH) {
		w->deep = 1;
		return 0;
	}
	if (w->nr == MAX_ENTRIES) {
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
		.in_tree = in_tree,
	};
	return 0;
}

/* An entry from an rb_node of a directory's tree (0: none). */
static int add_node(struct walk *w, uint64_t node, int parent,
		    uint32_t netns, unsigned int depth)
{
	if (!node)
		return 0;
	if (node < w->off[PDE_NODE]) {
		w->bad = 1;
		return 0;
	}
	return add_entry(w, node - w->off[PDE_NODE], parent, netns, depth, 1);
}

/*
 * "/proc/net/tcp": the names up to the root, which is named for itself;
 * as kh_check_where() asks for it, the entry's index in where.
 */
static void entry_path(const struct kh_check_where *where, char *buf,
		       size_t size)
{
	const struct walk *w = where->opaque;
	const char *names[MAX_DEPTH + 2];
	int i = where->index;
	unsigned int n = 0;
	size_t len = 0;

	for (; i >= 0 && n < MAX_DEPTH + 2; i = w->entries[i].parent)
		names[n++] = w->entries[i].name;
	buf[0] = 0;
	while (n-- && len < size)
		len += snprintf(buf + len, size - len, "%s%s",
				len ? "/" : "", names[n]);
}

/* Its name: in the bytes read when inline (the usual case), else read. */
static void entry_name(struct walk *w, struct entry *e, const uint8_t *rec)
{
	uint64_t name = kh_load_u64(rec, w->off[PDE_NAME]);
	uint64_t inline_at = e->pde + w->off[PDE_INLINE_NAME];
	int ok;

	if (name == inline_at &&
	    w->off[PDE_INLINE_NAME] + NAME_MAX_ <= w->record) {
		memcpy(e->name, rec + w->off[PDE_INLINE_NAME], NAME_MAX_);
		ok = memchr(e->name, 0, NAME_MAX_) != NULL;
		e->name[NAME_MAX_ - 1] = 0;
	} else {
		ok = name && !kh_kva_str(w->cx->vm, name, e->name,
					 sizeof(e->name));
	}
	if (!ok || !e->name[0] || strchr(e->name, '/')) {
		w->bad = 1;
		snprintf(e->name, sizeof(e->name), "(entry %#" PRIx64 ")",
			 e->pde);
	}
}

/*
 * The open functions that tell seq entries from single ones, read from
 * the kernel's own proc_ops for each: by name they are ambiguous (fs/proc
 * has two static proc_single_open, one of them /proc/PID's). 0, a fatal
 * -errno, or 1 when one of them is unknown.
 */
static int known_opens(struct walk *w)
{
	static const char *const tables[] = {
		"proc_seq_ops", "proc_net_seq_ops", "proc_single_ops",
		"proc_net_single_ops",
	};
	uint64_t *open[] = { &w->seq_open[0], &w->seq_open[1],
			     &w->single_open[0], &w->single_open[1] };
	unsigned int i;
	int ret, missing = 0;
	uint64_t va;

	/* Each on its own: a kernel without networking has no proc_net_*. */
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		*open[i] = 0;
		if (kh_sym_va(w->cx->vm, tables[i], &va, NULL)) {
			missing = 1;
			continue;
		}
		ret = kh_kva_u64(w->cx->vm, va + w->off[OPS_OPEN], open[i]);
		if (kh_check_fatal(ret))
			return ret;
		if (ret || !*open[i]) {
			*open[i] = 0;
			missing = 1;
		}
	}
	return missing;
}

/* Which of seq_ops and single_show an entry with these proc_ops keeps. */
static int union_kind(struct walk *w, uint64_t ops)
{
	uint64_t open = 0;
	int i = kh_addr_set_find(&w->kinds, ops), kind = UNION_UNKNOWN, ret;

	if (i > 0)
		return i - 1;
	if (!ops || !kh_kernel_ptr_aligned(w->cx->vm, ops, 8))
		return UNION_UNKNOWN;
	ret = kh_kva_u64(w->cx->vm, ops + w->off[OPS_OPEN], &open);
	if (kh_check_fatal(ret))
		return ret;
	if (ret)
		w->bad = 1;
	else if (open && (open == w->seq_open[0] || open == w->seq_open[1]))
		kind = UNION_SEQ;
	else if (open &&
		 (open == w->single_open[0] || open == w->single_open[1]))
		kind = UNION_SINGLE;
	if (kh_addr_set_put(&w->kinds, ops, kind + 1) < 0)
		return -ENOMEM;
	return kind;
}

/*
 * The union of a file entry, seq_ops or single_show, when it is set:
 * as its proc_ops says, or, under proc_ops of no known kind, as where it
 * points says (a table in the kernel's data, else code).
 */
static int judge_union(struct walk *w, uint64_t pde, uint64_t ops,
		       uint64_t value, struct kh_check_where *path,
		       uint32_t netns)
{
	struct kh_check_ctx *cx = w->cx;
	struct kh_check_fn_at at = {
		.where = path, .table = "", .member = "single_show",
		.netns = netns,
	};
	int kind = union_kind(w, ops);

	if (kind < 0)
		return kind;
	if (kind == UNION_UNKNOWN &&
	    value - cx->vm->kernel.text_va < cx->vm->kernel.image_size &&
	    !kh_check_in_text(cx, value))
		kind = UNION_SEQ;
	if (kind == UNION_SEQ)
		return kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, value,
				    KH_OPS_SEQ, path, netns);
	/* The entry is allocated: a listed module's code is right. */
	return kh_check_fn(cx, KH_CHECK_PROCFS, &at, pde + w->off[PDE_SEQ_OPS],
			   value);
}

/*
 * Entry i, as read into rec: its siblings (its links in its parent's
 * tree) and its children (its own tree's root) join the walk, and its
 * tables are judged.
 */
static int visit(struct walk *w, int i, const uint8_t *rec)
{
	struct kh_check_ctx *cx = w->cx;
	const uint32_t *off = w->off;
	struct entry *e = &w->entries[i];
	uint64_t iops = kh_load_u64(rec, off[PDE_IOPS]);
	uint64_t ops = kh_load_u64(rec, off[PDE_OPS]);
	uint64_t dops = kh_load_u64(rec, off[PDE_DOPS]);
	uint64_t seq = kh_load_u64(rec, off[PDE_SEQ_OPS]);
	uint64_t subdir = kh_load_u64(rec, off[PDE_SUBDIR]);
	uint16_t mode;
	uint32_t netns = e->netns;
	int parent = e->parent, dir, ret;
	unsigned int depth = e->depth;
	struct kh_check_where path;

	/* Its buffer is filled only when a finding names the entry. */
	path.text = NULL;
	path.name = entry_path;
	path.opaque = w;
	path.index = i;
	memcpy(&mode, rec + off[PDE_MODE], sizeof(mode));
	/* A root keeps the name it was given ("/proc", "/proc/net"). */
	if (parent >= 0)
		entry_name(w, e, rec);
	cx->report->checks[KH_CHECK_PROCFS].examined++;
	/* A namespace's proc_net is made by hand, with no mode. */
	dir = (mode & S_IFMT_) == S_IFDIR_ || parent < 0;
	ret = kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, iops,
			   KH_OPS_INODE, &path, netns);
	if (!ret)
		ret = kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, ops,
				   dir ? KH_OPS_FILE : KH_OPS_PROC, &path,
				   netns);
	if (!ret)
		ret = kh_check_ops(cx, KH_CHECK_PROCFS, &w->tables, dops,
				   KH_OPS_DENTRY, &path, netns);
	if (!ret && !dir && seq)
		ret = judge_union(w, e->pde, ops, seq, &path, netns);
	/* e may move as entries are added: what it held was copied. */
	if (!ret && e->in_tree) {
		ret = add_node(w, kh_load_u64(rec, off[PDE_NODE] +
					      off[RB_LEFT]), parent, netns,
			       depth);
		if (!ret)
			ret = add_node(w, kh_load_u64(rec, off[PDE_NODE] +
						      off[RB_RIGHT]), parent,
				       netns, depth);
	}
	if (!ret && dir)
		ret = add_node(w, subdir, i, netns, depth + 1);
	return ret;
}

/*
 * Breadth first, a batch at a time: every entry found so far is read in
 * one batch, one read each, and visiting them adds the next batch.
 */
static int walk_entries(struct walk *w)
{
	unsigned int done = 0, i, n;
	struct kh_read *reads = NULL;
	uint8_t *recs = NULL;
	int ret = 0;

	while (!ret && done < w->nr) {
		n = w->nr - done;
		free(reads);
		free(recs);
		reads = calloc(n, sizeof(*reads));
		recs = calloc(n, w->record);
		if (!reads || !recs) {
			ret = -ENOMEM;
			break;
		}
		for (i = 0; i < n; i++)
			reads[i] = (struct kh_read){
				.addr = w->entries[done + i].pde,
				.buf = recs + (size_t)i * w->record,
				.len = w->record };
		ret = kh_kva_fetch(w->cx->vm, reads, n, NULL);
		if (ret < 0)
			break;
		ret = 0;
		for (i = 0; !ret && i < n; i++) {
			if (reads[i].result) {
				w->bad = 1;
				continue;
			}
			ret = visit(w, done + i, recs + (size_t)i * w->record);
		}
		done += n;
	}
	free(reads);
	free(recs);
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
			ret = add_entry(w, pde, -1, inum, 0, 0);
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
	int ret;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_PROCFS, 0,
					"the kernel's text bounds are unknown");
	/* Every member read lies in the record (BTF keeps them in it). */
	if (kh_offsets(cx->vm, fields, NR_FIELDS, &w.off, NULL) ||
	    kh_sym_va(cx->vm, "proc_root", &root, NULL) ||
	    w.off[RB_RIGHT] > 16 || w.off[RB_LEFT] > 16 ||
	    w.off[PDE_SIZE] > RECORD_MAX - NAME_MAX_ ||
	    w.off[PDE_NODE] + 24 > w.off[PDE_SIZE])
		return kh_check_problem(cx, KH_CHECK_PROCFS, 0,
					"this kernel has no /proc keyhole knows (proc_root, struct proc_dir_entry)");
	w.record = w.off[PDE_SIZE] + NAME_MAX_;
	ret = known_opens(&w);
	if (ret > 0) {
		kh_check_problem(cx, KH_CHECK_PROCFS, 1,
				 "the kernel's proc_ops of seq and single /proc files are not all known: the seq_ops and show of some files are judged by where they point");
		ret = 0;
	}
	if (!ret)
		ret = add_entry(&w, root, -1, 0, 0, 0);
	if (!ret && w.nr)
		snprintf(w.entries[0].name, sizeof(w.entries[0].name), "/proc");
	if (!ret)
		ret = add_netns_roots(&w);
	if (!ret)
		ret = walk_entries(&w);
	if (ret == -ENOMEM)
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for /proc entries");
	if (ret < 0)
		ret = kh_check_fatal_err(cx, ret);
	if (!ret && w.full)
		kh_check_problem(cx, KH_CHECK_PROCFS, 1,
				 "more than %u /proc entries: the rest were not read",
				 MAX_ENTRIES);
	else if (!ret && w.deep)
		kh_check_problem(cx, KH_CHECK_PROCFS, 1,
				 "/proc directories deeper than %u: their entries were not read",
				 MAX_DEPTH);
	else if (!ret && w.bad)
		kh_check_problem(cx, KH_CHECK_PROCFS, 1,
				 "parts of the /proc tree could not be read or were not entries");
	kh_addr_set_free(&w.pdes);
	kh_addr_set_free(&w.tables);
	kh_addr_set_free(&w.kinds);
	free(w.entries);
	return ret;
}
