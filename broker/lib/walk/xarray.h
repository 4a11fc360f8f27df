/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The entries of a guest xarray, the structure behind the kernel's IDRs
 * (pids, BPF programs and maps) and its page caches: a radix tree of
 * xa_nodes, 64 slots each, whose internal entries (low bits 10, above
 * 4096) point at the next level down.
 */
#ifndef KH_XARRAY_H
#define KH_XARRAY_H

#include "walk/toolkit.h"

/*
 * Appends to entries every entry of the xarray whose xa_head holds head,
 * in index order: the pointers stored, each a kernel address aligned to
 * 8 (what is not is skipped and sets *bad). At most max entries; nodes
 * are bounded by depth, by what the guest's RAM could hold and by a set
 * of those seen (a cycle sets *bad too), so a hostile tree ends. 0, or
 * -ENOMEM, or -ESRCH when the VM is gone; a node that cannot be read
 * sets *bad.
 */
int kh_xarray_collect(struct kh_vm *vm, uint64_t head, unsigned int max,
		      struct kh_addr_list *entries, int *bad);

#endif /* KH_XARRAY_H */
