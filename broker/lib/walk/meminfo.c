// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory as /proc/meminfo shows it, computed the way the guest's
 * meminfo_proc_show() and si_mem_available() do (6.1): from the global
 * zone and node counters (vm_zone_stat[], vm_node_stat[], read as the
 * kernel's global_*_page_state() do, without the per-CPU deltas not yet
 * folded in, negative values as 0), _totalram_pages, totalreserve_pages,
 * the low watermarks of every zone of every online node, and for Buffers
 * (nr_blockdev_pages()) the page counts of the block device inodes.
 *
 * One approximation: meminfo subtracts total_swapcache_pages(), which sums
 * the swapper address spaces; the NR_SWAPCACHE counter (5.12+) tracks the
 * same pages and is read instead (both are 0 without swap).
 *
 * Reads: one batch for the counters and anchors, one for the node
 * pointers, one for every zone's watermarks, then one read per block
 * device inode on the list walk and two batches for their page counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"

#define PAGE_TO_KIB	4	/* x86-64 pages */
#define WALK_ATTEMPTS	3
#define MAX_ZONES	16	/* MAX_NR_ZONES is at most 6 */
#define MAX_NODEMASK	1024	/* bytes: 8192 nodes, 8 x MAX_NUMNODES */

/* One element of a read batch. */
static struct kh_read mem_read(uint64_t addr, void *buf, uint32_t len)
{
	return (struct kh_read){ .addr = addr, .buf = buf, .len = len };
}

enum {
	SB_S_INODES, INODE_SB_LIST, INODE_MAPPING, INODE_SIZE, AS_NRPAGES,
	PGDAT_NODE_ZONES, ZONE_SIZE, ZONE_WATERMARK, ZONE_BOOST,
	NODEMASK_SIZE,
	NR_MEM_FIELDS
};

static const struct kh_field mem_fields[NR_MEM_FIELDS] = {
	[SB_S_INODES] = { "super_block", "s_inodes" },
	[INODE_SB_LIST] = { "inode", "i_sb_list" },
	[INODE_MAPPING] = { "inode", "i_mapping" },
	[INODE_SIZE] = { "inode", NULL },
	[AS_NRPAGES] = { "address_space", "nrpages" },
	[PGDAT_NODE_ZONES] = { "pglist_data", "node_zones" },
	[ZONE_SIZE] = { "zone", NULL },
	/* Renamed in 5.0, when watermark_boost came. */
	[ZONE_WATERMARK] = { "zone", "_watermark", "watermark" },
	[ZONE_BOOST] = { "zone", "watermark_boost", NULL, 1 },
	[NODEMASK_SIZE] = { "nodemask_t", NULL },
};

/* Counters read, in the order of the batch. */
enum {
	C_TOTALRAM, C_TOTALRESERVE, C_FREE, C_FILE, C_SHMEM, C_ACTIVE_FILE,
	C_INACTIVE_FILE, C_SLAB_RECLAIMABLE, C_MISC_RECLAIMABLE, C_SWAPCACHE,
	NR_COUNTERS
};

/* Enumerators of enum node_stat_item, by counter; NULL where not one. */
static const struct {
	const char *name, *alt;
	int optional;
} node_items[NR_COUNTERS] = {
	[C_FILE] = { "NR_FILE_PAGES" },
	[C_SHMEM] = { "NR_SHMEM" },
	[C_ACTIVE_FILE] = { "NR_ACTIVE_FILE" },
	[C_INACTIVE_FILE] = { "NR_INACTIVE_FILE" },
	/* Counted in bytes per object, but in pages in vm_node_stat. */
	[C_SLAB_RECLAIMABLE] = { "NR_SLAB_RECLAIMABLE_B",
				 "NR_SLAB_RECLAIMABLE" },
	[C_MISC_RECLAIMABLE] = { "NR_KERNEL_MISC_RECLAIMABLE", NULL, 1 },
	[C_SWAPCACHE] = { "NR_SWAPCACHE", NULL, 1 },
};

