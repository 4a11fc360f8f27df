/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel/trace.c: recording the guest-physical reads this thread asks for
 * while a kh_trace is started. kernel/memory.c notes each read it serves;
 * when nothing is traced that is one test of a thread-local pointer.
 */
#ifndef KH_TRACE_H
#define KH_TRACE_H

#include <stdint.h>

#include "libkeyhole.h"

extern __thread struct kh_trace *kh_tracing;
void kh_trace_add(uint64_t gpa, uint32_t len);

static inline void kh_trace_note(uint64_t gpa, uint32_t len)
{
	if (__builtin_expect(kh_tracing != NULL, 0))
		kh_trace_add(gpa, len);
}

#endif /* KH_TRACE_H */
