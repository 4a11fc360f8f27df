/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsing the guest's own /proc text (as an agent returns it) into struct
 * kh_task. The text comes from the guest, so it is untrusted: a process
 * may name itself "a) R 1 (" or put a newline in its name. Pure functions,
 * tested on hostile input in tests/unit/test_qga_proc.c.
 */
#ifndef KH_GUEST_PROC_H
#define KH_GUEST_PROC_H

#include <stddef.h>

#include "libkeyhole.h"

/*
 * USER_HZ: the unit of starttime in /proc/PID/stat, 100 on every Linux
 * architecture keyhole reads (x86-64 fixes it in its ABI).
 */
#define KH_GUEST_USER_HZ 100

/*
 * One line of /proc/PID/stat (no newline needed) into t: pid, tgid (=
 * pid), ppid, comm, state, flags, nr_threads, start_time, cpu_time
 * (its process's) and tty. -EBADMSG when the line is not a stat line.
 */
int kh_guest_parse_stat(const char *line, size_t len, struct kh_task *t);

/*
 * A terminal's device number (tty_nr of /proc/PID/stat) as ps names the
 * common ones ("pts/0", "ttyS0", "tty1", "console"), else "MAJOR:MINOR";
 * "" for 0. name holds KH_TTY_LEN bytes.
 */
void kh_guest_tty_name(uint32_t dev, char *name);

struct kh_guest_ids {
	int pid;
	unsigned int uid, gid;		/* real ids */
	unsigned int euid, egid;	/* effective ids */
};

/*
 * The concatenation of many /proc/PID/status files: one kh_guest_ids per
 * file that has Pid, Uid and Gid, in order, into ids (at most max).
 * Returns how many, or -E2BIG when there were more than max.
 */
int kh_guest_parse_status(const char *text, size_t len,
			  struct kh_guest_ids *ids, size_t max);

#endif