/* What global_*_page_state() return for a counter's raw value. */
static uint64_t stat_pages(uint64_t raw)
{
	return (int64_t)raw < 0 ? 0 : raw;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* si_mem_available(), in pages; every input already clamped at 0. */
static uint64_t mem_available(uint64_t free, uint64_t totalreserve,
			      uint64_t file_lru, uint64_t reclaimable,
			      uint64_t wmark_low)
{
	int64_t available = (int64_t)free - (int64_t)totalreserve;

	file_lru -= min_u64(file_lru / 2, wmark_low);
	available += (int64_t)file_lru;
	reclaimable -= min_u64(reclaimable / 2, wmark_low);
	available += (int64_t)reclaimable;
	return available < 0 ? 0 : (uint64_t)available;
}

/* meminfo's Cached: file pages that are neither swap cache nor buffers. */
static uint64_t mem_cached(uint64_t file, uint64_t swapcache,
			   uint64_t buffers)
{
	int64_t cached = (int64_t)file - (int64_t)swapcache -
			 (int64_t)buffers;

	return cached < 0 ? 0 : (uint64_t)cached;
}

static int enum_value(struct kh_vm *vm, const char *name, const char *alt,
		      int optional, int64_t *value, struct kh_err *err)
{
	int ret = kh_enum_value(vm, name, value, err);

	if (ret == -ENOENT && alt)
		ret = kh_enum_value(vm, alt, value, err);
	if (ret == -ENOENT && optional) {
		*value = -1;
		return 0;
	}
	if (!ret && (*value < 0 || *value > 4096))
		return kh_err_set(err, EINVAL,
				  "the guest's BTF gives %s an implausible value %lld",
				  name, (long long)*value);
	return ret;
}

/* Sum of the zones' low watermarks over every online node (for_each_zone). */
static int watermark_low(struct kh_vm *vm, const uint32_t *off,
			 uint64_t *wmark, struct kh_err *err)
{
	uint8_t online[MAX_NODEMASK];
	uint64_t node_data, node_states, nr_node_ids = 1, pgdat[64];
	int64_t n_online, wmark_idx, nr_zones;
	unsigned int nodes[64], nr_nodes = 0, nid, nbits, i, j, nr;
	unsigned int nr_reads = 0;
	struct kh_read *reads;
	uint64_t *vals;
	int ret;

	*wmark = 0;
	if (!off[NODEMASK_SIZE] || off[NODEMASK_SIZE] > MAX_NODEMASK ||
	    off[ZONE_SIZE] > (1u << 20))
		return kh_err_set(err, EINVAL,
				  "the guest's BTF gives implausible sizes for nodemask_t or struct zone");
	ret = enum_value(vm, "WMARK_LOW", NULL, 0, &wmark_idx, err);
	if (!ret)
		ret = enum_value(vm, "__MAX_NR_ZONES", "MAX_NR_ZONES", 0,
				 &nr_zones, err);
	if (ret)
		return ret;
	if (nr_zones < 1 || nr_zones > MAX_ZONES || wmark_idx < 0 ||
	    wmark_idx > 8)
		return kh_err_set(err, EINVAL,
				  "the guest's BTF gives implausible zone or watermark counts");

	/* !NUMA kernels have one node, contig_page_data, and no node_data. */
	if (kh_sym_va(vm, "node_data", &node_data, NULL)) {
		ret = kh_sym_va(vm, "contig_page_data", &pgdat[0], err);
		if (ret)
			return kh_err_prefix(err, "MemAvailable");
		nodes[nr_nodes++] = 0;
	} else {
		ret = kh_enum_value(vm, "N_ONLINE", &n_online, err);
		if (!ret)
			ret = kh_sym_va(vm, "node_states", &node_states, err);
		if (!ret)
			ret = kh_sym_va(vm, "nr_node_ids", &nr_node_ids, err);
		if (ret)
			return kh_err_prefix(err, "MemAvailable");
		if (n_online < 0 || n_online > 16)
			return kh_err_set(err, EINVAL, "N_ONLINE is %lld",
					  (long long)n_online);
		{
			uint32_t ids = 0;
			struct kh_read r[2] = {
				mem_read(node_states +
					 n_online * off[NODEMASK_SIZE],
					 online, off[NODEMASK_SIZE]),
				mem_read(nr_node_ids, &ids, 4),
			};

			ret = kh_kva_fetch(vm, r, 2, err);
			if (ret < 0)
				return ret;
			if (ret)
				return kh_err_set(err, EFAULT,
						  "cannot read the guest's online node mask");
			nr_node_ids = ids;
		}
		nbits = off[NODEMASK_SIZE] * 8;
		if (nr_node_ids < nbits)
			nbits = nr_node_ids;
		for (nid = 0; nid < nbits; nid++) {
			if (!(online[nid / 8] & (1u << (nid % 8))))
				continue;
			if (nr_nodes == sizeof(nodes) / sizeof(nodes[0]))
				return kh_err_set(err, E2BIG,
						  "the guest has more than %u online NUMA nodes",
						  nr_nodes);
			nodes[nr_nodes++] = nid;
		}
		reads = calloc(nr_nodes ? nr_nodes : 1, sizeof(*reads));
		if (!reads)
			return kh_err_set(err, ENOMEM, "out of memory");
		for (i = 0; i < nr_nodes; i++)
			reads[i] = mem_read(node_data + nodes[i] * 8ULL,
					    &pgdat[i], 8);
		ret = kh_kva_fetch(vm, reads, nr_nodes, err);
		free(reads);
		if (ret < 0)
			return ret;
		if (ret)
			return kh_err_set(err, EFAULT,
					  "cannot read the guest's node_data[]");
	}
	for (i = 0; i < nr_nodes; i++)
		if (!kh_kernel_ptr(vm, pgdat[i]))
			return kh_err_set(err, EFAULT,
					  "node_data[%u] is 0x%llx, not a kernel address",
					  nodes[i],
					  (unsigned long long)pgdat[i]);

	/* _watermark[WMARK_LOW] and watermark_boost of every zone. */
	nr = nr_nodes * nr_zones * 2;
	reads = calloc(nr ? nr : 1, sizeof(*reads));
	vals = calloc(nr ? nr : 1, sizeof(*vals));
	if (!reads || !vals) {
		free(reads);
		free(vals);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	for (i = 0; i < nr_nodes; i++) {
		for (j = 0; j < nr_zones; j++) {
			uint64_t zone = pgdat[i] + off[PGDAT_NODE_ZONES] +
					(uint64_t)j * off[ZONE_SIZE];
			unsigned int k = (i * nr_zones + j) * 2;

			reads[nr_reads++] = mem_read(zone +
						     off[ZONE_WATERMARK] +
						     wmark_idx * 8,
						     &vals[k], 8);
			/* Before 5.0 there is no boost: one less read. */
			if (off[ZONE_BOOST] != KH_FIELD_ABSENT)
				reads[nr_reads++] = mem_read(zone +
							     off[ZONE_BOOST],
							     &vals[k + 1], 8);
		}
	}
	ret = kh_kva_fetch(vm, reads, nr_reads, err);
	if (ret > 0)
		ret = kh_err_set(err, EFAULT,
				 "cannot read the guest's zone watermarks");
	for (i = 0; !ret && i < nr; i++)
		*wmark += vals[i];	/* low_wmark_pages(): mark + boost */
	free(reads);
	free(vals);
	return ret < 0 ? ret : 0;
}

struct bdev_walk {
	uint64_t *inodes;
	unsigned int nr, cap;
};

static int collect_inode(struct kh_vm *vm, uint64_t inode, void *opaque)
{
	struct bdev_walk *w = opaque;

	if (w->nr == w->cap) {
		unsigned int cap = w->cap ? w->cap * 2 : 32;
		uint64_t *p = realloc(w->inodes, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->inodes = p;
		w->cap = cap;
	}
	w->inodes[w->nr++] = inode;
	return 0;
}

/* nrpages summed over the block device inodes, as nr_blockdev_pages(). */
static int sum_nrpages(struct kh_vm *vm, const uint32_t *off,
		       const struct bdev_walk *w, uint64_t *pages,
		       struct kh_result *result, struct kh_err *err)
{
	struct kh_read *reads = calloc(w->nr ? w->nr : 1, sizeof(*reads));
	uint64_t *vals = calloc(w->nr ? w->nr : 1, sizeof(*vals));
	unsigned int i;
	int ret;

	if (!reads || !vals) {
		ret = kh_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < w->nr; i++)
		reads[i] = mem_read(w->inodes[i] + off[INODE_MAPPING],
				    &vals[i], 8);
	ret = kh_kva_fetch(vm, reads, w->nr, err);
	if (ret < 0)
		goto out;
	for (i = 0; i < w->nr; i++) {
		if (reads[i].result || !kh_kernel_ptr(vm, vals[i])) {
			ret = kh_mark(result, KH_RESULT_INCOMPLETE,
				      "block device inode 0x%llx has no readable i_mapping",
				      (unsigned long long)w->inodes[i]);
			goto out;
		}
		reads[i] = mem_read(vals[i] + off[AS_NRPAGES], &vals[i], 8);
	}
	ret = kh_kva_fetch(vm, reads, w->nr, err);
	if (ret < 0)
		goto out;
	if (ret) {
		ret = kh_mark(result, KH_RESULT_INCOMPLETE,
			      "a block device's page count cannot be read");
		goto out;
	}
	*pages = 0;
	for (i = 0; i < w->nr; i++)
		*pages += vals[i];
	ret = 0;
out:
	free(reads);
	free(vals);
	return ret;
}

/*
 * Buffers: the list is walked again (a few times) if a block device came
 * or went during the walk; a list still cut short after that is an error,
 * since struct kh_mem_info has nowhere to say it is partial.
 */
static int blockdev_pages(struct kh_vm *vm, const uint32_t *off,
			  uint64_t *pages, struct kh_err *err)
{
	struct kh_result result = { 0 };
	uint64_t sym, sb;
	unsigned int attempt;
	int ret;

	*pages = 0;
	ret = kh_sym_va(vm, "blockdev_superblock", &sym, err);
	if (ret)
		return kh_err_prefix(err, "Buffers");
	for (attempt = 0; attempt < WALK_ATTEMPTS; attempt++) {
		struct bdev_walk w = { 0 };

		memset(&result, 0, sizeof(result));
		if (attempt)
			kh_vm_fresh(vm);
		ret = kh_kva_u64(vm, sym, &sb);
		if (ret == -ESRCH)
			return kh_err_set(err, ESRCH, "the VM is gone");
		if (ret || !kh_kernel_ptr(vm, sb))
			return kh_err_set(err, EFAULT,
					  "blockdev_superblock is not readable");
		ret = kh_list_walk(vm, sb + off[SB_S_INODES],
				   off[INODE_SB_LIST],
				   kh_max_objects(vm, off[INODE_SIZE]),
				   collect_inode, &w, &result, err);
		if (ret == -ENOMEM)
			ret = kh_err_set(err, ENOMEM, "out of memory");
		if (!ret && !(result.flags & KH_RESULT_INCOMPLETE))
			ret = sum_nrpages(vm, off, &w, pages, &result, err);
		free(w.inodes);
		if (ret)
			return ret;
		if (!result.flags)
			return 0;
	}
	/* Changing under us every time, but whole: as good as it gets. */
	if (!(result.flags & KH_RESULT_INCOMPLETE))
		return 0;
	return kh_err_set(err, EIO, "block device inodes (Buffers): %s",
			  result.problem);
}

int kh_mem_info(struct kh_vm *vm, struct kh_mem_info *mem, struct kh_err *err)
{
	uint64_t totalram, totalreserve, zone_stat, node_stat, wmark, buffers;
	uint64_t val[NR_COUNTERS] = { 0 };
	struct kh_read reads[NR_COUNTERS];
	const uint32_t *off;
	unsigned int i, nr = 0;
	int64_t item;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	memset(mem, 0, sizeof(*mem));
	ret = kh_offsets(vm, mem_fields, NR_MEM_FIELDS, &off, err);
	if (ret)
		return ret;
	ret = kh_sym_va(vm, "_totalram_pages", &totalram, NULL);
	if (ret)	/* before 5.0 a plain unsigned long */
		ret = kh_sym_va(vm, "totalram_pages", &totalram, err);
	if (!ret)
		ret = kh_sym_va(vm, "totalreserve_pages", &totalreserve, err);
	if (!ret)
		ret = kh_sym_va(vm, "vm_zone_stat", &zone_stat, err);
	if (!ret)
		ret = kh_sym_va(vm, "vm_node_stat", &node_stat, err);
	if (!ret)
		ret = enum_value(vm, "NR_FREE_PAGES", NULL, 0, &item, err);
	if (ret)
		return kh_err_prefix(err, "memory information");

	reads[nr++] = mem_read(totalram, &val[C_TOTALRAM], 8);
	reads[nr++] = mem_read(totalreserve, &val[C_TOTALRESERVE], 8);
	reads[nr++] = mem_read(zone_stat + item * 8, &val[C_FREE], 8);
	for (i = 0; i < NR_COUNTERS; i++) {
		if (!node_items[i].name)
			continue;
		ret = enum_value(vm, node_items[i].name, node_items[i].alt,
				 node_items[i].optional, &item, err);
		if (ret)
			return kh_err_prefix(err, "memory information");
		if (item >= 0)
			reads[nr++] = mem_read(node_stat + item * 8,
					       &val[i], 8);
	}
	ret = kh_kva_fetch(vm, reads, nr, err);
	if (ret < 0)
		return ret;
	if (ret)
		return kh_err_set(err, EFAULT,
				  "cannot read the guest's memory counters");
	for (i = C_FREE; i < NR_COUNTERS; i++)
		val[i] = stat_pages(val[i]);

	ret = watermark_low(vm, off, &wmark, err);
	if (!ret)
		ret = blockdev_pages(vm, off, &buffers, err);
	if (ret)
		return ret;

	mem->total = val[C_TOTALRAM] * PAGE_TO_KIB;
	mem->free = val[C_FREE] * PAGE_TO_KIB;
	mem->available = mem_available(val[C_FREE], val[C_TOTALRESERVE],
				       val[C_ACTIVE_FILE] +
				       val[C_INACTIVE_FILE],
				       val[C_SLAB_RECLAIMABLE] +
				       val[C_MISC_RECLAIMABLE], wmark) *
			 PAGE_TO_KIB;
	mem->buffers = buffers * PAGE_TO_KIB;
	mem->cached = mem_cached(val[C_FILE], val[C_SWAPCACHE], buffers) *
		      PAGE_TO_KIB;
	mem->shmem = val[C_SHMEM] * PAGE_TO_KIB;
	/* counters read one by one while the guest runs, or made up */
	if (mem->free > mem->total || mem->available > mem->total ||
	    mem->shmem > mem->total)
		kh_mark(&mem->result, KH_RESULT_INCONSISTENT,
			"free, available or shared memory above the total of %" PRIu64 " kB",
			mem->total);
	return kh_vm_verify(vm, err);
}
