/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A kernel profile: everything keyhole knows about one kernel build
 * (symbols, struct layouts), independent of where a particular boot put it.
 * Profiles are immutable once built and shared, refcounted, by every VM of
 * a kh_ctx that runs the same kernel; they are cached on disk keyed by the
 * kernel's identity (its linux_banner and BTF header).
 */
#ifndef KH_PROFILE_H
#define KH_PROFILE_H

#include <stdatomic.h>
#include <stdint.h>

#include "btf.h"
#include "kallsyms.h"

#define KH_BANNER_MAX 512

/* Offsets the task walker needs, resolved once per profile from BTF. */
struct kh_task_layout {
	uint32_t tasks;		/* task_struct.tasks (list_head) */
	uint32_t pid, tgid;
	uint32_t state;		/* __state (or state before 5.14) */
	uint32_t exit_state;
	uint32_t real_parent;
	uint32_t real_cred;
	uint32_t comm;
	uint32_t signal;
	uint32_t thread_node;	/* task_struct.thread_node (list_head) */
	uint32_t span_start;	/* smallest window covering all of the above */
	uint32_t span_len;
	uint32_t signal_thread_head;	/* signal_struct.thread_head */
	uint32_t cred_uid;	/* cred.uid */
	uint32_t task_size;	/* sizeof(struct task_struct) */
};

struct kh_profile {
	_Atomic unsigned int refs;
	char banner[KH_BANNER_MAX];	/* linux_banner, NUL-terminated */
	char release[65];		/* from the banner */
	uint8_t btf_header[24];		/* the BTF header, part of identity */
	int64_t banner_off;		/* linux_banner - _text */
	int64_t btf_off;		/* __start_BTF - _text */
	int64_t image_size;		/* _end - _text */
	struct kh_symtab *symtab;
	struct kh_btf *btf;
	struct kh_task_layout task;
	int from_cache;
};

/* Builds a profile from decoded symbols and BTF (takes ownership). */
int kh_profile_new(struct kh_symtab *symtab, struct kh_btf *btf,
		   const char *banner, const uint8_t btf_header[24],
		   struct kh_profile **profilep, struct kh_err *err);
struct kh_profile *kh_profile_get(struct kh_profile *profile);
void kh_profile_put(struct kh_profile *profile);

/* Offset from _text of a relative symbol; -ENOENT if absent/absolute. */
int kh_profile_sym(const struct kh_profile *profile, const char *name,
		   int64_t *off, struct kh_err *err);

/* The on-disk cache. dir "" means disabled. */
int kh_profile_cache_save(const struct kh_profile *profile, const char *dir,
			  struct kh_err *err);
/* Calls match(profile_header, opaque) for each cached profile; loads the
 * first one match() accepts. -ENOENT if none. */
int kh_profile_cache_find(const char *dir,
			  int (*match)(const char *banner, int64_t banner_off,
				       const uint8_t *btf_header,
				       int64_t btf_off, void *opaque),
			  void *opaque, struct kh_profile **profilep,
			  struct kh_err *err);

#endif
