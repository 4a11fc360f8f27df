// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Files' paths read ahead (path_ahead.h).
 *
 * kh_file_path() walks one file at a time from its dentry up to the root,
 * each step a read that needs the step before: through pvreadv a crawl
 * spent about 65 of its 142 process_vm_readv calls there, most of them
 * for one dentry or one superblock. Here the same objects are read for
 * every file at once, breadth first: the files, then their inodes,
 * dentries and mounts, then the superblocks, names, dentry operations,
 * parents and parent mounts, and so on up; each level is one batch, and
 * a dentry or mount that many files share (every path goes through "/")
 * is read once. The walks that follow find their pages in the
 * operation's page cache.
 *
 * Only a hint, like walk/tasks_ahead.c: the values read here only say
 * where to read next, nothing is returned, and every pointer is checked
 * before it is followed. Levels, objects and name lengths are bounded,
 * and the set of objects seen ends any cycle. The reads are kept out of
 * an incremental crawl's log and out of the crawl's trace.
 */
#include <errno.h>
#include <stdlib.h>

#include "kernel/page_cache.h"
#include "walk/dentry_path.h"
#include "walk/path_ahead.h"

/* Objects read ahead in one call at most: the page cache holds 4,096 pages. */
#define MAX_OBJECTS 4096
#define MAX_FILES (MAX_OBJECTS / 4)
#define MAX_READS 6

enum kind { FILE_, INODE, SUPER, DENTRY, NAME, DOPS, MOUNT };

struct object {
	uint64_t addr;
	uint32_t len;		/* a NAME's */
	uint8_t kind;
};

/* What an object's reads bring back: pointers, lengths, a name. */
struct values {
	uint64_t v[4];
	uint32_t len;
	char text[NAME_MAX_LEN];
};

struct ahead {
	struct kh_vm *vm;
	const uint32_t *off;
	struct object *next;
	unsigned int nr_next, total;
	struct kh_addr_set seen;
};

static void queue(struct ahead *a, enum kind what, uint64_t addr, uint32_t len)
{
	int align = what == NAME ? 1 : 8;

	if (a->total >= MAX_OBJECTS ||
	    !kh_kernel_ptr_aligned(a->vm, addr, align))
		return;
	/*
	 * Each object once, whatever leads to it: every path shares "/",
	 * most files a superblock. The kind in the key's top byte keeps a
	 * name apart from the dentry it is in.
	 */
	if (kh_addr_set_add(&a->seen, addr ^ (uint64_t)what << 56) <= 0)
		return;		/* met before (or no memory: it is a hint) */
	a->next[a->nr_next++] = (struct object){ addr, len, what };
	a->total++;
}

/* The reads of one object into its values; how many. */
static unsigned int plan(const struct ahead *a, const struct object *o,
			 struct values *val, struct kh_read *r)
{
	const uint32_t *off = a->off;
	unsigned int n = 0;

#define READ(field, dst, bytes)						\
	(r[n++] = (struct kh_read){ .addr = o->addr + off[field],	\
				    .buf = (dst), .len = (bytes) })
	switch (o->kind) {
	case FILE_:
		READ(F_PATH_MNT, &val->v[0], 8);
		READ(F_PATH_DENTRY, &val->v[1], 8);
		READ(F_INODE, &val->v[2], 8);
		break;
	case INODE:
		READ(I_SB, &val->v[0], 8);
		READ(I_MODE, &val->len, 4);
		READ(I_INO, &val->v[1], 8);
		break;
	case SUPER:
		READ(SB_MAGIC, &val->v[0], 8);
		break;
	case DENTRY:
		READ(D_PARENT, &val->v[0], 8);
		READ(D_NAME, &val->v[1], 8);
		READ(D_OP, &val->v[2], 8);
		READ(D_NAME_LEN, &val->len, 4);
		READ(D_HASH_PPREV, &val->v[3], 8);
		if (off[D_INAME] != KH_FIELD_ABSENT)
			READ(D_INAME, val->text, INLINE_NAME);
		break;
	case NAME:
		r[n++] = (struct kh_read){ .addr = o->addr, .buf = val->text,
					   .len = o->len };
		break;
	case DOPS:
		READ(DOPS_D_DNAME, &val->v[0], 8);
		break;
	case MOUNT:
		READ(MOUNT_PARENT, &val->v[0], 8);
		READ(MOUNT_MOUNTPOINT, &val->v[1], 8);
		r[n++] = (struct kh_read){
			.addr = o->addr + off[MOUNT_MNT] + off[VFSMOUNT_ROOT],
			.buf = &val->v[2], .len = 8 };
		break;
	}
#undef READ
	return n;
}

