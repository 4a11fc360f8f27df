// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The path of an open file, as the guest's d_path() would print it for
 * /proc/PID/fd/N: dentry names from the file up to its mount's root, then
 * across the mount point into the parent mount, up to the root mount (so
 * /dev/null is found through devtmpfs's mount on /dev, not as "/null").
 * Files of pseudo filesystems have no path; they are named the way their
 * d_dname() does: "pipe:[ino]", "socket:[ino]", "anon_inode:[eventfd]".
 * Depth and lengths are bounded: a hostile dentry chain ends the walk.
 *
 * Within one operation a path is walked once per mount and dentry: every
 * process maps the C library, most hold /dev/null open, and walking to the
 * root again for each was a tenth of a crawl through memmap. The memo
 * lives as long as the operation's page-cache scope (kh_page_cache_epoch,
 * which kh_vm_fresh ends too). Through a cached technique that is as old
 * as the pages the walk would have read; through memmap, which reads the
 * live guest, a path is as of its first walk in the crawl, which is no
 * older than the crawl itself: a rename during it may or may not show,
 * as it may or may not for a walk that comes to it at another moment.
 * A dentry reused for another file meanwhile has another inode, which
 * is part of the key; a struct file met again is taken from the memo
 * only if its inode still has the number and mode it had. It stays
 * off while a part's reads are logged (an incremental crawl's processes):
 * a path taken from it would leave the walk's reads out of the log, and
 * the log must account for everything the part's result depends on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/page_cache.h"
#include "kernel/read_log.h"
#include "walk/dentry_path.h"

#define PIPEFS_MAGIC		0x50495045
#define SOCKFS_MAGIC		0x534F434B
#define ANON_INODE_FS_MAGIC	0x09041934

static const struct kh_field fields[KH_DENTRY_NR_FIELDS] = {
	[F_PATH_MNT] = { "file", "f_path.mnt" },
	[F_PATH_DENTRY] = { "file", "f_path.dentry" },
	[F_INODE] = { "file", "f_inode" },
	[D_PARENT] = { "dentry", "d_parent" },
	[D_NAME] = { "dentry", "d_name.name" },
	[D_NAME_LEN] = { "dentry", "d_name.len" },
	[D_HASH_PPREV] = { "dentry", "d_hash.pprev" },
	[D_INAME] = { "dentry", "d_iname", "d_shortname.string", 1 },
	[D_OP] = { "dentry", "d_op" },
	[DOPS_D_DNAME] = { "dentry_operations", "d_dname" },
	[I_MODE] = { "inode", "i_mode" },
	[I_INO] = { "inode", "i_ino" },
	[I_SB] = { "inode", "i_sb" },
	[SB_MAGIC] = { "super_block", "s_magic" },
	[MOUNT_MNT] = { "mount", "mnt" },
	[MOUNT_PARENT] = { "mount", "mnt_parent" },
	[MOUNT_MOUNTPOINT] = { "mount", "mnt_mountpoint" },
	[VFSMOUNT_ROOT] = { "vfsmount", "mnt_root" },
};

int kh_dentry_offsets(struct kh_vm *vm, const uint32_t **off)
{
	return kh_offsets(vm, fields, KH_DENTRY_NR_FIELDS, off, NULL);
}

/* One batch of reads: 0, or -errno (-EFAULT if any part failed). */
static int read_batch(struct kh_vm *vm, struct kh_read *reads,
		      unsigned int nr)
{
	int ret = kh_kva_fetch(vm, reads, nr, NULL);

	return ret < 0 ? ret : ret ? -EFAULT : 0;
}

#define MEMO_SLOTS	1024		/* a power of two */
#define MEMO_TEXT	(128 * 1024)

/*
 * A file is its mount and dentry; the inode and its number are in the
 * key too, so that a dentry freed and given to another file during the
 * crawl is not taken for the one it was.
 */
