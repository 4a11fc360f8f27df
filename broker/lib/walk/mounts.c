// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mount namespaces and their mounts, as /proc/PID/mounts and mountinfo
 * show them (kh_mounts; Volatility's mountinfo). The namespaces are
 * those of every process (task->nsproxy->mnt_ns; an exiting task has no
 * nsproxy), in inode order; each one's mounts in the order of its list
 * (mnt_namespace.list of mount.mnt_list, the order /proc lists them),
 * skipping the cursors /proc readers leave in it (MNT_CURSOR).
 *
 * Each mount: its device name, where it is mounted (kh_mount_path(),
 * the d_path() walk lsof uses), its file system's type, and the options
 * show_vfsmnt() prints first: rw/ro (the mount's or the super block's),
 * then the super block's and the mount's generic flags. A file system's
 * own options come from its show_options() callback (tmpfs's mode=,
 * ext4's errors=), code keyhole does not run: they are not read.
 *
 * Up to 6.7 a namespace lists its mounts; 6.8 keeps them in a tree
 * (mnt_namespace.mounts), which this does not read yet: it says so.
 *
 * Where /proc/PID/mounts differs (it is relative to its reader): it
 * leaves out mounts outside the reader's root (a chroot's, or the
 * rootfs under a switch_root'ed disk root), which are listed here with
 * their path from the namespace's root; it mangles space, tab, newline
 * and backslash as \040 and so on, where this keeps the name (made
 * printable in JSON); file systems with a show_devname() (btrfs, nfs)
 * print another device name; idmapped mounts add ",idmapped". A mount
 * namespace no process is in (held by an nsfs file or a bind mount) is
 * not listed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"

/* include/linux/mount.h and fs.h (stable since 5.x) */
#define MNT_NOSUID	0x01
#define MNT_NODEV	0x02
#define MNT_NOEXEC	0x04
#define MNT_NOATIME	0x08
#define MNT_NODIRATIME	0x10
#define MNT_RELATIME	0x20
#define MNT_READONLY	0x40
#define MNT_NOSYMFOLLOW	0x80
#define MNT_CURSOR	0x10000000
#define SB_RDONLY	0x1
#define SB_SYNCHRONOUS	0x10
#define SB_MANDLOCK	0x40
#define SB_DIRSYNC	0x80
#define SB_LAZYTIME	0x2000000

/* Namespaces and mounts in all: more is corruption (or not listed). */
#define MAX_NAMESPACES 65536
#define MAX_MOUNTS (256 * 1024)

enum {
	TASK_NSPROXY, NSPROXY_MNT_NS, MNTNS_LIST, MNTNS_INUM,
	MOUNT_LIST, MOUNT_ID, MOUNT_PARENT, MOUNT_DEVNAME, MOUNT_SB,
	MOUNT_FLAGS, MOUNT_SIZEOF, SB_TYPE, SB_FLAGS, SB_SUBTYPE,
	FSTYPE_NAME,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[TASK_NSPROXY] = { "task_struct", "nsproxy" },
	[NSPROXY_MNT_NS] = { "nsproxy", "mnt_ns" },
	/* Up to 6.7; 6.8 has an rb_root "mounts" instead. */
	[MNTNS_LIST] = { "mnt_namespace", "list", .optional = 1 },
	[MNTNS_INUM] = { "mnt_namespace", "ns.inum" },
	[MOUNT_LIST] = { "mount", "mnt_list" },
	[MOUNT_ID] = { "mount", "mnt_id" },
	[MOUNT_PARENT] = { "mount", "mnt_parent" },
	[MOUNT_DEVNAME] = { "mount", "mnt_devname" },
	[MOUNT_SB] = { "mount", "mnt.mnt_sb" },
	[MOUNT_FLAGS] = { "mount", "mnt.mnt_flags" },
	[MOUNT_SIZEOF] = { "mount", NULL },
	[SB_TYPE] = { "super_block", "s_type" },
	[SB_FLAGS] = { "super_block", "s_flags" },
	/* fuse's "sshfs" in "fuse.sshfs"; absent without CONFIG_FUSE_FS... */
	[SB_SUBTYPE] = { "super_block", "s_subtype", .optional = 1 },
	[FSTYPE_NAME] = { "file_system_type", "name" },
};

static int by_addr(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* The distinct mount namespaces of every process, sorted by address. */
static int namespaces(struct kh_vm *vm, const uint32_t *off,
		      struct kh_addr_list *ns, struct kh_result *result,
		      struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	struct kh_read *reads = NULL;
	uint64_t *ptrs = NULL;
	unsigned int i, n = 0;
	int ret;

	/* Threads too: one can unshare(CLONE_NEWNS) alone. */
	ret = kh_tasks(vm, KH_TASKS_THREADS, &tasks, err);
	if (ret)
		return ret;
	if (tasks->result.flags)
		kh_mark(result, tasks->result.flags, "%s",
			tasks->result.problem);
	reads = calloc(tasks->nr + 1, sizeof(*reads));
	ptrs = calloc(tasks->nr + 1, sizeof(*ptrs));
	ns->addrs = calloc(tasks->nr + 1, sizeof(*ns->addrs));
	if (!reads || !ptrs || !ns->addrs) {
		ret = kh_err_set(err, ENOMEM, "out of memory for mount namespaces");
		goto out;
	}
	for (i = 0; i < tasks->nr; i++)
		reads[i] = (struct kh_read){
			.addr = tasks->tasks[i].addr + off[TASK_NSPROXY],
			.buf = &ptrs[i], .len = 8 };
	ret = kh_kva_fetch(vm, reads, tasks->nr, err);
	if (ret < 0)
		goto out;
	/* nsproxy is NULL once a task has exited its namespaces. */
	for (i = 0, n = 0; i < tasks->nr; i++) {
		if (reads[i].result ||
		    (ptrs[i] && !kh_kernel_ptr_aligned(vm, ptrs[i], 8))) {
			kh_mark(result, KH_RESULT_INCOMPLETE,
				"task %d's namespaces cannot be read",
				tasks->tasks[i].pid);
			continue;
		}
		if (!ptrs[i])
			continue;
		reads[n] = (struct kh_read){
			.addr = ptrs[i] + off[NSPROXY_MNT_NS],
			.buf = &ns->addrs[n], .len = 8 };
		n++;
	}
	ret = n ? kh_kva_fetch(vm, reads, n, err) : 0;
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < n; i++)
		if (reads[i].result ||
		    !kh_kernel_ptr_aligned(vm, ns->addrs[i], 8)) {
			kh_mark(result, KH_RESULT_INCOMPLETE,
				"a mount namespace pointer cannot be read");
			ns->addrs[i] = 0;
		}
	qsort(ns->addrs, n, sizeof(*ns->addrs), by_addr);
	for (i = 0, ns->nr = 0; i < n; i++)
		if (ns->addrs[i] &&
		    (!ns->nr || ns->addrs[ns->nr - 1] != ns->addrs[i]))
			ns->addrs[ns->nr++] = ns->addrs[i];
	if (ns->nr > MAX_NAMESPACES) {
		kh_mark(result, KH_RESULT_INCOMPLETE,
			"more than %d mount namespaces: the rest are not listed",
			MAX_NAMESPACES);
		ns->nr = MAX_NAMESPACES;
	}
out:
	kh_task_list_free(tasks);
	free(reads);
	free(ptrs);
	return ret;
}

/* What one mount's batch reads. */
struct mount_raw {
	int32_t id;
	uint32_t flags;
	uint64_t parent, devname, sb;
	int32_t parent_id;
	uint64_t type, sb_flags, name, subtype;
	int second;		/* index of its second batch, -1, or CURSOR */
};

#define CURSOR (-2)

static void options(const struct mount_raw *r, char *buf, size_t size)
{
	static const struct { uint64_t bit; const char *name; } sb[] = {
		{ SB_SYNCHRONOUS, ",sync" }, { SB_DIRSYNC, ",dirsync" },
		{ SB_MANDLOCK, ",mand" }, { SB_LAZYTIME, ",lazytime" },
	}, mnt[] = {
		{ MNT_NOSUID, ",nosuid" }, { MNT_NODEV, ",nodev" },
		{ MNT_NOEXEC, ",noexec" }, { MNT_NOATIME, ",noatime" },
		{ MNT_NODIRATIME, ",nodiratime" },
		{ MNT_RELATIME, ",relatime" },
		{ MNT_NOSYMFOLLOW, ",nosymfollow" },
	};
	size_t n;
	unsigned int i;

	/* show_vfsmnt(): __mnt_is_readonly(), show_sb_opts, show_mnt_opts. */
	n = snprintf(buf, size, "%s", (r->flags & MNT_READONLY) ||
		     (r->sb_flags & SB_RDONLY) ? "ro" : "rw");
	for (i = 0; i < sizeof(sb) / sizeof(sb[0]); i++)
		if ((r->sb_flags & sb[i].bit) && n < size)
			n += snprintf(buf + n, size - n, "%s", sb[i].name);
	for (i = 0; i < sizeof(mnt) / sizeof(mnt[0]); i++)
		if ((r->flags & mnt[i].bit) && n < size)
			n += snprintf(buf + n, size - n, "%s", mnt[i].name);
}

/* One namespace's mounts, appended to list. */
static int read_ns(struct kh_vm *vm, const uint32_t *off, uint64_t ns,
		   struct kh_mount_list *list, unsigned int *cap,
		   struct kh_err *err)
{
	struct kh_addr_list mounts = { 0 };
	struct mount_raw *raw = NULL;
	struct kh_read *reads = NULL;
	unsigned int i, n, per = 5;
	uint32_t inum = 0;
	int ret;

	ret = kh_kva_u32(vm, ns + off[MNTNS_INUM], &inum);
	if (ret == -ESRCH)
		return kh_err_set(err, ESRCH, "the VM is gone");
	if (ret)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"mount namespace 0x%" PRIx64 "'s inode number cannot be read",
			ns);
	/* What is left of the budget bounds the walk itself. */
	ret = kh_list_walk(vm, ns + off[MNTNS_LIST], off[MOUNT_LIST],
			   MAX_MOUNTS - list->nr, kh_list_collect, &mounts,
			   &list->result, err);
	if (ret || !mounts.nr)
		goto out;
	if (list->nr + mounts.nr > *cap) {
		unsigned int want = list->nr + mounts.nr;
		unsigned int grow = *cap * 2 > want ? *cap * 2 : want;
		struct kh_mount *m = realloc(list->mounts, grow * sizeof(*m));

		if (!m) {
			ret = kh_err_set(err, ENOMEM, "out of memory for mounts");
			goto out;
		}
		list->mounts = m;
		*cap = grow;
	}
	raw = calloc(mounts.nr, sizeof(*raw));
	/* per (5) reads a mount, then 4 more: the first batch's room. */
	reads = calloc(mounts.nr * per, sizeof(*reads));
	if (!raw || !reads) {
		ret = kh_err_set(err, ENOMEM, "out of memory for mounts");
		goto out;
	}
	for (i = 0; i < mounts.nr; i++) {
		uint64_t m = mounts.addrs[i];
		struct kh_read *r = &reads[i * per];

		r[0] = (struct kh_read){ .addr = m + off[MOUNT_ID],
					 .buf = &raw[i].id, .len = 4 };
		r[1] = (struct kh_read){ .addr = m + off[MOUNT_FLAGS],
					 .buf = &raw[i].flags, .len = 4 };
		r[2] = (struct kh_read){ .addr = m + off[MOUNT_PARENT],
					 .buf = &raw[i].parent, .len = 8 };
		r[3] = (struct kh_read){ .addr = m + off[MOUNT_DEVNAME],
					 .buf = &raw[i].devname, .len = 8 };
		r[4] = (struct kh_read){ .addr = m + off[MOUNT_SB],
					 .buf = &raw[i].sb, .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, mounts.nr * per, err);
	if (ret < 0)
		goto out;
	/* Then what they point at: the parent's id, the super block's. */
	for (i = 0, n = 0; i < mounts.nr; i++) {
		const struct kh_read *r = &reads[i * per];

		raw[i].second = -1;
		/* A /proc reader's cursor: zeroed but for its flag. */
		if (!r[1].result && (raw[i].flags & MNT_CURSOR)) {
			raw[i].second = CURSOR;
			continue;
		}
		if (r[0].result || r[1].result || r[2].result ||
		    r[3].result || r[4].result ||
		    !kh_kernel_ptr(vm, raw[i].parent) ||
		    !kh_kernel_ptr(vm, raw[i].sb))
			continue;
		raw[i].second = n;
		reads[n++] = (struct kh_read){
			.addr = raw[i].parent + off[MOUNT_ID],
			.buf = &raw[i].parent_id, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = raw[i].sb + off[SB_TYPE],
					       .buf = &raw[i].type, .len = 8 };
		reads[n++] = (struct kh_read){
			.addr = raw[i].sb + off[SB_FLAGS],
			.buf = &raw[i].sb_flags, .len = 8 };
		reads[n++] = (struct kh_read){
			.addr = raw[i].sb + (off[SB_SUBTYPE] == KH_FIELD_ABSENT ?
					     off[SB_FLAGS] : off[SB_SUBTYPE]),
			.buf = &raw[i].subtype, .len = 8 };
	}
	ret = n ? kh_kva_fetch(vm, reads, n, err) : 0;
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < mounts.nr; i++) {
		struct mount_raw *r = &raw[i];
		struct kh_mount *m = &list->mounts[list->nr];
		int pret;

		/* (reads[] now holds the second batch) */
		if (r->second == CURSOR)
			continue;
		if (r->second < 0 || reads[r->second].result ||
		    reads[r->second + 1].result ||
		    reads[r->second + 2].result) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"mount at 0x%" PRIx64 " cannot be read",
				mounts.addrs[i]);
			continue;
		}
		if (off[SB_SUBTYPE] == KH_FIELD_ABSENT ||
		    reads[r->second + 3].result)
			r->subtype = 0;
		memset(m, 0, sizeof(*m));
		m->addr = mounts.addrs[i];
		m->ns = inum;
		m->id = r->id;
		m->parent_id = r->parent_id;
		/* s_flags is an unsigned long: only its low 32 bits mean. */
		r->sb_flags &= 0xffffffff;
		options(r, m->options, sizeof(m->options));
		/* show_vfsmnt(): no device name is "none". */
		if (!r->devname)
			strcpy(m->devname, "none");
		else if (kh_kva_str(vm, r->devname, m->devname,
				    sizeof(m->devname)))
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"the device name of mount %d cannot be read",
				m->id);
		if (!kh_kernel_ptr(vm, r->type) ||
		    kh_kva_u64(vm, r->type + off[FSTYPE_NAME], &r->name) ||
		    !kh_kernel_ptr(vm, r->name) ||
		    kh_kva_str(vm, r->name, m->fstype, sizeof(m->fstype)))
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"the file system type of mount %d cannot be read",
				m->id);
		/* show_type(): "fuse.sshfs" */
		if (r->subtype && kh_kernel_ptr(vm, r->subtype)) {
			char sub[sizeof(m->fstype)];
			size_t len = strlen(m->fstype);

			if (!kh_kva_str(vm, r->subtype, sub, sizeof(sub)) &&
			    sub[0] && len + 1 + strlen(sub) < sizeof(m->fstype))
				snprintf(m->fstype + len,
					 sizeof(m->fstype) - len, ".%s", sub);
		}
		pret = kh_mount_path(vm, m->addr, m->path, sizeof(m->path));
		if (pret == -ESRCH) {
			ret = pret;
			goto out;
		}
		if (pret)
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"where mount %d is mounted cannot be read",
				m->id);
		list->nr++;
	}
