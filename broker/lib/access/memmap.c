// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Live memory map (the paper's class IV): when guest RAM is a memfd or
 * file memory backend, keyhole maps the same file read-only and shared, so
 * a read is a memcpy from a mapping that is coherent with the guest by
 * construction, with no system call at all.
 *
 * The backend is found the way QEMU holds it (ram_backing.c): the file
 * its mapping of each RAM range shows, among QEMU's open files, reopened
 * read-only. Opening another process's fd needs the same ptrace access as
 * reading its memory. Anonymous RAM has no file: this technique then
 * refuses and says how to start QEMU.
 *
 * The mapping keeps the backend alive if QEMU exits, so liveness is
 * checked like the pid-addressed techniques (kh_vm_verify).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/ram_backing.h"
#include "access/technique.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define PREFAULT_MIN (64u << 10)

struct memmap_range {
	uint64_t gpa, size;
	const uint8_t *base;
	int fd;			/* the backend, for scan; -1 if none */
	bool owns_fd;		/* else an earlier range's, the same file */
	uint64_t offset;	/* where the range starts in it */
};

struct memmap {
	unsigned int nr;
	struct memmap_range range[KH_LAYOUT_MAX_RANGES];
};

static void unmap_all(struct memmap *mm)
{
	unsigned int i;

	for (i = 0; i < mm->nr; i++) {
		munmap((void *)mm->range[i].base, mm->range[i].size);
		if (mm->range[i].owns_fd)
			close(mm->range[i].fd);
	}
	free(mm);
}

/*
 * The RAM backend of layout range r, opened read-only: its fd, and in
 * *offset where r starts in the file (in *inode which file it is).
 */
static int backing_of(const struct kh_access *acc,
		      const struct kh_ram_range *r, uint64_t *offset,
		      uint64_t *inode, struct kh_err *err)
{
	struct kh_ram_backing b;
	int ret, fd;

	ret = kh_ram_backing_find(acc->pid, r->hva, r->size, &b);
	if ((ret == -ENODEV || (!ret && !b.shared)) &&
	    acc->target && acc->target->libvirt_name[0])
		return kh_err_set(err, ENODEV,
				  "guest RAM of libvirt domain %s is not shared memory, which cannot be mapped: add <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking> to its XML",
				  acc->target->libvirt_name);
	if (ret == -ENODEV || (!ret && !b.shared))
		return kh_err_set(err, ENODEV,
				  "guest RAM of QEMU pid %d is anonymous memory, which cannot be mapped: start QEMU with -object memory-backend-memfd,id=mem,size=SIZE,share=on -machine memory-backend=mem",
				  (int)acc->pid);
	if (ret)
		return kh_err_set(err, -ret,
				  "no mapping of guest RAM 0x%" PRIx64 " in /proc/%d/maps",
				  r->gpa, (int)acc->pid);
	fd = kh_ram_backing_open(acc->pid, b.inode);
	if (fd < 0)
		return kh_err_set(err, -fd,
				  "cannot open the RAM backend (inode %" PRIu64 ") of QEMU pid %d: %s",
				  b.inode, (int)acc->pid, strerror(-fd));
	*offset = b.offset + (r->hva - b.start);
	*inode = b.inode;
	return fd;
}

/*
 * Adds range r, mapped read-only from fd at offset, to mm, which keeps
 * keep (the same file) for scan, and closes it if owns, once added.
 */
static int map_one(struct memmap *mm, const struct kh_ram_range *r, int fd,
		   int keep, bool owns, uint64_t offset, pid_t pid,
		   struct kh_err *err)
{
	void *base = mmap(NULL, r->size, PROT_READ, MAP_SHARED, fd, offset);

	if (base == MAP_FAILED)
		return kh_err_set(err, errno, "cannot map the RAM backend of QEMU pid %d: %s",
				  (int)pid, strerror(errno));
	mm->range[mm->nr++] = (struct memmap_range){
		.gpa = r->gpa, .size = r->size, .base = base, .fd = keep,
		.owns_fd = owns && keep >= 0, .offset = offset };
	return 0;
}

/* A range of mm already holding the file of that inode, or NULL. */
static const struct memmap_range *same_file(const struct memmap *mm,
					    const uint64_t *inodes,
					    uint64_t inode)
{
	unsigned int i;

	for (i = 0; i < mm->nr; i++)
		if (inodes[i] == inode)
			return &mm->range[i];
	return NULL;
}

