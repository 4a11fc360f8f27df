/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What walk/dentry_path.c (a file's path) and walk/path_ahead.c (the
 * same walk's reads, fetched ahead for many files at once) share: the
 * fields of the VFS objects a path is read from, and the walk's bounds.
 */
#ifndef KH_DENTRY_PATH_H
#define KH_DENTRY_PATH_H

#include "walk/toolkit.h"

#define MAX_DEPTH 256
#define NAME_MAX_LEN 255
/*
 * DNAME_INLINE_LEN on 64-bit kernels before 6.14: a name shorter than
 * this lives in the dentry's d_iname, which the dentry's batch reads.
 */
#define INLINE_NAME	32

enum {
	F_PATH_MNT, F_PATH_DENTRY, F_INODE,
	D_PARENT, D_NAME, D_NAME_LEN, D_HASH_PPREV, D_INAME,
	D_OP, DOPS_D_DNAME,
	I_MODE, I_INO, I_SB, SB_MAGIC,
	MOUNT_MNT, MOUNT_PARENT, MOUNT_MOUNTPOINT, VFSMOUNT_ROOT,
	KH_DENTRY_NR_FIELDS
};

/* The offsets of the fields above (D_INAME may be KH_FIELD_ABSENT). */
int kh_dentry_offsets(struct kh_vm *vm, const uint32_t **off);

#endif /* KH_DENTRY_PATH_H */
