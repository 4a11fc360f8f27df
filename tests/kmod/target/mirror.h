/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks on a keyhole mirror of a target (target.h): whether a span of
 * the mapping shows what the target last wrote there, and whether a
 * touch of it raises SIGBUS. Header-only, like target.h.
 */
#ifndef KT_MIRROR_H
#define KT_MIRROR_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

/*
 * The first u64 of map[off, off + len) that is not kt_tgt_word(stamp, o)
 * (or, same_page, kt_tgt_word(stamp, o % 4096)); -1 if all are.
 */
static inline long long kt_mirror_diff(const uint8_t *map, uint64_t off,
				       uint64_t len, uint64_t stamp,
				       bool same_page)
{
	uint64_t o, want;

	for (o = off; o < off + len; o += 8) {
		want = kt_tgt_word(stamp, same_page ? o % 4096 : o);
		if (*(volatile const uint64_t *)(map + o) != want)
			return (long long)o;
	}
	return -1;
}

/* Whether map[off, off + len) reads as zeros. */
static inline bool kt_mirror_zero(const uint8_t *map, uint64_t off,
				  uint64_t len)
{
	uint64_t o;

	for (o = off; o < off + len; o += 8)
		if (*(volatile const uint64_t *)(map + o))
			return false;
	return true;
}

static sigjmp_buf kt_mirror_jmp;

static inline void kt_mirror_on_sigbus(int sig)
{
	siglongjmp(kt_mirror_jmp, sig);
}

/* Whether reading the u64 at p raises SIGBUS (and nothing else). */
static inline bool kt_mirror_sigbus(const volatile uint64_t *p)
{
	struct sigaction sa, old;
	bool bus = false;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_mirror_on_sigbus;
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(kt_mirror_jmp, 1) == 0)
		(void)*p;
	else
		bus = true;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

#endif
