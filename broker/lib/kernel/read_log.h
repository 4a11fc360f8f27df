/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel/read_log.c: every read one part of a crawl made (its address,
 * its length, what it returned), recorded on this thread between begin
 * and end, so that a later crawl can ask whether all of them would read
 * the same now. A walker's result is a function of the bytes it read
 * (each address it reads comes from bytes it read before, or from its
 * inputs): when every recorded read gives the same bytes again, walking
 * again would make the same reads and return the same result.
 *
 * kernel/memory.c notes the outermost reads only (kh_kva_fetch, and
 * kh_gpa_fetch not made on behalf of one): a kernel-virtual read is
 * checked again through today's translation.
 */
#ifndef KH_READ_LOG_H
#define KH_READ_LOG_H

#include <stdint.h>

#include "err.h"

struct kh_vm;
struct kh_read;
struct kh_read_log;

enum kh_space { KH_SPACE_GPA, KH_SPACE_KVA };

/* Starts recording this thread's reads; NULL log: out of memory. */
void kh_read_log_begin(struct kh_read_log **logp);
/*
 * Stops recording. The log is usable (0) unless a read went unrecorded
 * (out of memory) or the walk read again after kh_vm_fresh (it saw the
 * guest change under it): then -EAGAIN, and nothing can be judged by it.
 */
int kh_read_log_end(struct kh_read_log *log);
void kh_read_log_get(struct kh_read_log *log);
/* What the log holds, in bytes. */
uint64_t kh_read_log_bytes(const struct kh_read_log *log);
void kh_read_log_put(struct kh_read_log *log);

/*
 * Makes a finished log quick to check: its reads of guest-physical memory
 * and of the kernel's linear map become a few spans of guest-physical
 * bytes, read now between the reads and as the walk saw them on them.
 * 0, or -errno with the log broken (nothing can be judged by it).
 */
int kh_read_log_seal(struct kh_vm *vm, struct kh_read_log *log);

/*
 * Whether every read in each of logs[0..nr) reads the same now, all in
 * one batch: same[i] 1 or 0. 0, or -errno for the whole check.
 */
int kh_read_logs_same(struct kh_vm *vm, struct kh_read_log *const *logs,
		      unsigned int nr, int *same, struct kh_err *err);

/* For kernel/memory.c and kernel/page_cache.c. */
extern __thread struct kh_read_log *kh_logging;
void kh_read_log_add(enum kh_space space, const struct kh_read *reads,
		     unsigned int nr);
void kh_read_log_taint(void);

static inline void kh_read_log_note(enum kh_space space,
				    const struct kh_read *reads,
				    unsigned int nr)
{
	if (__builtin_expect(kh_logging != NULL, 0))
		kh_read_log_add(space, reads, nr);
}

#endif /* KH_READ_LOG_H */
