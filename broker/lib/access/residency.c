// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which guest pages hold something, so that scans skip RAM the guest
 * never touched, which reading would otherwise make the host allocate.
 *
 * QEMU's page tables (/proc/PID/pagemap: present or swapped) tell it for
 * anonymous RAM. For RAM that is a file or memfd they tell only what
 * QEMU has mapped so far: a QEMU restored from a RAM image without
 * prealloc has touched none of it, though the file holds the whole
 * guest. There the file's own data counts too, as SEEK_DATA and
 * SEEK_HOLE tell it, except on hugetlbfs, which keeps no holes to tell.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "access/ram_backing.h"
#include "access/technique.h"

#define PAGE_SIZE		4096ull
#define PM_PRESENT		(1ull << 63)
#define PM_SWAPPED		(1ull << 62)
#define PAGEMAP_CHUNK		512	/* entries per pread: 2 MiB */
#define HUGETLBFS_MAGIC		0x958458f6

/*
 * The last extent SEEK_DATA and SEEK_HOLE found in a file: no data in
 * [from, data), data in [data, hole). SEEK_HOLE runs to the end of the
 * data, a whole GiB in a guest that touched all its RAM, so scans that
 * ask page by page must not ask again inside an extent already found.
 */
struct extent {
	off_t from, data, hole;
};

struct kh_residency {
	struct kh_access *acc;
	/* The file behind layout range i and where the range starts in it. */
	int fd[KH_LAYOUT_MAX_RANGES];
	uint64_t offset[KH_LAYOUT_MAX_RANGES];
	struct extent seen[KH_LAYOUT_MAX_RANGES];
};

/* The extent at or after off, from ext when it covers off. */
static int next_extent(int fd, off_t off, struct extent *ext)
{
	off_t data, hole;

	if (off >= ext->from && off < ext->hole)
		return 0;
	data = lseek(fd, off, SEEK_DATA);
	if (data < 0 && errno == ENXIO)
		data = hole = INT64_MAX;	/* a hole to the end of file */
	else if (data < 0)
		return -1;
	else if ((hole = lseek(fd, data, SEEK_HOLE)) < 0)
		return -1;
	*ext = (struct extent){ .from = off, .data = data, .hole = hole };
	return 0;
}

/*
 * Marks in map the pages of fd's [off, off + n pages) that hold data;
 * leaves the others as they were.
 */
static int file_data(int fd, off_t off, uint64_t n, uint8_t *map,
		     struct extent *ext, struct kh_err *err)
{
	off_t end = off + (off_t)(n * PAGE_SIZE), data, hole;

	while (off < end) {
		if (next_extent(fd, off, ext))
			goto fail;
		data = ext->data > off ? ext->data : off;
		if (data >= end)
			return 0;
		hole = ext->hole > end ? end : ext->hole;
		data &= ~(off_t)(PAGE_SIZE - 1);
		memset(map + (data - off) / PAGE_SIZE, 1,
		       (hole - data + PAGE_SIZE - 1) / PAGE_SIZE);
		off = hole;
	}
	return 0;
fail:
	return kh_err_set(err, errno,
			  "cannot tell the RAM file's holes from its data: %s",
			  strerror(errno));
}

/*
 * The file behind range i, when it can be opened and tells holes from
 * data: anything else leaves the range to QEMU's page tables, which is
 * how it was read before files were asked.
 */
static void find_file(struct kh_residency *res, unsigned int i)
{
	const struct kh_ram_range *rr = &res->acc->layout->range[i];
	struct kh_ram_backing b;
	struct statfs fs;
	int fd;

	if (kh_ram_backing_find(res->acc->pid, rr->hva, rr->size, &b))
		return;
	fd = kh_ram_backing_open(res->acc->pid, b.inode);
	if (fd < 0)
		return;
	if (fstatfs(fd, &fs) || fs.f_type == HUGETLBFS_MAGIC) {
		close(fd);
		return;
	}
	res->fd[i] = fd;
	res->offset[i] = b.offset + (rr->hva - b.start);
}

int kh_residency_new(struct kh_access *acc, struct kh_residency **resp,
		     struct kh_err *err)
{
	struct kh_residency *res = calloc(1, sizeof(*res));
	unsigned int i;