/*
 * Maps every layout range, from fd at offsets[i] when fd >= 0, else
 * from each range's own backend (a file or memfd QEMU holds).
 */
static int map_ranges(struct kh_access *acc, int fd, const uint64_t *offsets,
		      struct kh_err *err)
{
	const struct kh_layout *layout = acc->layout;
	uint64_t offset, inode, inodes[KH_LAYOUT_MAX_RANGES];
	const struct memmap_range *same;
	struct memmap *mm;
	unsigned int i;
	int ret = 0, own, copy = -1;

	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return kh_err_set(err, ENOMEM, "out of memory");
	/*
	 * Each file is kept open once, for scan (one fd per VM, not per
	 * range). Without a copy of fd, scan reads the mapping: slower,
	 * as right.
	 */
	if (fd >= 0)
		copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	for (i = 0; i < layout->nr && !ret; i++) {
		const struct kh_ram_range *r = &layout->range[i];

		if (fd >= 0) {
			ret = map_one(mm, r, fd, copy, !mm->nr, offsets[i],
				      acc->pid, err);
			continue;
		}
		own = backing_of(acc, r, &offset, &inode, err);
		if (own < 0) {
			ret = own;
			break;
		}
		same = same_file(mm, inodes, inode);
		inodes[mm->nr] = inode;
		ret = map_one(mm, r, own, same ? same->fd : own, !same,
			      offset, acc->pid, err);
		if (ret || same)
			close(own);
	}
	if (!mm->nr && copy >= 0)
		close(copy);
	if (ret) {
		unmap_all(mm);
		return ret;
	}
	acc->priv = mm;
	for (i = 0; i < mm->nr; i++)
		if (mm->range[i].size > acc->hot.size)
			acc->hot = (struct kh_hot_range){
				.gpa = mm->range[i].gpa,
				.size = mm->range[i].size,
				.base = mm->range[i].base };
	return 0;
}

static int memmap_open(struct kh_access *acc, struct kh_err *err)
{
	return map_ranges(acc, -1, NULL, err);
}

int kh_memmap_file(const struct kh_access *acc, int *fdp, uint64_t *offsets,
		   struct kh_err *err)
{
	const struct kh_layout *layout = acc->layout;
	uint64_t inode, first = 0;
	unsigned int i;
	int fd = -1, one;

	for (i = 0; i < layout->nr; i++) {
		one = backing_of(acc, &layout->range[i], &offsets[i], &inode,
				 err);
		if (one < 0) {
			if (fd >= 0)
				close(fd);
			return one;
		}
		if (fd < 0) {
			fd = one;
			first = inode;
			continue;
		}
		close(one);
		if (inode != first) {
			close(fd);
			return kh_err_set(err, ENOTSUP,
					  "guest RAM of QEMU pid %d lies in more than one file (inodes %" PRIu64 " and %" PRIu64 "): one file cannot hand it over",
					  (int)acc->pid, first, inode);
		}
	}
	if (fd < 0)
		return kh_err_set(err, ENOENT, "QEMU pid %d has no guest RAM",
				  (int)acc->pid);
	*fdp = fd;
	return 0;
}

int kh_memmap_open_fd(struct kh_access *acc, int fd, const uint64_t *offsets,
		      struct kh_err *err)
{
	int ret = map_ranges(acc, fd, offsets, err);

	if (!ret)
		acc->ops = &kh_access_memmap;
	return ret;
}

/*
 * A bulk read (the kernel image at attach) would take a page fault per
 * page; one madvise fills the page tables in the kernel instead, which is
 * far cheaper where faults are expensive (nested or paravirtualised
 * hosts). It faults in exactly what the memcpy would.
 */
static void prefault(const uint8_t *src, uint64_t len, struct kh_access *acc)
{
	uintptr_t start = (uintptr_t)src & ~(uintptr_t)4095;
	uintptr_t end = ((uintptr_t)src + len + 4095) & ~(uintptr_t)4095;

	madvise((void *)start, end - start, MADV_POPULATE_READ);
	atomic_fetch_add_explicit(&acc->calls, 1, memory_order_relaxed);
}

