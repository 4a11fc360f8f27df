/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkeyhole: host-side introspection of live QEMU/KVM Linux guests.
 *
 * One kh_ctx per program holds what VMs can share (kernel profiles, the
 * on-disk profile cache); one kh_vm per introspected VM. A kh_vm is safe to
 * use from several threads at once: every read carries its own state and
 * every call its own struct kh_err. Nothing in the library is global.
 *
 * Guest memory is untrusted: every walk is bounded and every pointer
 * checked; what could not be read consistently is reported in the result
 * (see KH_RESULT_*), never silently dropped.
 */
#ifndef LIBKEYHOLE_H
#define LIBKEYHOLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every public call that can fail fills one of these and returns -errno. */
struct kh_err {
	int code;		/* positive errno */
	char msg[512];		/* one sentence naming what was wrong */
};

struct kh_ctx;
struct kh_vm;

struct kh_ctx_config {
	/* Kernel profile cache directory; NULL: $KEYHOLE_CACHE_DIR, else
	 * $XDG_CACHE_HOME/keyhole, else ~/.cache/keyhole. "" disables. */
	const char *cache_dir;
};

int kh_ctx_new(const struct kh_ctx_config *cfg, struct kh_ctx **ctxp,
	       struct kh_err *err);
void kh_ctx_free(struct kh_ctx *ctx);

/* How the guest RAM layout (GPA -> QEMU virtual address) is learnt. */
enum kh_layout_source {
	KH_LAYOUT_AUTO = 0,	/* QMP when QEMU has a socket, else maps */
	KH_LAYOUT_QMP,		/* query-memdev + info mtree -f + gpa2hva */
	KH_LAYOUT_MAPS,		/* memory backend found in /proc/PID/maps */
};

struct kh_vm_config {
	const char *technique;	/* NULL: fastest available live technique */
	enum kh_layout_source layout;
	const char *qmp_path;	/* override the QMP socket found on argv */
};

/*
 * Attaches to a VM. spec is a QEMU pid, the path of its QMP unix socket,
 * or the value of its -name option.
 */
int kh_vm_open(struct kh_ctx *ctx, const char *spec,
	       const struct kh_vm_config *cfg, struct kh_vm **vmp,
	       struct kh_err *err);
void kh_vm_close(struct kh_vm *vm);

struct kh_ram_range {
	uint64_t gpa;		/* first guest-physical address */
	uint64_t size;		/* bytes */
	uint64_t hva;		/* address in the QEMU process */
};

struct kh_vm_info {
	pid_t pid;			/* the QEMU process */
	const char *name;		/* -name, or "" */
	const char *technique;		/* access technique in use */
	const char *layout_source;	/* "qmp" or "maps" */
	unsigned int nr_ranges;
	const struct kh_ram_range *ranges;
	const char *kernel_release;	/* e.g. "6.1.0-26-amd64" */
	const char *kernel_banner;	/* the guest's linux_banner */
	uint64_t kernel_phys;		/* physical address of _text */
	uint64_t kernel_virt;		/* virtual address of _text */
	uint64_t kaslr_slide;		/* kernel_virt - link-time _text */
	uint64_t page_offset_base;	/* start of the direct map */
	unsigned int paging_levels;	/* 4 or 5 */
	int profile_from_cache;		/* profile was loaded from disk */
	double attach_ms;		/* wall time spent in kh_vm_open */
};

/* Pointers in info stay valid until kh_vm_close(). */
void kh_vm_get_info(const struct kh_vm *vm, struct kh_vm_info *info);

/* One element of a batched read. */
struct kh_read {
	uint64_t addr;		/* guest-physical or kernel-virtual */
	void *buf;
	uint32_t len;
	int32_t result;		/* out: 0 or -errno for this element */
};

/* Guest-physical reads; returns how many elements failed, or -errno. */
int kh_read_phys(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err);
/* Kernel-virtual reads (through the guest's own page tables). */
int kh_read_kva(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		struct kh_err *err);

/* Counters of what a VM handle has done, for cost accounting. */
struct kh_stats {
	uint64_t read_calls;	/* system calls (or equivalent) issued */
	uint64_t read_elems;	/* batch elements served */
	uint64_t read_bytes;
};
void kh_vm_get_stats(const struct kh_vm *vm, struct kh_stats *stats);

/* Flags that say how much of a result can be trusted. */
#define KH_RESULT_INCOMPLETE	(1u << 0)	/* walk stopped early */
#define KH_RESULT_INCONSISTENT	(1u << 1)	/* guest changed during walk */

#define KH_COMM_LEN 16

struct kh_task {
	uint64_t addr;		/* kernel virtual address of task_struct */
	int32_t pid;		/* thread id */
	int32_t tgid;		/* process id */
	int32_t ppid;		/* tgid of real_parent */
	uint32_t uid;		/* real uid */
	char state;		/* letter as in /proc/PID/stat */
	char comm[KH_COMM_LEN];
};

struct kh_task_list {
	unsigned int nr;
	unsigned int flags;		/* KH_RESULT_* */
	char problem[256];		/* why flags are set, or "" */
	struct kh_task *tasks;
};

#define KH_TASKS_THREADS	(1u << 0)	/* one entry per thread */

int kh_tasks(struct kh_vm *vm, unsigned int flags, struct kh_task_list **listp,
	     struct kh_err *err);
void kh_task_list_free(struct kh_task_list *list);

#ifdef __cplusplus
}
#endif

#endif
