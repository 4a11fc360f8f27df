/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The insides of a kh_ctx and a kh_vm, shared by the files that make up
 * the engine. A kh_vm is immutable after kh_vm_open() returns, which is
 * what makes concurrent reads on one handle safe.
 */
#ifndef KH_VM_H
#define KH_VM_H

#include <pthread.h>

#include "access.h"
#include "kernel.h"
#include "layout.h"
#include "profile.h"
#include "target.h"

struct kh_ctx_profile {
	struct kh_profile *profile;
	struct kh_ctx_profile *next;
};

struct kh_ctx {
	char cache_dir[4096];		/* "" disables the disk cache */
	pthread_mutex_t lock;		/* protects profiles */
	struct kh_ctx_profile *profiles;
};

struct kh_vm {
	struct kh_ctx *ctx;
	/* The only mutable part: who paused the guest, under pause_lock. */
	pthread_mutex_t pause_lock;
	unsigned int pause_depth;
	int paused_by_us;
	struct kh_qmp *pause_qmp;
	struct kh_target target;
	struct kh_layout layout;
	struct kh_access acc;
	struct kh_profile *profile;
	struct kh_kernel kernel;
	double attach_ms;
};

/* kernel_locate.c: finds the kernel and sets vm->profile, vm->kernel. */
int kh_kernel_locate(struct kh_vm *vm, struct kh_err *err);

/* ctx.c: profile sharing between VMs of one context. */
struct kh_profile *kh_ctx_find_profile(struct kh_ctx *ctx,
				       int (*match)(const struct kh_profile *,
						    void *),
				       void *opaque);
/* Returns the registered profile (maybe an equal one registered first). */
struct kh_profile *kh_ctx_add_profile(struct kh_ctx *ctx,
				      struct kh_profile *profile);

/*
 * vm_read.c. The internal reads below do not confirm that QEMU is still
 * alive (one poll per read would double the cost of a walk); every public
 * operation calls kh_vm_verify() once at its end instead.
 */
int kh_kva_to_gpa(struct kh_vm *vm, uint64_t va, uint64_t *gpa,
		  uint64_t *contiguous, struct kh_err *err);
int kh_phys_read(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err);
int kh_kva_read(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		struct kh_err *err);
int kh_read_phys_one(struct kh_vm *vm, uint64_t gpa, void *buf, uint32_t len,
		     struct kh_err *err);
int kh_read_kva_one(struct kh_vm *vm, uint64_t va, void *buf, uint32_t len,
		    struct kh_err *err);
/* -ESRCH (with err set) if QEMU exited, so reads may not have been its. */
int kh_vm_verify(struct kh_vm *vm, struct kh_err *err);

#endif