struct memo_key {
	uint64_t mnt, dentry, inode, ino;
};

struct memo_slot {
	struct memo_key key;
	uint64_t stamp;			/* the memo's, when kept */
	uint32_t at;			/* text[at], NUL-terminated */
	size_t size;			/* of the buffer it was walked for */
};

/*
 * A struct file, keyed by its address and its f_path and f_inode, with
 * what its inode says: a forked process shares its parent's files and
 * mapped files, and resolving each again cost three reads before the
 * path memo was even asked. Its text is the path memo's where the path
 * is one (a file slot adds no copy of it).
 */
struct file_slot {
	struct memo_slot path;		/* key.ino is the struct file */
	uint64_t ino;
	uint32_t mode;
};

/*
 * Everything kept is under one stamp, which changes when the page
 * cache's epoch does and when the text fills (then the memo starts
 * again, rather than stop keeping anything for the rest of a crawl).
 */
struct path_memo {
	uint64_t epoch;			/* the page cache's, when last seen */
	uint64_t stamp;
	uint32_t used;			/* of text, this stamp */
	struct memo_slot slot[MEMO_SLOTS];
	struct file_slot file[MEMO_SLOTS];
	char text[MEMO_TEXT];
};

static __thread struct path_memo *path_memo;
static pthread_key_t memo_key;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;

static void memo_key_create(void)
{
	pthread_key_create(&memo_key, free);
}

/* The memo of this operation, or NULL (no operation, out of memory). */
static struct path_memo *memo_get(struct kh_vm *vm)
{
	uint64_t epoch = kh_page_cache_epoch(vm);
	struct path_memo *m = path_memo;

	if (!epoch || kh_logging)
		return NULL;
	if (!m) {
		pthread_once(&memo_once, memo_key_create);
		m = calloc(1, sizeof(*m));
		if (!m)
			return NULL;
		path_memo = m;
		pthread_setspecific(memo_key, m);
	}
	if (m->epoch != epoch) {
		m->epoch = epoch;
		m->stamp++;
		m->used = 0;
	}
	return m;
}

static struct memo_slot *memo_slot(struct path_memo *m,
				   const struct memo_key *k)
{
	uint64_t h = (k->mnt ^ (k->dentry * 0x9e3779b97f4a7c15ULL)) >> 32;

	return &m->slot[h & (MEMO_SLOTS - 1)];
}

/* Copies the path slot s keeps for k into buf: 0 when it keeps none. */
static int slot_get(const struct path_memo *m, const struct memo_slot *s,
		    const struct memo_key *k, char *buf, size_t size)
{
	if (s->stamp != m->stamp || memcmp(&s->key, k, sizeof(*k)) ||
	    s->size != size)
		return 0;
	strcpy(buf, m->text + s->at);
	return 1;
}

#define NO_TEXT	UINT32_MAX

/*
 * Keeps buf in s as the path of k (a collision replaces), in the text at
 * at if buf is there already: where it is kept, or NO_TEXT.
 */
static uint32_t slot_put(struct path_memo *m, struct memo_slot *s,
			 const struct memo_key *k, const char *buf,
			 size_t size, uint32_t at)
{
	size_t len = strlen(buf) + 1;

	if (at == NO_TEXT) {
		if (len > MEMO_TEXT)
			return NO_TEXT;
		if (len > MEMO_TEXT - m->used) {
			m->stamp++;
			m->used = 0;
		}
		memcpy(m->text + m->used, buf, len);
		at = m->used;
		m->used += len;
	}
	*s = (struct memo_slot){ .key = *k, .stamp = m->stamp, .at = at,
				 .size = size };
	return at;
}

/* buf from the memo, and where its text is (or NO_TEXT): 1, else 0. */
static int memo_find(struct path_memo *m, const struct memo_key *k,
		     char *buf, size_t size, uint32_t *at)
{
	const struct memo_slot *s;

	if (!m)
		return 0;
	s = memo_slot(m, k);
	if (!slot_get(m, s, k, buf, size))
		return 0;
	*at = s->at;
	return 1;
}

