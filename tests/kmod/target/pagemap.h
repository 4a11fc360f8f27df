/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /proc/PID/pagemap of a target, as root sees it: which frame backs a
 * page, or whether it is swapped out. Header-only, like target.h.
 */
#ifndef KT_PAGEMAP_H
#define KT_PAGEMAP_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define KT_PM_PRESENT	(1ULL << 63)
#define KT_PM_SWAPPED	(1ULL << 62)
#define KT_PM_PFN	((1ULL << 55) - 1)

/* The pagemap entries of nr pages from hva; 0 or -1. */
static inline int kt_pagemap(pid_t pid, uint64_t hva, uint64_t *ent,
			     size_t nr)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, ent, nr * 8, (off_t)(hva / 4096 * 8));
	close(fd);
	return n == (ssize_t)(nr * 8) ? 0 : -1;
}

#endif