/*
 * The range holding addr: the caller guarantees there is one (kh_gpa_*
 * check every read against the layout mm was made from, which has at
 * least one range).
 */
static const struct memmap_range *range_of(const struct memmap *mm,
					   uint64_t addr)
{
	unsigned int r;

	for (r = 0; r + 1 < mm->nr; r++)
		if (addr - mm->range[r].gpa < mm->range[r].size)
			break;
	return &mm->range[r];
}

static int memmap_read(struct kh_access *acc, struct kh_read *reads,
		       unsigned int nr)
{
	const struct memmap *mm = acc->priv;
	uint64_t bytes = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		const struct memmap_range *range = range_of(mm, reads[i].addr);

		if (reads[i].len >= PREFAULT_MIN)
			prefault(range->base + (reads[i].addr - range->gpa),
				 reads[i].len, acc);
		memcpy(reads[i].buf, range->base + (reads[i].addr - range->gpa),
		       reads[i].len);
		reads[i].result = 0;
		bytes += reads[i].len;
	}
	kh_access_count(&acc->elems, nr);
	kh_access_count(&acc->bytes, bytes);
	return 0;
}

/*
 * The mapping itself, for the engine's copies of small reads (its general
 * path costs more than the copy) and for measuring: NULL when
 * [gpa, gpa + len) is not inside one range, or is a bulk read that
 * prefault() should serve.
 */
static const void *memmap_map(struct kh_access *acc, uint64_t gpa,
			      uint64_t len)
{
	const struct memmap *mm = acc->priv;
	unsigned int r;

	if (len >= PREFAULT_MIN)
		return NULL;
	for (r = 0; r < mm->nr; r++)
		if (gpa - mm->range[r].gpa < mm->range[r].size)
			break;
	if (r == mm->nr || len > mm->range[r].size - (gpa - mm->range[r].gpa))
		return NULL;
	return mm->range[r].base + (gpa - mm->range[r].gpa);
}

/*
 * Reads from the backend's page cache with pread, leaving the mapping
 * untouched: the kernel search's 64 bytes from each 2 MiB of a 1 GiB
 * guest would otherwise fault in 512 page table pages (2 MiB, kept
 * until detach, per VM) and cost tens of ms where faults are dear.
 */
static int memmap_scan(struct kh_access *acc, struct kh_read *reads,
		       unsigned int nr)
{
	const struct memmap *mm = acc->priv;
	unsigned int i, failed = 0;
	uint64_t bytes = 0;
	ssize_t got;

	for (i = 0; i < nr; i++) {
		const struct memmap_range *range = range_of(mm, reads[i].addr);
		uint64_t off = reads[i].addr - range->gpa;

		if (off >= range->size || reads[i].len > range->size - off) {
			reads[i].result = -EFAULT;
			failed++;
			continue;
		}
		if (range->fd < 0) {
			memcpy(reads[i].buf, range->base + off, reads[i].len);
			got = reads[i].len;
		} else {
			do
				got = pread(range->fd, reads[i].buf,
					    reads[i].len, range->offset + off);
			while (got < 0 && errno == EINTR);
			atomic_fetch_add_explicit(&acc->calls, 1,
						  memory_order_relaxed);
		}
		/* Short: the file ends before QEMU's RAM does. */
		reads[i].result = got == reads[i].len ? 0 :
				  got < 0 ? -errno : -EIO;
		failed += !!reads[i].result;
		bytes += reads[i].len;
	}
	kh_access_count(&acc->elems, nr);
	kh_access_count(&acc->bytes, bytes);
	return failed;
}

static void memmap_close(struct kh_access *acc)
{
	memset(&acc->hot, 0, sizeof(acc->hot));
	if (acc->priv)
		unmap_all(acc->priv);
	acc->priv = NULL;
}

const struct kh_access_ops kh_access_memmap = {
	.name = "memmap",
	.klass = "IV",
	.props = KH_TECHNIQUE_LIVE | KH_TECHNIQUE_MAPPED,
	.description = "shared read-only mapping of a memfd or file RAM backend, no system call per read (needs ptrace access)",
	.pid_addressed = 1,
	.open = memmap_open,
	.read = memmap_read,
	.scan = memmap_scan,
	.map = memmap_map,
	.close = memmap_close,
};
