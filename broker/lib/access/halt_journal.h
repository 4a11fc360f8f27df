/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The halt journal: one file per guest that keyhole halted and has not
 * resumed yet, so that a daemon restarted after being killed (SIGKILL,
 * OOM) can resume the guests its dead predecessor left paused. Only a
 * halt keyhole made of a running guest is written: a guest its owner
 * paused is never resumed by recovery.
 *
 * An entry is named PID-STARTTIME (the QEMU process's identity, which a
 * reused pid does not share) and says how to resume it: the QMP socket,
 * or the libvirt connection and domain UUID.
 */
#ifndef KH_HALT_JOURNAL_H
#define KH_HALT_JOURNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct kh_access;
struct kh_qmp;
struct kh_target;

struct kh_halt_entry {
	pid_t pid;
	uint64_t start_time;	/* /proc/PID/stat field 22 */
	char qmp_path[108];	/* "" for a libvirt domain */
	char libvirt_uri[256];
	char uuid[37];
	/*
	 * How the guest was halted, so that recovery resumes only that
	 * halt: "stop" (QMP stop or libvirt's suspend: QEMU says paused),
	 * "gdbstub" (the owner's stub: debug), "gdbstub-monitor" (a stub
	 * keyhole started through the monitor, removed before the cont).
	 * "" in an entry of a keyhole before 0.1.1: paused or debug.
	 */
	char halt[16];
};

/* Longest entry file: the parser reads no more. */
#define KH_HALT_ENTRY_MAX	1024

/* Pure: the entry's file name, and its text; -ENAMETOOLONG if too small. */
int kh_halt_entry_name(const struct kh_halt_entry *e, char *buf, size_t size);
int kh_halt_entry_format(const struct kh_halt_entry *e, char *buf,
			 size_t size);
/*
 * Pure: parses an entry's text strictly (every line known, in order, once;
 * numbers in range; paths absolute and printable). -EINVAL otherwise.
 */
int kh_halt_entry_parse(const char *text, size_t len,
			struct kh_halt_entry *e);

/* The start time of process pid from /proc; -ESRCH when there is none. */
int kh_halt_start_time(pid_t pid, uint64_t *start_time);

/*
 * Writes e into the journal directory dir, atomically (a temporary file
 * renamed into place, fsync'd): the guest may be halted only once it is
 * there. Removing a missing entry is not an error.
 */
int kh_halt_journal_write(const char *dir, const struct kh_halt_entry *e,
			  struct kh_err *err);
void kh_halt_journal_remove(const char *dir, const struct kh_halt_entry *e);

/*
 * Has the QMP client journal its "stop" (before sending it) and forget it
 * after "cont" or when closed, when acc has a journal. For the halting
 * ways that go through QMP (halt.c, kh_access_qmp()).
 */
int kh_access_journal_qmp(const struct kh_access *acc, struct kh_qmp *qmp,
			  struct kh_err *err);

/*
 * For a technique that halts the guest without QMP "stop" (gdbstub): call
 * begin just before halting, and do not halt when it fails; it asks QEMU
 * through QMP whether the guest runs and journals the halt only if so (a
 * guest someone else paused is never journalled). Call end once the guest
 * runs again, or when the halt did not happen (harmless without a begin).
 * Recovery resumes such a guest through QMP "cont". Without a journal
 * both do nothing. begin returns 1 when it wrote an entry, 0 when it had
 * none to write: end is for the first case only, or it would remove
 * another halter's entry for the same QEMU.
 */
int kh_access_halt_journal_begin(const struct kh_access *acc,
				 const char *halt, struct kh_err *err);
void kh_access_halt_journal_end(const struct kh_access *acc);

#endif /* KH_HALT_JOURNAL_H */
