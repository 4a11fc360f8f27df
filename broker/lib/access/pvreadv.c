// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "pvreadv": process_vm_readv() with up to IOV_MAX remote
 * iovecs, so a batch of many small reads costs one system call.
 *
 * process_vm_readv() stops at the first remote iovec it cannot read and
 * returns the bytes done so far: the elements before it are good, the one
 * it stopped in is marked -EFAULT and the call is repeated from the next.
 * It addresses the process by pid, so a read is only known to come from
 * QEMU once the pidfd says QEMU is still alive afterwards (a pid cannot be
 * reused before its process exits). The engine checks that once at the end
 * of every public operation rather than after each batch (pid_addressed).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "access/technique.h"

#define MAX_IOV		1024	/* IOV_MAX */

static int pvreadv_open(struct kh_access *acc, struct kh_err *err)
{
	struct iovec local, remote;
	char byte;
	ssize_t n;

	/* Probe with a real read: permission is checked per call. */
	if (!acc->layout->nr)
		return kh_err_set(err, EINVAL, "the guest RAM layout is empty");
	local.iov_base = &byte;
	local.iov_len = 1;
	remote.iov_base = (void *)(uintptr_t)acc->layout->range[0].hva;
	remote.iov_len = 1;
	n = process_vm_readv(acc->pid, &local, 1, &remote, 1, 0);
	if (n == 1)
		return 0;
	if (errno == EPERM || errno == EACCES)
		return kh_err_set(err, errno,
				  "process_vm_readv on QEMU pid %d: permission denied (need ptrace access, e.g. run as root)",
				  (int)acc->pid);
	if (errno == ESRCH)
		return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid);
	if (errno == ENOSYS)
		return kh_err_set(err, ENOSYS,
				  "this kernel has no process_vm_readv");
	return kh_err_set(err, errno,
			  "process_vm_readv of guest RAM in QEMU pid %d failed: %s",
			  (int)acc->pid, strerror(errno));
}

static void pvreadv_close(struct kh_access *acc)
{
}

static uint64_t to_hva(const struct kh_access *acc, const struct kh_read *r)
{
	const struct kh_ram_range *rr = kh_layout_find(acc->layout, r->addr);

	if (!rr || r->len > rr->size - (r->addr - rr->gpa))
		return 0;
	return rr->hva + (r->addr - rr->gpa);
}

static int pvreadv_read(struct kh_access *acc, struct kh_read *reads,
			unsigned int nr)
{
	struct iovec local[MAX_IOV], remote[MAX_IOV];
	unsigned int idx[MAX_IOV];
	unsigned int i = 0, cnt, k, failed = 0;
	ssize_t n;
	int r;

	atomic_fetch_add_explicit(&acc->elems, nr, memory_order_relaxed);
	while (i < nr) {
		size_t total = 0;

		/* Up to MAX_IOV elements from i; bad ones are settled here. */
		for (cnt = 0; i < nr && cnt < MAX_IOV; i++) {
			uint64_t hva = to_hva(acc, &reads[i]);

			if (!reads[i].len) {
				reads[i].result = 0;
				continue;
			}
			if (!hva) {
				reads[i].result = -EFAULT;
				failed++;
				continue;
			}
			if (total + reads[i].len > SSIZE_MAX / 2)
				break;
			local[cnt].iov_base = reads[i].buf;
			local[cnt].iov_len = reads[i].len;
			remote[cnt].iov_base = (void *)(uintptr_t)hva;
			remote[cnt].iov_len = reads[i].len;
			idx[cnt++] = i;
			total += reads[i].len;
		}

		k = 0;
		while (k < cnt) {
			n = process_vm_readv(acc->pid, local + k, cnt - k,
					     remote + k, cnt - k, 0);
			atomic_fetch_add_explicit(&acc->calls, 1,
						  memory_order_relaxed);
			if (n < 0) {
				r = errno;
				if (r == EINTR)
					continue;
				if (r != EPERM && kh_access_alive(acc))
					r = ESRCH;
				if (r == ESRCH || r == EPERM)
					goto whole;
				/* EFAULT: the very first iovec failed. */
				reads[idx[k++]].result = -r;
				failed++;
				continue;
			}
			atomic_fetch_add_explicit(&acc->bytes, n,
						  memory_order_relaxed);
			for (; k < cnt && (size_t)n >= local[k].iov_len; k++) {
				reads[idx[k]].result = 0;
				n -= local[k].iov_len;
			}
			if (k < cnt) {
				/* Stopped inside (or at) element k. */
				reads[idx[k++]].result = -EFAULT;
				failed++;
			}
		}
	}
	return failed;
whole:
	for (k = 0; k < nr; k++)
		reads[k].result = -r;
	return -r;
}

const struct kh_access_ops kh_access_pvreadv = {
	.name = "pvreadv",
	.klass = "V",
	.props = KH_TECHNIQUE_LIVE,
	.pid_addressed = 1,
	.batches = 1,
	.description = "process_vm_readv, many reads per system call (needs ptrace access)",
	.open = pvreadv_open,
	.read = pvreadv_read,
	.close = pvreadv_close,
};
