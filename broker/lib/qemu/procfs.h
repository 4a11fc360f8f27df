/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A host process as /proc shows it, read the way a process that may exit
 * at any moment must be read: through a descriptor of its /proc/PID
 * directory, which goes stale when the process dies rather than follow a
 * new process given the same pid, and with bounded reads. What the files
 * hold is the process's to choose (argv, comm): the parsers here take
 * any bytes.
 */
#ifndef KH_PROCFS_H
#define KH_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The /proc/PID directory of pid, or -ESRCH when there is none. */
int kh_procfs_open(pid_t pid);

/*
 * Up to size bytes of file in the directory dirfd into buf, *len of them.
 * -ESRCH once the process is gone (exited, or reaped and its pid reused).
 */
int kh_procfs_read(int dirfd, const char *file, char *buf, size_t size,
		   size_t *len);

/* A link of the directory (exe, cwd) into buf, NUL-terminated. */
int kh_procfs_readlink(int dirfd, const char *link, char *buf, size_t size);

/*
 * The number under which the process holds the open file our fd is (one
 * of them if several: same name, device and inode), -ENOENT when none;
 * its fd directory needs ptrace access to the process.
 */
int kh_procfs_find_fd(int dirfd, int fd);

struct kh_procfs_stat {
	char state;		/* R, S, D, Z, ... */
	pid_t ppid;
	uint64_t flags;		/* PF_*: PF_KTHREAD 0x00200000 */
	uint64_t start_time;	/* field 22: clock ticks after host boot */
};

/*
 * Parses /proc/PID/stat. comm, field 2, is in parentheses and may hold
 * any byte, parentheses and spaces included: the fields after it are
 * found after its last ')'. -EINVAL when the text is not such a line.
 */
int kh_procfs_parse_stat(const char *text, size_t len,
			 struct kh_procfs_stat *st);

struct kh_procfs_status {
	pid_t tgid;		/* != pid: the pid is a thread's */
	uid_t ruid, euid;
	gid_t rgid, egid;
};

/* Parses /proc/PID/status (Tgid, Uid, Gid); -EINVAL when one is missing. */
int kh_procfs_parse_status(const char *text, size_t len,
			   struct kh_procfs_status *st);

#endif /* KH_PROCFS_H */
