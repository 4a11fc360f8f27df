// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The path of an open file, as the guest's d_path() would print it for
 * /proc/PID/fd/N: dentry names from the file up to its mount's root, then
 * across the mount point into the parent mount, up to the root mount (so
 * /dev/null is found through devtmpfs's mount on /dev, not as "/null").
 * Files of pseudo filesystems have no path; they are named the way their
 * d_dname() does: "pipe:[ino]", "socket:[ino]", "anon_inode:[eventfd]".
 * Depth and lengths are bounded: a hostile dentry chain ends the walk.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "extract.h"

#define MAX_DEPTH 256
#define NAME_MAX_LEN 255

#define PIPEFS_MAGIC		0x50495045
#define SOCKFS_MAGIC		0x534F434B
#define ANON_INODE_FS_MAGIC	0x09041934

enum {
	F_PATH_MNT, F_PATH_DENTRY, F_INODE,
	D_PARENT, D_NAME, D_NAME_LEN, D_HASH_PPREV,
	I_MODE, I_INO, I_SB, SB_MAGIC,
	MOUNT_MNT, MOUNT_PARENT, MOUNT_MOUNTPOINT, VFSMOUNT_ROOT,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[F_PATH_MNT] = { "file", "f_path.mnt" },
	[F_PATH_DENTRY] = { "file", "f_path.dentry" },
	[F_INODE] = { "file", "f_inode" },
	[D_PARENT] = { "dentry", "d_parent" },
	[D_NAME] = { "dentry", "d_name.name" },
	[D_NAME_LEN] = { "dentry", "d_name.len" },
	[D_HASH_PPREV] = { "dentry", "d_hash.pprev" },
	[I_MODE] = { "inode", "i_mode" },
	[I_INO] = { "inode", "i_ino" },
	[I_SB] = { "inode", "i_sb" },
	[SB_MAGIC] = { "super_block", "s_magic" },
	[MOUNT_MNT] = { "mount", "mnt" },
	[MOUNT_PARENT] = { "mount", "mnt_parent" },
	[MOUNT_MOUNTPOINT] = { "mount", "mnt_mountpoint" },
	[VFSMOUNT_ROOT] = { "vfsmount", "mnt_root" },
};

/* Prepends "/name" to the path being built backwards in buf[0..*start). */
static int prepend(struct kh_vm *vm, const uint32_t *off, uint64_t dentry,
		   char *buf, size_t *start)
{
	char name[NAME_MAX_LEN + 1];
	uint64_t name_va;
	uint32_t len;
	size_t n;

	if (kh_kva_u64(vm, dentry + off[D_NAME], &name_va) ||
	    kh_kva_u32(vm, dentry + off[D_NAME_LEN], &len) ||
	    !kh_kernel_ptr(vm, name_va))
		return -EFAULT;
	if (len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	if (kh_kva_str(vm, name_va, name, len + 1))
		return -EFAULT;
	n = strlen(name);
	if (n + 1 > *start)
		return -ENAMETOOLONG;
	*start -= n;
	memcpy(buf + *start, name, n);
	buf[--*start] = '/';
	return 0;
}

static int walk_to_root(struct kh_vm *vm, const uint32_t *off,
			uint64_t mount, uint64_t dentry, char *buf,
			size_t size)
{
	size_t start = size - 1;
	unsigned int depth;

	buf[start] = '\0';
	for (depth = 0; depth < MAX_DEPTH; depth++) {
		uint64_t parent, root, parent_mount;

		if (kh_kva_u64(vm, dentry + off[D_PARENT], &parent) ||
		    kh_kva_u64(vm, mount + off[MOUNT_MNT] + off[VFSMOUNT_ROOT],
			       &root))
			return -EFAULT;
		if (dentry == root) {
			/* At the top of this mount: cross to where it sits. */
			if (kh_kva_u64(vm, mount + off[MOUNT_PARENT],
				       &parent_mount))
				return -EFAULT;
			if (parent_mount == mount)
				break;
			if (kh_kva_u64(vm, mount + off[MOUNT_MOUNTPOINT],
				       &dentry) || !kh_kernel_ptr(vm, dentry) ||
			    !kh_kernel_ptr(vm, parent_mount))
				return -EFAULT;
			mount = parent_mount;
			continue;
		}
		if (parent == dentry || !kh_kernel_ptr(vm, parent))
			break;	/* a disconnected root, as d_path stops too */
		if (prepend(vm, off, dentry, buf, &start))
			return -ENAMETOOLONG;
		dentry = parent;
	}
	if (depth == MAX_DEPTH)
		return -ELOOP;
	if (start == size - 1)
		buf[--start] = '/';
	memmove(buf, buf + start, size - start);
	return 0;
}

int kh_file_path(struct kh_vm *vm, uint64_t file_va, char *buf, size_t size,
		 uint64_t *ino, uint32_t *mode)
{
	uint64_t mnt, dentry, inode, sb, magic, pprev, inum = 0;
	const uint32_t *off;
	uint32_t imode = 0;
	int ret;

	if (size < 2)
		return -EINVAL;
	buf[0] = '\0';
	ret = kh_offsets(vm, fields, NR_FIELDS, &off, NULL);
	if (ret)
		return ret;
	if (kh_kva_u64(vm, file_va + off[F_PATH_MNT], &mnt) ||
	    kh_kva_u64(vm, file_va + off[F_PATH_DENTRY], &dentry) ||
	    kh_kva_u64(vm, file_va + off[F_INODE], &inode) ||
	    !kh_kernel_ptr(vm, dentry) || !kh_kernel_ptr(vm, inode))
		return -EFAULT;
	/* i_mode is a umode_t: read 4 bytes, keep 16. */
	if (kh_kva_u32(vm, inode + off[I_MODE], &imode) ||
	    kh_kva_u64(vm, inode + off[I_INO], &inum) ||
	    kh_kva_u64(vm, inode + off[I_SB], &sb) ||
	    kh_kva_u64(vm, sb + off[SB_MAGIC], &magic))
		return -EFAULT;
	imode &= 0xffff;
	if (ino)
		*ino = inum;
	if (mode)
		*mode = imode;

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
	ret = walk_to_root(vm, off, mnt - off[MOUNT_MNT], dentry, buf, size);
	if (ret)
		return ret;
	/* An unlinked file: d_path() appends " (deleted)". */
	if (!kh_kva_u64(vm, dentry + off[D_HASH_PPREV], &pprev) && !pprev &&
	    strcmp(buf, "/") && strlen(buf) + 11 < size)
		strcat(buf, " (deleted)");
	return 0;
}
