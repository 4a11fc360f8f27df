/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef KH_MEMORY_H
#define KH_MEMORY_H

#include <stdint.h>

#include "err.h"

struct kh_vm;
struct kh_read;

/*
 * kernel/memory.c: the engine's own reads of guest memory, fetched by
 * guest-physical (gpa) or kernel-virtual (kva) address. Unlike the public
 * kh_read_phys() and kh_read_kva(), they do not confirm that QEMU is
 * still alive (one poll per read would double the cost of a walk): every
 * public operation calls kh_vm_verify() once at its end instead.
 */
int kh_kva_to_gpa(struct kh_vm *vm, uint64_t va, uint64_t *gpa,
		  uint64_t *contiguous, struct kh_err *err);
/* kh_gpa_fetch or kh_kva_fetch, for code that takes either. */
typedef int (*kh_fetch_fn)(struct kh_vm *vm, struct kh_read *reads,
			   unsigned int nr, struct kh_err *err);

/*
 * 1 when [va, va + len) lies in the kernel image or the direct map, whose
 * translation is fixed for the boot (no page table is read): *gpa is its
 * start.
 */
int kh_kva_linear(const struct kh_vm *vm, uint64_t va, uint64_t len,
		  uint64_t *gpa);
int kh_gpa_fetch(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err);
int kh_kva_fetch(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err);
/* As kh_gpa_fetch, for small reads far apart, read once (ops->scan). */
int kh_gpa_scan(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		struct kh_err *err);
int kh_gpa_fetch_one(struct kh_vm *vm, uint64_t gpa, void *buf, uint32_t len,
		     struct kh_err *err);
int kh_kva_fetch_one(struct kh_vm *vm, uint64_t va, void *buf, uint32_t len,
		     struct kh_err *err);
/*
 * A page-table entry for kh_pgtable_walk (opaque is the kh_vm): as
 * kh_gpa_fetch_one of 8 bytes, copied inline where the technique maps
 * guest RAM (a crawl reads thousands of them).
 */
int kh_gpa_pte(void *opaque, uint64_t gpa, uint64_t *entry);
/*
 * Whether guest RAM at [gpa, gpa + len) holds bytes now, compared in
 * place where the technique maps it (no copy): 1 or 0; -1 where it does
 * not, for the caller to read it.
 */
int kh_gpa_same(struct kh_vm *vm, uint64_t gpa, const void *bytes,
		uint64_t len);
/*
 * Ends a public operation: resumes a guest a halting technique paused for
 * it, then -ESRCH (with err set) if QEMU exited, so reads may not have
 * been its.
 */
int kh_vm_verify(struct kh_vm *vm, struct kh_err *err);
/*
 * An operation made of public ones (a crawl: every view, and cmdline and
 * rss of each process) confirms QEMU's life once at its own end, not
 * about 90 times: kh_vm_verify on this thread skips that check for vm
 * until kh_vm_verify_resume(), which returns what the skipped ones would
 * have, and still resumes a halting technique's pause each time. 1 when
 * an operation around this one deferred it already (then only that one
 * resumes), else 0.
 */
int kh_vm_verify_defer(const struct kh_vm *vm);
int kh_vm_verify_resume(struct kh_vm *vm, struct kh_err *err);
/*
 * -EOPNOTSUPP (with err set) when the technique sees OS state rather than
 * memory (the agent): there is no kernel profile to extract with. Every
 * public extractor calls it first.
 */
int kh_vm_need_memory(const struct kh_vm *vm, struct kh_err *err);

#endif /* KH_MEMORY_H */