static uint32_t memo_put(struct path_memo *m, const struct memo_key *k,
			 const char *buf, size_t size)
{
	return m ? slot_put(m, memo_slot(m, k), k, buf, size, NO_TEXT) :
		   NO_TEXT;
}

/*
 * A superblock's magic, kept by the same rule as the memo: a crawl's
 * files live on a handful of filesystems, and reading the magic again
 * for each file was a third of its reads.
 */
#define SB_MEMO_BITS	3
#define SB_MEMO		(1 << SB_MEMO_BITS)

struct sb_memo {
	uint64_t epoch, sb, magic;
};

static __thread struct sb_memo sb_memo[SB_MEMO];

static struct file_slot *file_slot(struct path_memo *m,
				   const struct memo_key *k)
{
	uint64_t h = (k->ino * 0x9e3779b97f4a7c15ULL) >> 32;

	return &m->file[h & (MEMO_SLOTS - 1)];
}

/*
 * The memo's word on a file, when it has one. Through a technique that
 * reads the live guest (memmap) the struct file, dentry and inode at the
 * key's addresses may have been freed and given to another file since
 * the memo took them: the inode's number and mode are read again and
 * must be what they were. Through the page cache they are the pages the
 * memo took them from.
 */
static int file_find(struct kh_vm *vm, const uint32_t *off,
		     struct path_memo *m, const struct memo_key *k, char *buf,
		     size_t size, uint64_t *ino, uint32_t *mode)
{
	struct file_slot *f;
	uint64_t inum = 0;
	uint32_t imode = 0;

	if (!m)
		return 0;
	f = file_slot(m, k);
	if (!slot_get(m, &f->path, k, buf, size))
		return 0;
	if (!kh_page_cache_on(vm)) {
		struct kh_read reads[] = {
			{ .addr = k->inode + off[I_MODE], .buf = &imode,
			  .len = 4 },
			{ .addr = k->inode + off[I_INO], .buf = &inum,
			  .len = 8 },
		};

		if (read_batch(vm, reads, 2) || inum != f->ino ||
		    (imode & 0xffff) != f->mode)
			return 0;
	}
	*ino = f->ino;
	*mode = f->mode;
	return 1;
}

static void file_put(struct path_memo *m, const struct memo_key *k,
		     const char *buf, size_t size, uint64_t ino, uint32_t mode,
		     uint32_t at)
{
	struct file_slot *f;

	if (!m)
		return;
	f = file_slot(m, k);
	if (slot_put(m, &f->path, k, buf, size, at) != NO_TEXT) {
		f->ino = ino;
		f->mode = mode;
	}
}

/* What the walk needs of one dentry, read in one batch. */
struct dentry_view {
	uint64_t dentry, parent, name;
	uint32_t len;
	int has_iname;
	char iname[INLINE_NAME];
};

static int read_dentry(struct kh_vm *vm, const uint32_t *off,
		       uint64_t dentry, struct dentry_view *d,
		       uint64_t mount_root_va, uint64_t *mount_root)
{
	struct kh_read reads[5] = {
		{ .addr = dentry + off[D_PARENT], .buf = &d->parent,
		  .len = 8 },
		{ .addr = dentry + off[D_NAME], .buf = &d->name, .len = 8 },
		{ .addr = dentry + off[D_NAME_LEN], .buf = &d->len,
		  .len = 4 },
	};
	unsigned int nr = 3;

	d->dentry = dentry;
	d->has_iname = off[D_INAME] != KH_FIELD_ABSENT;
	if (d->has_iname)
		reads[nr++] = (struct kh_read){ .addr = dentry + off[D_INAME],
						.buf = d->iname,
						.len = INLINE_NAME };
	if (mount_root)
		reads[nr++] = (struct kh_read){ .addr = mount_root_va,
						.buf = mount_root, .len = 8 };
	return read_batch(vm, reads, nr);
}