	if (!res)
		return kh_err_set(err, ENOMEM, "out of memory");
	res->acc = acc;
	for (i = 0; i < KH_LAYOUT_MAX_RANGES; i++) {
		res->fd[i] = -1;
		res->seen[i].from = res->seen[i].hole = -1;
	}
	/* A RAM file handed over (ram_file.c) or an image answer alone. */
	for (i = 0; acc->pid && !acc->ram_file && !acc->ram_mirror &&
		    i < acc->layout->nr; i++)
		find_file(res, i);
	*resp = res;
	return 0;
}

void kh_residency_free(struct kh_residency *res)
{
	unsigned int i;

	if (!res)
		return;
	for (i = 0; i < KH_LAYOUT_MAX_RANGES; i++)
		if (res->fd[i] >= 0)
			close(res->fd[i]);
	free(res);
}

static int open_pagemap(struct kh_access *acc, struct kh_err *err)
{
	char path[64];
	int fd, r;

	/* Attach-time scans ask page by page: reuse the handle's fd. */
	if (acc->pagemap_fd >= 0)
		return acc->pagemap_fd;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)acc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	r = errno;
	if (r == ENOENT || kh_access_alive(acc))
		return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid);
	return kh_err_set(err, r, "cannot open %s: %s", path, strerror(r));
}

/* QEMU's page tables for n pages of range rr from page on, into map. */
static int pagemap_pages(struct kh_access *acc, int fd,
			 const struct kh_ram_range *rr, uint64_t page,
			 uint64_t n, uint8_t *map, struct kh_err *err)
{
	uint64_t entries[PAGEMAP_CHUNK], hva, i;
	ssize_t got;
	int r;

	hva = rr->hva + (page - rr->gpa);
	do
		got = pread(fd, entries, n * sizeof(entries[0]),
			    (off_t)(hva / PAGE_SIZE * sizeof(entries[0])));
	while (got < 0 && errno == EINTR);
	if (got <= 0 || got % sizeof(entries[0])) {
		r = got < 0 ? errno : EIO;
		if (kh_access_alive(acc))
			return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
					  (int)acc->pid);
		return kh_err_set(err, r,
				  "cannot read /proc/%d/pagemap at 0x%" PRIx64 ": %s",
				  (int)acc->pid, hva, strerror(r));
	}
	n = got / sizeof(entries[0]);
	for (i = 0; i < n; i++)
		map[i] = !!(entries[i] & (PM_PRESENT | PM_SWAPPED));
	return n;
}

int kh_residency_get(struct kh_residency *res, uint64_t gpa, uint64_t len,
		     uint8_t *map, struct kh_err *err)
{
	struct kh_access *acc = res->acc;
	uint64_t npages, done = 0;
	int fd = -1, r = 0;

	if ((gpa | len) & (PAGE_SIZE - 1))
		return kh_err_set(err, EINVAL,
				  "residency is asked for 0x%" PRIx64 "+0x%" PRIx64 ", which is not 4 KiB aligned",
				  gpa, len);
	npages = len / PAGE_SIZE;
	memset(map, 0, npages);
	if (acc->pid && !acc->ram_file && !acc->ram_mirror) {
		fd = open_pagemap(acc, err);
		if (fd < 0)
			return fd;
	}
	while (done < npages && r >= 0) {
		uint64_t page = gpa + done * PAGE_SIZE, n;
		const struct kh_ram_range *rr;
		unsigned int i;

		rr = kh_layout_find(acc->layout, page);
		if (!rr) {
			done++;		/* not RAM: nothing there to read */
			continue;
		}
		i = rr - acc->layout->range;
		n = (rr->gpa + rr->size - page) / PAGE_SIZE;
		if (n > npages - done)
			n = npages - done;
		if (acc->ram_file) {
			/* Each range's hva is its offset in the file. */
			r = file_data(acc->ram_fd, rr->hva + (page - rr->gpa),
				      n, map + done, &res->seen[i], err);
		} else if (!acc->pid || acc->ram_mirror) {
			/*
			 * An image file: every page it holds is there. A
			 * session handed over: its pid may be another
			 * namespace's, so none is asked.
			 */
			memset(map + done, 1, n);
		} else {
			if (n > PAGEMAP_CHUNK)
				n = PAGEMAP_CHUNK;
			r = pagemap_pages(acc, fd, rr, page, n, map + done,
					  err);
			if (r > 0)
				n = r;
			if (r > 0 && res->fd[i] >= 0)
				r = file_data(res->fd[i], res->offset[i] +
					      (page - rr->gpa), n, map + done,
					      &res->seen[i], err);
		}
		done += n;
	}
	if (fd >= 0 && fd != acc->pagemap_fd)
		close(fd);
	return r < 0 ? r : 0;
}
