/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which items share a key with an earlier one: the open files of a crawl
 * share their struct files (stdin, stdout and stderr in most processes),
 * and each struct file is resolved once.
 */
#ifndef KH_WALK_FIRSTS_H
#define KH_WALK_FIRSTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * first[i] = the position of the first of nr items whose key equals item
 * i's, i itself when none before it has; key is the first item's key and
 * items are stride bytes apart. Returns 0, or 1 when the keys collided so
 * much in the index that they were sorted instead, or -ENOMEM. Scratch
 * memory is used and not given back: the caller releases its mark.
 */
int kh_firsts(const uint64_t *key, size_t stride, unsigned int nr,
	      uint32_t *first);

#endif /* KH_WALK_FIRSTS_H */
