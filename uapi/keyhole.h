/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * keyhole.ko's ABI: the /dev/keyhole character device, the per-VM file
 * descriptors it hands out, and the "keyhole" generic netlink family.
 *
 * Every ioctl argument is an extensible struct whose first member is
 * __u32 size, set by the caller to sizeof() the struct it was compiled
 * with. The kernel accepts a smaller struct from an older caller and a
 * larger one from a newer caller as long as the bytes it does not know are
 * zero. Arrays of structs (ranges, read entries) grow the same way: the
 * caller says the size of one element (range_size, entry_size), at least
 * the first version's. Command numbers are only ever appended. Reserved
 * fields must be 0.
 *
 * The argument is written back before the command acts: one that cannot
 * be written (a read-only page) fails with EFAULT and changes nothing.
 * Should writing the result fail after the command acted (the caller took
 * write access away meanwhile), ATTACH and PAUSE are undone; RESUME and
 * SET_RANGES have taken effect although the call says EFAULT.
 *
 * Probe with KEYHOLE_API before anything else: it says which commands and
 * features this module has.
 *
 * The flow: open /dev/keyhole (root), KEYHOLE_ATTACH to a QEMU process to
 * get a per-VM fd, KEYHOLE_SET_RANGES to say where guest RAM lives in
 * QEMU, then mmap the per-VM fd read-only at offset = guest physical
 * address (GPA), or KEYHOLE_READ batches, and KEYHOLE_PAUSE/RESUME.
 *
 * Errors common to every command:
 *   EINVAL  size is smaller than the command's first version, or a
 *           reserved field or unknown flag is set
 *   E2BIG   size (or an element size) is larger than the kernel knows
 *           and the extra bytes are not zero, or larger than a page:
 *           E2BIG means only this
 *   EFAULT  the argument pointer (or a pointer inside it) is bad
 *   ENOTTY  unknown command, or a command sent to the wrong kind of fd
 *   ESRCH   (per-VM fd) the QEMU process has exited; only close and
 *           KEYHOLE_VM_INFO (which then reports KEYHOLE_VM_EXITED) are left
 *
 * KEYHOLE_ATTACH:
 *   ESRCH   no such process, or the pidfd's process has exited
 *   EBADF   KEYHOLE_ATTACH_PIDFD and pidfd is not a pidfd
 *   EPERM   the caller may not open the process's /proc/PID/mem (a
 *           ptrace attach check with the caller's fs credentials, LSMs
 *           such as Yama included): keyhole grants nothing more
 *   EINVAL  the process is the caller itself, or a kernel thread, or a
 *           flag or reserved field is set
 *   EAGAIN  the process ran execve() during the attach; try again
 * KEYHOLE_SET_RANGES:
 *   EINVAL  a range is empty, not page aligned, overlaps another in GPA,
 *           nr_ranges is above KEYHOLE_RANGES_MAX, or range_size is
 *           smaller than the first struct keyhole_range
 *   ENXIO   a range is not fully backed by ordinary mappings of the QEMU
 *           process (a hole, VM_IO/VM_PFNMAP such as a keyhole mirror,
 *           secret memory, or not readable)
 *   ENOENT  KEYHOLE_RANGES_FROM_KVM and the process has no KVM VM
 *   ENOSPC  KEYHOLE_RANGES_FROM_KVM and nr_ranges is too small; nr_ranges
 *           is set to the number needed (the struct is written back)
 *   EOVERFLOW  KEYHOLE_RANGES_FROM_KVM and KVM has more than
 *           KEYHOLE_RANGES_MAX memslots
 *   nr_ranges = 0 without KEYHOLE_RANGES_FROM_KVM removes every range.
 * KEYHOLE_READ (per entry, in result):
 *   -ENXIO  the GPA span is not inside one range
 *   -EFAULT the entry's buffer is bad
 *   -EIO    the page could not be obtained from QEMU (unmapped since, or
 *           secret memory)
 *   -EINVAL len is above INT_MAX
 * The ioctl itself fails with EINVAL when nr is above KEYHOLE_READ_MAX
 * or entry_size is too small, with EFAULT when the entries themselves
 * cannot be read or their results written, and with EINTR on a fatal
 * signal; nr_done and nr_failed are written back even then, and say how
 * many entries have their result.
 * mmap of a per-VM fd:
 *   EACCES  a writable or executable mapping was asked for (mprotect()
 *           cannot add either later: EACCES too)
 *   EINVAL  not MAP_SHARED, or into the QEMU process's own address space
 *   ESRCH   the QEMU process has exited
 *   Touching a GPA outside every range, or after QEMU exited: SIGBUS.
 *   The mapping is not inherited across fork(), even after
 *   madvise(MADV_DOFORK) (which it refuses).
 * KEYHOLE_PAUSE:
 *   ENOENT  no vCPU thread found: a vCPU thread is one that runs a
 *           vCPU of the process's KVM VM (it entered KVM_RUN), or one
 *           with QEMU's names "CPU n/KVM", "CPU n/TCG", "ALL CPUs/TCG"
 *           (-name ...,debug-threads=on). TCG without debug-threads, or
 *           a KVM VM whose vCPUs never ran: pass KEYHOLE_PAUSE_ALL_THREADS
 *   ERANGE  more than 4096 threads to park
 *   ESRCH   QEMU exited during the call, or the process has run execve()
 *           since the attach (its threads are another program's now)
 *   ETIMEDOUT  not every thread parked within timeout_ms; nothing stays
 *           paused
 *   EINTR   a signal arrived while waiting; nothing stays paused
 *   EBUSY   a thread has not yet run what an earlier pause (of any fd)
 *           left it (it is stopped, traced, or in an uninterruptible
 *           sleep): no new pause until it has
 *   EBADF   the calling process closed the fd while the pause was being
 *           taken; nothing stays paused
 *   EOVERFLOW  pauses nested deeper than KEYHOLE_PAUSE_DEPTH_MAX
 *   A pause also ends when the process that took it closes the fd (any
 *   of its fds for the file: close of a dup() ends it too), and when its
 *   timeout runs out.
 * KEYHOLE_RESUME:
 *   EALREADY  this fd holds no pause (it may have expired: see netlink)
 */
#ifndef _UAPI_LINUX_KEYHOLE_H
#define _UAPI_LINUX_KEYHOLE_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define KEYHOLE_TYPE 0xbe

/* Append only. One numbering for /dev/keyhole and per-VM fds. */
enum {
	KEYHOLE_CMD_BASE = 0x80,
	KEYHOLE_CMD_API = KEYHOLE_CMD_BASE,	/* /dev/keyhole */
	KEYHOLE_CMD_ATTACH,			/* /dev/keyhole */
	KEYHOLE_CMD_SET_RANGES,			/* per-VM fd */
	KEYHOLE_CMD_VM_INFO,			/* per-VM fd */
	KEYHOLE_CMD_READ,			/* per-VM fd */
	KEYHOLE_CMD_PAUSE,			/* per-VM fd */
	KEYHOLE_CMD_RESUME			/* per-VM fd */
};

#define KEYHOLE_API_VERSION 2

/* KEYHOLE_API features */
#define KEYHOLE_FEATURE_MAP		_BITULL(0)	/* coherent mmap */
#define KEYHOLE_FEATURE_READ		_BITULL(1)	/* KEYHOLE_READ */
#define KEYHOLE_FEATURE_PAUSE		_BITULL(2)	/* PAUSE/RESUME */
#define KEYHOLE_FEATURE_KVM_RANGES	_BITULL(3)	/* from memslots */
#define KEYHOLE_FEATURE_NETLINK		_BITULL(4)	/* genl family */

/**
 * struct keyhole_api - KEYHOLE_API: the handshake
 * @size: sizeof(struct keyhole_api)
 * @api_version: out: KEYHOLE_API_VERSION of the module
 * @features: out: KEYHOLE_FEATURE_* bits the module implements
 * @ioctls: out: bit n set when command KEYHOLE_CMD_BASE + n exists
 */
struct keyhole_api {
	__u32 size;
	__u32 api_version;
	__aligned_u64 features;
	__aligned_u64 ioctls;
};

#define KEYHOLE_API _IO(KEYHOLE_TYPE, KEYHOLE_CMD_API)

#define KEYHOLE_ATTACH_PIDFD	0x1U	/* @pid is a pidfd */

/**
 * struct keyhole_attach - KEYHOLE_ATTACH: a per-VM fd for a QEMU process
 * @size: sizeof(struct keyhole_attach)
 * @flags: KEYHOLE_ATTACH_*
 * @pid: the QEMU process (thread group id), or a pidfd of it
 * @vm_fd: out: the new per-VM file descriptor (O_CLOEXEC)
 * @reserved: must be 0
 * @session_id: out: the id netlink reports for this attachment
 */
struct keyhole_attach {
	__u32 size;
	__u32 flags;
	__s32 pid;
	__s32 vm_fd;
	__aligned_u64 reserved;
	__aligned_u64 session_id;
};

#define KEYHOLE_ATTACH _IO(KEYHOLE_TYPE, KEYHOLE_CMD_ATTACH)

/**
 * struct keyhole_range - guest RAM at [gpa, gpa + len) is QEMU's
 *	[hva, hva + len)
 * All three are multiples of the page size. Grows at its end only; pass
 * sizeof() as keyhole_set_ranges.range_size.
 */
struct keyhole_range {
	__aligned_u64 gpa;
	__aligned_u64 hva;
	__aligned_u64 len;
};

#define KEYHOLE_RANGES_MAX	256
#define KEYHOLE_RANGES_FROM_KVM	0x1U	/* read the KVM memslots */

/**
 * struct keyhole_set_ranges - KEYHOLE_SET_RANGES: where guest RAM lives
 * @size: sizeof(struct keyhole_set_ranges)
 * @flags: KEYHOLE_RANGES_*
 * @nr_ranges: in: entries at @ranges; out (FROM_KVM): entries filled, or
 *	needed on ENOSPC
 * @range_size: sizeof(struct keyhole_range) as the caller knows it: the
 *	stride of @ranges
 * @ranges: user pointer to nr_ranges entries of range_size bytes; with
 *	KEYHOLE_RANGES_FROM_KVM the module fills it with what it used (and
 *	zeroes what it does not know of each entry)
 *
 * Replaces any earlier ranges atomically: existing mappings of the per-VM
 * fd are zapped and refault against the new ranges.
 */
struct keyhole_set_ranges {
	__u32 size;
	__u32 flags;
	__u32 nr_ranges;
	__u32 range_size;
	__aligned_u64 ranges;
};

#define KEYHOLE_SET_RANGES _IO(KEYHOLE_TYPE, KEYHOLE_CMD_SET_RANGES)

#define KEYHOLE_VM_EXITED	0x1U	/* QEMU has exited */
#define KEYHOLE_VM_PAUSED	0x2U	/* this fd holds a pause */
#define KEYHOLE_VM_KVM		0x4U	/* QEMU has a KVM VM */

/**
 * struct keyhole_vm_info - KEYHOLE_VM_INFO: the state of a per-VM fd
 * @size: sizeof(struct keyhole_vm_info)
 * @flags: out: KEYHOLE_VM_*
 * @pid: out: the QEMU process in the caller's pid namespace, 0 if gone
 * @nr_ranges: out: ranges set
 * @ram_bytes: out: sum of the ranges' lengths
 * @session_id: out: as KEYHOLE_ATTACH returned
 * @bytes_read: out: bytes returned by KEYHOLE_READ
 * @faults: out: pages mapped into mmaps of this fd
 * @invalidations: out: times QEMU's memory changed under a mapping
 * @pauses: out: pauses that parked the VM
 * @pause_depth: out: current nesting of this fd's pause
 * @nr_vcpus: out: vCPU threads found at the last pause
 */
struct keyhole_vm_info {
	__u32 size;
	__u32 flags;
	__s32 pid;
	__u32 nr_ranges;
	__aligned_u64 ram_bytes;
	__aligned_u64 session_id;
	__aligned_u64 bytes_read;
	__aligned_u64 faults;
	__aligned_u64 invalidations;
	__aligned_u64 pauses;
	__u32 pause_depth;
	__u32 nr_vcpus;
};

#define KEYHOLE_VM_INFO _IO(KEYHOLE_TYPE, KEYHOLE_CMD_VM_INFO)

/**
 * struct keyhole_read_entry - one read of a KEYHOLE_READ batch
 * @gpa: guest physical address
 * @buf: user pointer to len bytes
 * @len: bytes to read; the span must lie in one range
 * @result: out: len, or -errno for this entry alone
 *
 * Grows at its end only; pass sizeof() as keyhole_read.entry_size. Only
 * @result is ever written back.
 */
struct keyhole_read_entry {
	__aligned_u64 gpa;
	__aligned_u64 buf;
	__u32 len;
	__s32 result;
};

#define KEYHOLE_READ_MAX	4096	/* entries per call */

/**
 * struct keyhole_read - KEYHOLE_READ: many reads in one call
 * @size: sizeof(struct keyhole_read)
 * @flags: must be 0
 * @nr: entries at @entries
 * @entry_size: sizeof(struct keyhole_read_entry) as the caller knows it:
 *	the stride of @entries
 * @entries: user pointer to nr entries of entry_size bytes
 * @nr_done: out: entries 0 .. nr_done - 1 have their result, also when
 *	the call fails (EINTR, EFAULT): the rest are untouched
 * @nr_failed: out: among those, entries whose result is negative
 */
struct keyhole_read {
	__u32 size;
	__u32 flags;
	__u32 nr;
	__u32 entry_size;
	__aligned_u64 entries;
	__u32 nr_done;
	__u32 nr_failed;
};

#define KEYHOLE_READ _IO(KEYHOLE_TYPE, KEYHOLE_CMD_READ)

#define KEYHOLE_PAUSE_ALL_THREADS	0x1U	/* not only vCPUs */
#define KEYHOLE_PAUSE_DEPTH_MAX		64

/**
 * struct keyhole_pause - KEYHOLE_PAUSE: stop every vCPU thread
 * @size: sizeof(struct keyhole_pause)
 * @flags: KEYHOLE_PAUSE_*
 * @timeout_ms: the pause ends by itself after this long; 0 means the
 *	module parameter pause_timeout_ms, which also caps it
 * @nr_threads: out: threads parked
 * @depth: out: this fd's pause nesting after the call
 * @park_ns: out: time from the request until every thread was parked
 *	(0 when the VM was already paused by this fd)
 *
 * Returns once every thread is out of guest mode and parked in the
 * kernel. Nothing is visible to QEMU: no signal, no ptrace.
 */
struct keyhole_pause {
	__u32 size;
	__u32 flags;
	__u32 timeout_ms;
	__u32 nr_threads;
	__u32 depth;
	__u32 reserved;
	__aligned_u64 park_ns;
};

#define KEYHOLE_PAUSE _IO(KEYHOLE_TYPE, KEYHOLE_CMD_PAUSE)

/**
 * struct keyhole_resume - KEYHOLE_RESUME: undo one KEYHOLE_PAUSE
 * @size: sizeof(struct keyhole_resume)
 * @flags: must be 0
 * @depth: out: nesting left; the threads run again when it reaches 0
 * @reserved: must be 0
 * @paused_ns: out: how long the VM was stopped, when depth reached 0
 */
struct keyhole_resume {
	__u32 size;
	__u32 flags;
	__u32 depth;
	__u32 reserved;
	__aligned_u64 paused_ns;
};

#define KEYHOLE_RESUME _IO(KEYHOLE_TYPE, KEYHOLE_CMD_RESUME)

/*
 * Generic netlink family KEYHOLE_GENL_NAME. Every command needs
 * CAP_NET_ADMIN. Events go to the multicast group KEYHOLE_GENL_MCGRP.
 */
#define KEYHOLE_GENL_NAME	"keyhole"
#define KEYHOLE_GENL_VERSION	1
#define KEYHOLE_GENL_MCGRP	"events"

enum keyhole_genl_cmd {
	KEYHOLE_GENL_CMD_UNSPEC,
	KEYHOLE_GENL_CMD_GET_SESSIONS,	/* dump: one message per session */
	KEYHOLE_GENL_CMD_VM_EXITED,	/* event */
	KEYHOLE_GENL_CMD_LAYOUT_CHANGED,/* event: ranges replaced */
	KEYHOLE_GENL_CMD_PAUSE_ENDED,	/* event: ended by the module */
	__KEYHOLE_GENL_CMD_MAX
};

#define KEYHOLE_GENL_CMD_MAX (__KEYHOLE_GENL_CMD_MAX - 1)

/* KEYHOLE_GENL_A_PAUSE_END values: why the module ended a pause */
enum keyhole_pause_end {
	KEYHOLE_PAUSE_END_TIMEOUT = 1,	/* timeout_ms ran out */
	KEYHOLE_PAUSE_END_CLOSED,	/* the pausing fd was closed */
	KEYHOLE_PAUSE_END_EXITED	/* QEMU exited */
};

enum keyhole_genl_attr {
	KEYHOLE_GENL_A_UNSPEC,
	KEYHOLE_GENL_A_SESSION_ID,	/* u64 */
	KEYHOLE_GENL_A_PID,		/* u32, in the init pid namespace */
	KEYHOLE_GENL_A_COMM,		/* string: the QEMU process's comm */
	KEYHOLE_GENL_A_NR_RANGES,	/* u32 */
	KEYHOLE_GENL_A_RAM_BYTES,	/* u64 */
	KEYHOLE_GENL_A_BYTES_READ,	/* u64 */
	KEYHOLE_GENL_A_FAULTS,		/* u64 */
	KEYHOLE_GENL_A_INVALIDATIONS,	/* u64 */
	KEYHOLE_GENL_A_PAUSES,		/* u64 */
	KEYHOLE_GENL_A_PAUSE_DEPTH,	/* u32 */
	KEYHOLE_GENL_A_PAUSE_END,	/* u32: enum keyhole_pause_end */
	KEYHOLE_GENL_A_PAUSED_NS,	/* u64 */
	KEYHOLE_GENL_A_PAD,
	__KEYHOLE_GENL_A_MAX
};

#define KEYHOLE_GENL_A_MAX (__KEYHOLE_GENL_A_MAX - 1)

#endif /* _UAPI_LINUX_KEYHOLE_H */
