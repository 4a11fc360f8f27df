/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The insides of a kh_ctx and a kh_vm, shared by the files that make up
 * the engine. A kh_vm is immutable after kh_vm_open() returns, which is
 * what makes concurrent reads on one handle safe.
 */
#ifndef KH_VM_H
#define KH_VM_H

#include <limits.h>
#include <pthread.h>

#include "access/technique.h"
#include "kernel/locate.h"
#include "qemu/ram_layout.h"
#include "kernel/profile.h"
#include "qemu/process.h"

struct kh_ctx_profile {
	struct kh_profile *profile;
	struct kh_ctx_profile *next;
};

struct kh_ctx {
	char cache_dir[4096];		/* "" disables the disk cache */
	pthread_mutex_t lock;		/* protects profiles */
	struct kh_ctx_profile *profiles;
	char halt_journal[PATH_MAX];	/* "": no halt journal */
};

struct kh_vm {
	struct kh_ctx *ctx;
	/*
	 * This handle among every one the process opened: what an
	 * incremental crawl's memo names its VM by (a handle closed and
	 * opened again often gets the same address).
	 */
	uint64_t serial;
	/*
	 * The only mutable part, under pause_lock: who paused the guest.
	 * pause_depth counts kh_vm_pause calls; op_paused is set while a
	 * halting technique holds the guest for one public operation: its
	 * first read pauses, kh_vm_verify (every operation ends with it)
	 * or kh_vm_close resumes.
	 */
	pthread_mutex_t pause_lock;
	unsigned int pause_depth;
	int paused_by_us;
	int op_paused;
	/* ptrace stops can only be undone by the thread that made them. */
	pthread_t op_pauser;
	struct kh_qmp *pause_qmp;
	struct kh_target target;
	struct kh_layout layout;
	struct kh_access acc;
	/* kh_vm_config's strings, which acc points to */
	char tmpdir[PATH_MAX];
	char keep_snapshot[PATH_MAX];
	struct kh_profile *profile;
	struct kh_kernel kernel;
	double attach_ms;
};

/*
 * vm.c, for the other ways in (access/availability.c): a handle with no
 * VM yet, the QEMU process and RAM layout behind spec, the access state
 * before a technique opens, whether spec is a RAM image file.
 */
int kh_vm_alloc(const struct kh_vm_config *cfg, struct kh_vm **vmp,
		struct kh_err *err);
int kh_vm_find_target(struct kh_vm *vm, const char *spec,
		      const struct kh_vm_config *cfg, struct kh_err *err);
void kh_vm_init_access(struct kh_vm *vm);
int kh_vm_spec_is_image(const char *spec);

/* kernel/locate.c: finds the kernel and sets vm->profile, vm->kernel. */
int kh_kernel_locate(struct kh_vm *vm, struct kh_err *err);

/* context.c: profile sharing between VMs of one context. */
struct kh_profile *kh_ctx_find_profile(struct kh_ctx *ctx,
				       int (*match)(const struct kh_profile *,
						    void *),
				       void *opaque);
/* Returns the registered profile (maybe an equal one registered first). */
struct kh_profile *kh_ctx_add_profile(struct kh_ctx *ctx,
				      struct kh_profile *profile);

/*
 * kernel/memory.h: reads of guest memory inside the engine, and
 * kernel/page_cache.h their per-operation cache; access/halt.h: halting
 * the guest for one operation. Declared there, included here for
 * every file that works on a handle.
 */
#include "access/halt.h"
#include "kernel/memory.h"
#include "kernel/page_cache.h"

#endif