/* Prepends "/name" to the path being built backwards in buf[0..*start). */
static int prepend_name(struct kh_vm *vm, const uint32_t *off,
			const struct dentry_view *d, char *buf, size_t *start)
{
	char name[NAME_MAX_LEN + 1];
	uint32_t len = d->len;
	size_t n;

	if (!kh_kernel_ptr(vm, d->name))
		return -EFAULT;
	if (len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	if (d->has_iname && d->name == d->dentry + off[D_INAME] &&
	    len < INLINE_NAME) {
		/* Read with the dentry: no read of its own. */
		memcpy(name, d->iname, len);
		name[len] = '\0';
	} else if (kh_kva_str(vm, d->name, name, len + 1)) {
		return -EFAULT;
	}
	n = strlen(name);
	if (n + 1 > *start)
		return -ENAMETOOLONG;
	*start -= n;
	memcpy(buf + *start, name, n);
	buf[--*start] = '/';
	return 0;
}

static int prepend(struct kh_vm *vm, const uint32_t *off, uint64_t dentry,
		   char *buf, size_t *start)
{
	struct dentry_view d;
	int ret = read_dentry(vm, off, dentry, &d, 0, NULL);

	return ret ? ret : prepend_name(vm, off, &d, buf, start);
}

/*
 * Per level one batch (the dentry's parent and name, the mount's root),
 * then the name; crossing a mount one batch more.
 */
static int walk_to_root(struct kh_vm *vm, const uint32_t *off,
			uint64_t mount, uint64_t dentry, char *buf,
			size_t size)
{
	size_t start = size - 1;
	unsigned int depth;
	int ret;

	buf[start] = '\0';
	for (depth = 0; depth < MAX_DEPTH; depth++) {
		uint64_t root, parent_mount, mountpoint;
		struct dentry_view d;

		ret = read_dentry(vm, off, dentry, &d,
				  mount + off[MOUNT_MNT] + off[VFSMOUNT_ROOT],
				  &root);
		if (ret)
			return ret;
		if (dentry == root) {
			/* At the top of this mount: cross to where it sits. */
			struct kh_read reads[] = {
				{ .addr = mount + off[MOUNT_PARENT],
				  .buf = &parent_mount, .len = 8 },
				{ .addr = mount + off[MOUNT_MOUNTPOINT],
				  .buf = &mountpoint, .len = 8 },
			};

			ret = read_batch(vm, reads, 2);
			if (ret)
				return ret;
			if (parent_mount == mount)
				break;
			if (!kh_kernel_ptr(vm, mountpoint) ||
			    !kh_kernel_ptr(vm, parent_mount))
				return -EFAULT;
			dentry = mountpoint;
			mount = parent_mount;
			continue;
		}
		/* A disconnected root: d_path() stops there too. */
		if (d.parent == dentry || !kh_kernel_ptr(vm, d.parent))
			break;
		ret = prepend_name(vm, off, &d, buf, &start);
		if (ret)
			return ret;
		dentry = d.parent;
	}
	if (depth == MAX_DEPTH)
		return -ELOOP;
	if (start == size - 1)
		buf[--start] = '/';
	memmove(buf, buf + start, size - start);
	return 0;
}

/*
 * Files made by alloc_file_pseudo() on a mountable filesystem (memfd,
 * shared anonymous mappings, SysV shm on tmpfs) have a dentry outside
 * any tree whose d_op->d_dname is simple_dname(): d_path() gives
 * "/NAME (deleted)". 0 when buf holds that name, 1 when the file is not
 * one of them, -errno.
 */
static int simple_dname(struct kh_vm *vm, const uint32_t *off, uint64_t mnt,
			uint64_t dentry, char *buf, size_t size)
{
	uint64_t d_op, d_dname, parent, root, va;
	char name[NAME_MAX_LEN + 2];
	size_t start = sizeof(name) - 1;

	if (kh_kva_u64(vm, dentry + off[D_OP], &d_op))
		return -EFAULT;
	if (!d_op)
		return 1;
	if (!kh_kernel_ptr(vm, d_op) ||
	    kh_kva_u64(vm, d_op + off[DOPS_D_DNAME], &d_dname) ||
	    kh_kva_u64(vm, dentry + off[D_PARENT], &parent) ||
	    kh_kva_u64(vm, mnt + off[VFSMOUNT_ROOT], &root))
		return -EFAULT;
	/* d_path() leaves a mounted pseudo filesystem's root to the walk. */
	if (!d_dname || (parent == dentry && dentry == root) ||
	    kh_sym_va(vm, "simple_dname", &va, NULL) || d_dname != va)
		return 1;
	name[start] = '\0';
	if (prepend(vm, off, dentry, name, &start))
		return -EFAULT;
	snprintf(buf, size, "%s (deleted)", name + start);
	return 0;
}

static int sb_magic(struct kh_vm *vm, const uint32_t *off, uint64_t sb,
		    uint64_t *magic)
{
	uint64_t epoch = kh_logging ? 0 : kh_page_cache_epoch(vm);
	/* Superblocks are kmalloc'd 2 KiB apart: a hash, not low bits. */
	struct sb_memo *m =
		&sb_memo[(sb * 0x9e3779b97f4a7c15ULL) >> (64 - SB_MEMO_BITS)];

	if (epoch && m->epoch == epoch && m->sb == sb) {
		*magic = m->magic;
		return 0;
	}
	if (kh_kva_u64(vm, sb + off[SB_MAGIC], magic))
		return -EFAULT;
	if (epoch)
		*m = (struct sb_memo){ .epoch = epoch, .sb = sb,
				       .magic = *magic };
	return 0;
}

/*
 * Inode number, mode and path of the file whose f_path is (mnt, dentry)
 * and f_inode inode; *at is where the path memo keeps the path, or
 * NO_TEXT.
 */
static int resolve(struct kh_vm *vm, const uint32_t *off,
		   struct path_memo *memo, uint64_t mnt, uint64_t dentry,
		   uint64_t inode, char *buf, size_t size, uint64_t *ino,
		   uint32_t *mode, uint32_t *at)
{
	uint64_t sb, magic, pprev, parent, inum = 0;
	struct memo_key key;
	uint32_t imode = 0;
	int ret;

	{
		/* i_mode is a umode_t: read 4 bytes, keep 16. */
		struct kh_read reads[] = {
			{ .addr = inode + off[I_MODE], .buf = &imode,
			  .len = 4 },
			{ .addr = inode + off[I_INO], .buf = &inum, .len = 8 },
			{ .addr = inode + off[I_SB], .buf = &sb, .len = 8 },
		};

		ret = read_batch(vm, reads, 3);
		if (ret)
			return ret;
	}
	if (!kh_kernel_ptr(vm, sb))
		return -EFAULT;
	ret = sb_magic(vm, off, sb, &magic);
	if (ret)
		return ret;
	*ino = inum;
	*mode = imode & 0xffff;

	switch (magic) {
	case PIPEFS_MAGIC:
		snprintf(buf, size, "pipe:[%llu]", (unsigned long long)inum);
		return 0;
	case SOCKFS_MAGIC:
		snprintf(buf, size, "socket:[%llu]", (unsigned long long)inum);
		return 0;
	case ANON_INODE_FS_MAGIC: {
		char name[NAME_MAX_LEN + 2];
		size_t start = sizeof(name) - 1;

		name[start] = '\0';
		if (prepend(vm, off, dentry, name, &start))
			return -EFAULT;
		/* prepend() gave "/[eventfd]": d_dname says "anon_inode:". */
		snprintf(buf, size, "anon_inode:%s", name + start + 1);
		return 0;
	}
	}
	if (!kh_kernel_ptr(vm, mnt))
		return -EFAULT;
	key = (struct memo_key){ .mnt = mnt, .dentry = dentry,
				 .inode = inode, .ino = inum };
	if (memo_find(memo, &key, buf, size, at))
		return 0;
	ret = simple_dname(vm, off, mnt, dentry, buf, size);
	if (!ret)
		*at = memo_put(memo, &key, buf, size);
	if (ret <= 0)
		return ret;
	ret = walk_to_root(vm, off, mnt - off[MOUNT_MNT], dentry, buf, size);
	if (ret)
		return ret;
	/*
	 * An unlinked file: d_path() appends " (deleted)" when the dentry is
	 * unhashed and not a root (a mount's root dentry, say /dev's, is
	 * never hashed).
	 */
	if (!kh_kva_u64(vm, dentry + off[D_HASH_PPREV], &pprev) && !pprev &&
	    !kh_kva_u64(vm, dentry + off[D_PARENT], &parent) &&
	    parent != dentry && strlen(buf) + 11 < size)
		strcat(buf, " (deleted)");
	*at = memo_put(memo, &key, buf, size);
	return 0;
}

int kh_file_path(struct kh_vm *vm, uint64_t file_va, char *buf, size_t size,
		 uint64_t *ino, uint32_t *mode)
{
	uint64_t mnt, dentry, inode, inum;
	uint32_t imode, at = NO_TEXT;
	struct path_memo *memo;
	struct memo_key key;
	const uint32_t *off;
	int ret;

	if (size < 2)
		return -EINVAL;
	buf[0] = '\0';
	ret = kh_dentry_offsets(vm, &off);
	if (ret)
		return ret;
	{
		struct kh_read reads[] = {
			{ .addr = file_va + off[F_PATH_MNT], .buf = &mnt,
			  .len = 8 },
			{ .addr = file_va + off[F_PATH_DENTRY], .buf = &dentry,
			  .len = 8 },
			{ .addr = file_va + off[F_INODE], .buf = &inode,
			  .len = 8 },
		};

		ret = read_batch(vm, reads, 3);
		if (ret)
			return ret;
	}
	if (!kh_kernel_ptr(vm, dentry) || !kh_kernel_ptr(vm, inode))
		return -EFAULT;
	/* The struct file and what it points at: as the path memo's key. */
	key = (struct memo_key){ .mnt = mnt, .dentry = dentry,
				 .inode = inode, .ino = file_va };
	memo = memo_get(vm);
	if (file_find(vm, off, memo, &key, buf, size, &inum, &imode)) {
		ret = 0;
	} else {
		ret = resolve(vm, off, memo, mnt, dentry, inode, buf, size,
			      &inum, &imode, &at);
		if (!ret)
			file_put(memo, &key, buf, size, inum, imode, at);
	}
	if (!ret && ino)
		*ino = inum;
	if (!ret && mode)
		*mode = imode;
	return ret;
}

int kh_mount_path(struct kh_vm *vm, uint64_t mount, char *buf, size_t size)
{
	const uint32_t *off;
	uint64_t root;
	int ret;

	if (size < 2)
		return -EINVAL;
	buf[0] = '\0';
	ret = kh_dentry_offsets(vm, &off);
	if (!ret)
		ret = kh_kva_u64(vm, mount + off[MOUNT_MNT] + off[VFSMOUNT_ROOT],
				 &root);
	if (ret)
		return ret;
	if (!kh_kernel_ptr(vm, root))
		return -EFAULT;
	/* From the mount's root: across its mount point, up to "/". */
	ret = walk_to_root(vm, off, mount, root, buf, size);
	if (ret)
		buf[0] = '\0';	/* no tail of a path passed for one */
	return ret;
}
