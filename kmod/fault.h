/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fault injection for the module's tests, in a build made with
 * KEYHOLE_FAULT_INJECT=y only (tests/kmod/run makes one beside the real
 * module). Its parameter fail_nth = N makes the Nth fallible step from
 * then on fail once, as if memory ran out, as the kernel's
 * /proc/self/task/TID/fail-nth does (CONFIG_FAULT_INJECTION is not in
 * Debian's kernel). tests/kmod/test_fail_nth walks every N through
 * ATTACH, SET_RANGES and PAUSE. In a normal build keyhole_fail() is a
 * constant false and the compiler removes every use of it.
 */
#ifndef _KEYHOLE_FAULT_H
#define _KEYHOLE_FAULT_H

#include <linux/types.h>

#ifdef KEYHOLE_FAULT_INJECT
bool keyhole_fail(void);
#else
static inline bool keyhole_fail(void)
{
	return false;
}
#endif

/* A pointer-returning allocation that may be made to fail. */
#define keyhole_fail_or(alloc) (keyhole_fail() ? NULL : (alloc))

#endif /* _KEYHOLE_FAULT_H */
