/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading files' paths ahead, for techniques whose reads are system
 * calls that carry many places each (pvreadv): see path_ahead.c.
 */
#ifndef KH_PATH_AHEAD_H
#define KH_PATH_AHEAD_H

#include <stdint.h>

struct kh_vm;

/*
 * Fetches into the operation's page cache, level by level for all of
 * files[0..nr) at once, what kh_file_path() will read for each: the
 * struct file, its inode and superblock, its dentry and every parent up
 * to the root of each mount crossed, their names and dentry operations.
 * A hint: it does nothing without a page cache that batches (pvreadv),
 * gives up quietly on any failure and returns nothing; kh_file_path()
 * reads and checks everything itself. Not logged.
 */
void kh_file_paths_read_ahead(struct kh_vm *vm, const uint64_t *files,
			      unsigned int nr);

#endif /* KH_PATH_AHEAD_H */
