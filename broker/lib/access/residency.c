// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which guest pages QEMU holds, from /proc/PID/pagemap (present or
 * swapped), so that scans skip RAM the guest never touched, which reading
 * would otherwise make the host allocate.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "access/technique.h"

#define PAGE_SIZE		4096ull
#define PM_PRESENT		(1ull << 63)
#define PM_SWAPPED		(1ull << 62)
#define PAGEMAP_CHUNK		512	/* entries per pread: 2 MiB */

/*
 * Residency of a RAM file: its data (pages the guest touched, in memory
 * or swapped) against its holes, as SEEK_DATA and SEEK_HOLE tell them.
 */
static int resident_in_file(struct kh_access *acc, uint64_t gpa,
			    uint64_t npages, uint8_t *map, struct kh_err *err)
{
	uint64_t done = 0;

	while (done < npages) {
		uint64_t page = gpa + done * PAGE_SIZE, n, i;
		const struct kh_ram_range *rr;
		off_t off, data, hole;

		rr = kh_layout_find(acc->layout, page);
		if (!rr) {
			map[done++] = 0;
			continue;
		}
		n = (rr->gpa + rr->size - page) / PAGE_SIZE;
		if (n > npages - done)
			n = npages - done;
		off = rr->hva + (page - rr->gpa);
		data = lseek(acc->ram_fd, off, SEEK_DATA);
		if (data < 0 && errno != ENXIO)
			return kh_err_set(err, errno,
					  "cannot tell the RAM file's holes from its data: %s",
					  strerror(errno));
		if (data < 0 || (uint64_t)(data - off) >= n * PAGE_SIZE) {
			memset(map + done, 0, n);	/* a hole to the end */
			done += n;
			continue;
		}
		for (i = 0; i < (uint64_t)(data - off) / PAGE_SIZE; i++)
			map[done++] = 0;
		hole = lseek(acc->ram_fd, data, SEEK_HOLE);
		if (hole < 0)
			return kh_err_set(err, errno,
					  "cannot tell the RAM file's holes from its data: %s",
					  strerror(errno));
		n = (uint64_t)(off + n * PAGE_SIZE - data) / PAGE_SIZE;
		for (i = 0; i < n && data + (off_t)(i * PAGE_SIZE) < hole; i++)
			map[done++] = 1;
	}
	return 0;
}

int kh_access_resident(struct kh_access *acc, uint64_t gpa, uint64_t len,
		       uint8_t *map, struct kh_err *err)
{
	uint64_t entries[PAGEMAP_CHUNK];
	uint64_t npages, done = 0;
	char path[64];
	int fd, r = 0;

	if ((gpa | len) & (PAGE_SIZE - 1))
		return kh_err_set(err, EINVAL,
				  "residency is asked for 0x%" PRIx64 "+0x%" PRIx64 ", which is not 4 KiB aligned",
				  gpa, len);
	npages = len / PAGE_SIZE;
	if (acc->ram_file)
		return resident_in_file(acc, gpa, npages, map, err);
	if (!acc->pid) {
		/* An image file: every page it holds is there to read. */
		for (done = 0; done < npages; done++)
			map[done] = !!kh_layout_find(acc->layout,
						     gpa + done * PAGE_SIZE);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)acc->pid);
	/* Attach-time scans ask page by page: reuse the handle's fd. */
	fd = acc->pagemap_fd >= 0 ? acc->pagemap_fd :
				    open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		if (r == ENOENT || kh_access_alive(acc))
			return kh_err_set(err, ESRCH,
					  "QEMU pid %d has exited",
					  (int)acc->pid);
		return kh_err_set(err, r, "cannot open %s: %s", path,
				  strerror(r));
	}

	while (done < npages) {
		uint64_t page = gpa + done * PAGE_SIZE;
		const struct kh_ram_range *rr;
		uint64_t n, hva, i;
		ssize_t got;

		rr = kh_layout_find(acc->layout, page);
		if (!rr) {
			/* Not RAM: nothing there to read or to skip. */
			map[done++] = 0;
			continue;
		}
		n = (rr->gpa + rr->size - page) / PAGE_SIZE;
		if (n > npages - done)
			n = npages - done;
		if (n > PAGEMAP_CHUNK)
			n = PAGEMAP_CHUNK;
		hva = rr->hva + (page - rr->gpa);
		got = pread(fd, entries, n * sizeof(entries[0]),
			    (off_t)(hva / PAGE_SIZE * sizeof(entries[0])));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || got % sizeof(entries[0])) {
			r = got < 0 ? errno : EIO;
			if (kh_access_alive(acc)) {
				r = kh_err_set(err, ESRCH,
					       "QEMU pid %d has exited",
					       (int)acc->pid);
				break;
			}
			r = kh_err_set(err, r,
				       "cannot read %s at 0x%" PRIx64 ": %s",
				       path, hva, strerror(r));
			break;
		}
		n = got / sizeof(entries[0]);
		for (i = 0; i < n; i++)
			map[done + i] =
				!!(entries[i] & (PM_PRESENT | PM_SWAPPED));
		done += n;
	}
	if (fd != acc->pagemap_fd)
		close(fd);
	return r;
}
