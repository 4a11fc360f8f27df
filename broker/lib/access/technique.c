// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * access/: how guest-physical bytes are had from a QEMU process, one file
 * per technique of the paper's eight classes (technique.h is the
 * interface), and what they share: this file (the list of techniques,
 * whether QEMU still lives, a clock), residency (residency.c), the QMP
 * connection and snapshot files of the copying techniques
 * (qmp_snapshot.c), the store of RAM copies and RAM image files
 * (snapshot_store.c), keyhole.ko's session (kmod_session.c), halting the
 * guest (halt.c) and which techniques work on a VM (availability.c).
 * It may call qemu/ (QMP, the guest agent, the gdbstub, migration
 * streams) and nothing above it: kernel/, walk/ and crawl/ call it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "access/technique.h"

/*
 * Measured on a paused TCG guest by tests/unit/test_layout_qmp.c: 64-byte
 * reads in batches of 256 cost 0.13 us each with pvreadv and 1.8 us with
 * procmem, which needs a system call per read. A lone read is cheaper with
 * procmem (1.7 us against 3.1 us, of which ~1.2 us is pvreadv's pidfd
 * check), but the engine batches its reads, so pvreadv goes first. After
 * the live memory techniques come the halting ones, the agent, interface
 * access and last the snapshots, slowest to take last; the default picks
 * only live techniques that read memory and copy nothing (vm.c).
 */
/*
 * keyhole.ko's techniques (access/kmod_session.c), measured through the engine
 * by tests/kmod/bench_ladder.c on a nested KVM guest: one warm 64-byte
 * kh_read_phys costs 1.6 us with kmap, 7 us with memmap and kread, 14 us with
 * pvreadv, 27 us with procmem (kread needs no pidfd check after each operation:
 * its fd is bound to QEMU's mm). kmap goes first: no system call per read, and
 * any RAM backend. Without the module their open fails at once (no
 * /dev/keyhole) and the order of the others is unchanged. kpause parks only the
 * vCPU threads, in the kernel: a ps walk held the guest 1 ms against ptrace's
 * 5.6 ms.
 */
const struct kh_access_ops *const kh_access_all[] = {
	&kh_access_kmap,
	&kh_access_memmap,
	&kh_access_kread,
	&kh_access_pvreadv,
	&kh_access_procmem,
	&kh_access_kpause,
	&kh_access_ptrace,
	&kh_access_gdbstub,
	&kh_access_agent,
	&kh_access_hmp,
	&kh_access_bgsnap,
	&kh_access_migrate,
	&kh_access_dump,
	&kh_access_pmemsave,
	NULL,
};

const struct kh_access_ops *kh_access_lookup(const char *name)
{
	unsigned int i;

	for (i = 0; kh_access_all[i]; i++)
		if (!strcmp(kh_access_all[i]->name, name))
			return kh_access_all[i];
	return NULL;
}

int kh_access_alive(const struct kh_access *acc)
{
	struct pollfd pfd = { .fd = acc->pidfd, .events = POLLIN };
	int r;

	/* A pidfd turns readable when the process exits. */
	if (acc->pidfd >= 0) {
		do
			r = poll(&pfd, 1, 0);
		while (r < 0 && errno == EINTR);
		if (r > 0)
			return -ESRCH;
		if (r == 0)
			return 0;
	}
	/*
	 * No pidfd (kernel < 5.3): the pid may have been reused, but a
	 * missing pid at least is certain.
	 */
	if (kill(acc->pid, 0) && errno == ESRCH)
		return -ESRCH;
	return 0;
}

int kh_access_exit_shows(const struct kh_access *acc, int ms)
{
	struct pollfd pfd = { .fd = acc->pidfd, .events = POLLIN };
	int waited, r;

	if (acc->pidfd >= 0) {
		do
			r = poll(&pfd, 1, ms);
		while (r < 0 && errno == EINTR);
		return r > 0 ? -ESRCH : kh_access_alive(acc);
	}
	for (waited = 0; waited < ms; waited += 10) {
		if (kh_access_alive(acc))
			return -ESRCH;
		poll(NULL, 0, 10);
	}
	return 0;
}

int kh_access_exited_after(const struct kh_access *acc, int ret)
{
	if (ret != -ECONNRESET && ret != -EPIPE && ret != -ENOENT)
		return kh_access_alive(acc);
	/*
	 * A QEMU being killed closes its files in do_exit() (the lost
	 * connection, or a file it was passed missing from its /proc/PID/fd)
	 * before the kernel marks it exited (its pidfd turns readable only
	 * then), and a busy host may run something else in between: wait
	 * for the exit to show, up to a second.
	 */
	return kh_access_exit_shows(acc, 1000);
}

uint64_t kh_access_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
