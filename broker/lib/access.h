/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The access technique interface: how guest-physical bytes are obtained
 * from a QEMU process. One file per technique (access_*.c), each exporting
 * a const struct kh_access_ops. Everything above this layer (the guest
 * kernel layer, the extractors) reads only through it.
 */
#ifndef KH_ACCESS_H
#define KH_ACCESS_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"

struct kh_access;

struct kh_access_ops {
	const char *name;		/* "procmem", "pvreadv", ... */
	const char *description;	/* one line for users */
	const char *klass;		/* the paper's class, "I" to "VIII" */
	unsigned int props;		/* KH_TECHNIQUE_* */
	/*
	 * Reads address QEMU by pid, not by a handle on its memory: the
	 * engine confirms QEMU is still alive after each public operation,
	 * so a reused pid can never be read by mistake.
	 */
	int pid_addressed;
	int (*open)(struct kh_access *acc, struct kh_err *err);
	/*
	 * Reads a batch. The caller guarantees each element lies inside one
	 * RAM range of acc->layout (addr is a GPA). Sets every element's
	 * result; returns how many failed, or -errno when the whole batch
	 * failed (-ESRCH: the QEMU process has gone).
	 */
	int (*read)(struct kh_access *acc, struct kh_read *reads,
		    unsigned int nr);
	void (*close)(struct kh_access *acc);
};

struct kh_access {
	const struct kh_access_ops *ops;
	pid_t pid;
	int pidfd;			/* keeps pid reuse from fooling us */
	int pagemap_fd;			/* /proc/PID/pagemap, or -1 */
	const struct kh_layout *layout;
	void *priv;			/* the technique's own state */
	_Atomic uint64_t calls, elems, bytes;
};

extern const struct kh_access_ops kh_access_procmem;
extern const struct kh_access_ops kh_access_memmap;
extern const struct kh_access_ops kh_access_pvreadv;

/* The technique called name, or NULL. */
const struct kh_access_ops *kh_access_lookup(const char *name);

/* Techniques in order of preference (fastest live first), NULL-ended. */
extern const struct kh_access_ops *const kh_access_all[];

/*
 * Which pages of [gpa, gpa + len) exist in the QEMU process (present or
 * swapped), one byte per 4 KiB page in map. Lets scans skip RAM the guest
 * never touched, which reading would otherwise allocate on the host.
 */
int kh_access_resident(struct kh_access *acc, uint64_t gpa, uint64_t len,
		       uint8_t *map, struct kh_err *err);

/* 0 while the QEMU process is alive, -ESRCH once it has exited. */
int kh_access_alive(const struct kh_access *acc);

#endif