/* What an object read leads to, queued for the next level. */
static void follow(struct ahead *a, const struct object *o,
		   const struct values *val)
{
	const uint32_t *off = a->off;
	uint32_t len;

	switch (o->kind) {
	case FILE_:
		if (val->v[0] >= off[MOUNT_MNT])
			queue(a, MOUNT, val->v[0] - off[MOUNT_MNT], 0);
		queue(a, DENTRY, val->v[1], 0);
		queue(a, INODE, val->v[2], 0);
		break;
	case INODE:
		queue(a, SUPER, val->v[0], 0);
		break;
	case DENTRY:
		if (val->v[0] != o->addr)
			queue(a, DENTRY, val->v[0], 0);
		len = val->len > NAME_MAX_LEN ? NAME_MAX_LEN : val->len;
		if (len && (off[D_INAME] == KH_FIELD_ABSENT ||
			    val->v[1] != o->addr + off[D_INAME] ||
			    len >= INLINE_NAME))
			queue(a, NAME, val->v[1], len);
		if (val->v[2])
			queue(a, DOPS, val->v[2], 0);
		break;
	case MOUNT:
		if (val->v[0] != o->addr)
			queue(a, MOUNT, val->v[0], 0);
		queue(a, DENTRY, val->v[1], 0);
		break;
	}
}

/* One level: its objects' reads in one batch. 0, or -errno to stop. */
static int level(struct ahead *a, const struct object *objs, unsigned int nr)
{
	struct kh_read *reads = malloc(sizeof(*reads) * nr * MAX_READS);
	struct values *val = malloc(sizeof(*val) * nr);
	unsigned int *first = malloc(sizeof(*first) * (nr + 1));
	unsigned int i, j, n = 0;
	int ret = -ENOMEM;

	if (!reads || !val || !first)
		goto out;
	for (i = 0; i < nr; i++) {
		first[i] = n;
		n += plan(a, &objs[i], &val[i], reads + n);
	}
	first[nr] = n;
	ret = kh_kva_fetch(a->vm, reads, n, NULL);
	if (ret < 0)
		goto out;
	for (i = 0; i < nr; i++) {
		for (j = first[i]; j < first[i + 1] && !reads[j].result; j++)
			;
		if (j == first[i + 1])
			follow(a, &objs[i], &val[i]);
	}
	ret = 0;
out:
	free(reads);
	free(val);
	free(first);
	return ret;
}

void kh_file_paths_read_ahead(struct kh_vm *vm, const uint64_t *files,
			      unsigned int nr)
{
	struct kh_read_ahead_scope scope;
	struct ahead a = { .vm = vm };
	struct object *cur = NULL;
	unsigned int depth, i;

	if (!nr || !kh_page_cache_read_ahead(vm) ||
	    kh_dentry_offsets(vm, &a.off))
		return;
	/* Each object queues at most three, and no level exceeds the cap. */
	cur = malloc(sizeof(*cur) * MAX_OBJECTS);
	a.next = malloc(sizeof(*a.next) * MAX_OBJECTS);
	if (!cur || !a.next)
		goto out;
	/* Room for what the files lead to: a few objects each. */
	for (i = 0; i < nr && i < MAX_FILES; i++)
		queue(&a, FILE_, files[i], 0);
	kh_read_ahead_begin(&scope);
	for (depth = 0; a.nr_next && depth < MAX_DEPTH; depth++) {
		struct object *swap = cur;
		unsigned int n = a.nr_next;

		cur = a.next;
		a.next = swap;
		a.nr_next = 0;
		if (level(&a, cur, n))
			break;
	}
	kh_read_ahead_end(&scope);
out:
	free(cur);
	free(a.next);
	kh_addr_set_free(&a.seen);
}
