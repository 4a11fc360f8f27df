// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "procmem": pread()/preadv() on /proc/PID/mem.
 *
 * The open file pins the QEMU process's mm, so a reused pid can never be
 * read by mistake: once QEMU exits, reads return 0 or EIO, which are
 * turned into -ESRCH for the batch. Elements that follow each other in
 * host memory go out as one preadv() (the kernel loops over the iovecs
 * inside one system call).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "access/technique.h"

#define MAX_IOV		1024	/* IOV_MAX */

struct procmem {
	int fd;
};

static int procmem_open(struct kh_access *acc, struct kh_err *err)
{
	struct procmem *pm;
	char path[64];
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)acc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		if (r == EACCES || r == EPERM)
			return kh_err_set(err, r,
					  "cannot read %s of QEMU pid %d: permission denied (need ptrace access, e.g. run as root)",
					  path, (int)acc->pid);
		if (r == ENOENT)
			return kh_err_set(err, ESRCH,
					  "QEMU pid %d has exited",
					  (int)acc->pid);
		return kh_err_set(err, r, "cannot open %s: %s", path,
				  strerror(r));
	}
	pm = malloc(sizeof(*pm));
	if (!pm) {
		close(fd);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	pm->fd = fd;
	acc->priv = pm;
	return 0;
}

static void procmem_close(struct kh_access *acc)
{
	struct procmem *pm = acc->priv;

	if (!pm)
		return;
	close(pm->fd);
	free(pm);
	acc->priv = NULL;
}

/* The host address of element r, or 0 when it is not inside one range. */
static uint64_t to_hva(const struct kh_access *acc, const struct kh_read *r)
{
	const struct kh_ram_range *rr = kh_layout_find(acc->layout, r->addr);

	if (!rr || r->len > rr->size - (r->addr - rr->gpa))
		return 0;
	return rr->hva + (r->addr - rr->gpa);
}

static void count(struct kh_access *acc, ssize_t bytes)
{
	atomic_fetch_add_explicit(&acc->calls, 1, memory_order_relaxed);
	if (bytes > 0)
		atomic_fetch_add_explicit(&acc->bytes, bytes,
					  memory_order_relaxed);
}

/* One element alone; -ESRCH when QEMU has gone. */
static int read_one(struct kh_access *acc, int fd, struct kh_read *r,
		    uint64_t hva)
{
	uint32_t done = 0;
	ssize_t n;

	while (done < r->len) {
		n = pread(fd, (char *)r->buf + done, r->len - done,
			  (off_t)(hva + done));
		count(acc, n);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* 0 or EIO is also what a dead process gives. */
			if (kh_access_alive(acc))
				return -ESRCH;
			r->result = n < 0 ? -errno : -EIO;
			if (r->result == -EIO)
				r->result = -EFAULT;
			return 0;
		}
		done += n;
	}
	r->result = 0;
	return 0;
}

static int procmem_read(struct kh_access *acc, struct kh_read *reads,
			unsigned int nr)
{
	struct procmem *pm = acc->priv;
	struct iovec iov[MAX_IOV];
	unsigned int i = 0, j, k, failed = 0;
	uint64_t hva, next;
	ssize_t n;
	size_t total;

	atomic_fetch_add_explicit(&acc->elems, nr, memory_order_relaxed);
	while (i < nr) {
		hva = to_hva(acc, &reads[i]);
		if (!hva || !reads[i].len) {
			reads[i].result = reads[i].len ? -EFAULT : 0;
			failed += !!reads[i].len;
			i++;
			continue;
		}
		/* Gather the run of elements that continue in host memory. */
		total = reads[i].len;
		iov[0].iov_base = reads[i].buf;
		iov[0].iov_len = reads[i].len;
		next = hva + reads[i].len;
		for (j = i + 1; j < nr && j - i < MAX_IOV; j++) {
			if (!reads[j].len || to_hva(acc, &reads[j]) != next ||
			    total + reads[j].len > INT_MAX)
				break;
			iov[j - i].iov_base = reads[j].buf;
			iov[j - i].iov_len = reads[j].len;
			next += reads[j].len;
			total += reads[j].len;
		}

		if (j - i == 1) {
			if (read_one(acc, pm->fd, &reads[i], hva))
				goto gone;
			failed += !!reads[i].result;
			i++;
			continue;
		}
		n = preadv(pm->fd, iov, j - i, (off_t)hva);
		count(acc, n);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == (ssize_t)total) {
			for (k = i; k < j; k++)
				reads[k].result = 0;
			i = j;
			continue;
		}
		/* Short: keep what is complete, redo the rest one by one. */
		for (; i < j && n >= (ssize_t)reads[i].len; i++) {
			reads[i].result = 0;
			n -= reads[i].len;
		}
		for (; i < j; i++) {
			if (read_one(acc, pm->fd, &reads[i], to_hva(acc,
								    &reads[i])))
				goto gone;
			failed += !!reads[i].result;
		}
	}
	return failed;
gone:
	for (k = 0; k < nr; k++)
		reads[k].result = -ESRCH;
	return -ESRCH;
}

const struct kh_access_ops kh_access_procmem = {
	.name = "procmem",
	.klass = "V",
	.props = KH_TECHNIQUE_LIVE,
	.description = "pread on /proc/PID/mem (needs ptrace access)",
	.open = procmem_open,
	.read = procmem_read,
	.close = procmem_close,
};
