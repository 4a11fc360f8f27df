/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef KH_RAM_BACKING_H
#define KH_RAM_BACKING_H

#include <stdint.h>
#include <sys/types.h>

/*
 * access/ram_backing.c: the file behind a stretch of QEMU's guest RAM (a
 * memfd or file memory backend), as QEMU maps it and holds it open.
 */
struct kh_ram_backing {
	uint64_t start, end;	/* QEMU's mapping that holds the stretch */
	uint64_t offset;	/* where the mapping starts in the file */
	uint64_t inode;
	int shared;		/* MAP_SHARED: QEMU's writes reach the file */
};

/*
 * The mapping of QEMU pid that holds [hva, hva + size), in *b: 0, or
 * -ENODEV when it is anonymous memory, -ENOENT when no one mapping holds
 * it, -errno when /proc/PID/maps cannot be read.
 */
int kh_ram_backing_find(pid_t pid, uint64_t hva, uint64_t size,
			struct kh_ram_backing *b);

/*
 * The file with inode ino among QEMU's open files (/proc/PID/fd), opened
 * read-only (which needs the same ptrace access as reading its memory):
 * an fd, or -errno.
 */
int kh_ram_backing_open(pid_t pid, uint64_t ino);

#endif /* KH_RAM_BACKING_H */