out:
	free(mounts.addrs);
	free(raw);
	free(reads);
	return ret;
}

struct ns_order {
	uint32_t inum;
	uint64_t addr;
};

static int by_inum(const void *a, const void *b)
{
	const struct ns_order *x = a, *y = b;

	return (x->inum > y->inum) - (x->inum < y->inum);
}

/* The namespaces in inode order: the initial one first. */
static struct ns_order *in_order(struct kh_vm *vm, const uint32_t *off,
				 const struct kh_addr_list *ns)
{
	struct ns_order *order = calloc(ns->nr + 1, sizeof(*order));
	unsigned int i;

	if (!order)
		return NULL;
	for (i = 0; i < ns->nr; i++) {
		order[i].addr = ns->addrs[i];
		kh_kva_u32(vm, ns->addrs[i] + off[MNTNS_INUM], &order[i].inum);
	}
	qsort(order, ns->nr, sizeof(*order), by_inum);
	return order;
}

int kh_mounts(struct kh_vm *vm, struct kh_mount_list **listp,
	      struct kh_err *err)
{
	struct ns_order *order = NULL;
	struct kh_addr_list ns = { 0 };
	struct kh_mount_list *list;
	const uint32_t *off;
	unsigned int i, cap = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		return ret;
	if (off[MNTNS_LIST] == KH_FIELD_ABSENT)
		return kh_err_set(err, EOPNOTSUPP,
				  "this kernel keeps a namespace's mounts in a tree (6.8 and later), which keyhole does not read yet");
	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for mounts");
	ret = namespaces(vm, off, &ns, &list->result, err);
	if (!ret) {
		order = in_order(vm, off, &ns);
		if (!order)
			ret = kh_err_set(err, ENOMEM, "out of memory for mounts");
	}
	for (i = 0; !ret && i < ns.nr; i++)
		ret = read_ns(vm, off, order[i].addr, list, &cap, err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
	free(ns.addrs);
	free(order);
	if (ret) {
		kh_mount_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

void kh_mount_list_free(struct kh_mount_list *list)
{
	if (!list)
		return;
	free(list->mounts);
	free(list);
}
