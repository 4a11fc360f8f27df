/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU processes as /proc shows them, for host-wide discovery
 * (kh_qemu_discover, kh_qemu_identify) and for finding the process
 * behind a VM spec (process.c): one reading of a process serves both.
 */
#ifndef KH_QEMU_DISCOVER_H
#define KH_QEMU_DISCOVER_H

#include "libkeyhole.h"
#include "qemu/process.h"

/* /proc/PID/cmdline is rarely a tenth of this. */
#define KH_QEMU_CMDLINE_MAX	(1 << 20)

/*
 * Whether an executable's path (or argv[0]) names QEMU: its last
 * component, less a trailing " (deleted)", is qemu-system-* or qemu-kvm.
 */
int kh_qemu_exe_is_qemu(const char *path);

/* What one reading of a QEMU process saw. */
struct kh_qemu_view {
	struct kh_qemu_proc proc;
	struct kh_target t;
	/*
	 * 0, or why the command line could not be read or parsed (its
	 * fields are then empty in proc and t): -E2BIG, -EINVAL, ...
	 */
	int cmdline_ret;
	struct kh_err cmdline_err;
	char cmdline[KH_QEMU_CMDLINE_MAX];
};

/*
 * Reads process pid into view: 0 when it is QEMU (view->cmdline_ret says
 * whether its command line could be parsed too); -ESRCH when there is no
 * such process (exited, a zombie, or pid is a thread's), -ENOEXEC when
 * it is not QEMU, each with a message in err.
 */
int kh_qemu_read(pid_t pid, struct kh_qemu_view *view, struct kh_err *err);

/*
 * kh_qemu_discover() for a caller that keeps what it read before
 * (keyholed's rescan): a process for which known(pid, priv) returns 1 is
 * left out of the list unread. known must tell the same process from a
 * new one with the pid (keyholed: the pidfd it holds has not said exit).
 */
int kh_qemu_discover_known(struct kh_qemu_proc **listp, unsigned int *nr,
			   int (*known)(pid_t pid, void *priv),
			   void *priv, struct kh_err *err);

#endif /* KH_QEMU_DISCOVER_H */
