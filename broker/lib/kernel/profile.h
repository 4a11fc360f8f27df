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

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kernel/btf.h"
#include "kernel/kallsyms.h"

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
	uint32_t flags;		/* task_struct.flags (PF_*) */
	uint32_t mm;
	uint32_t start_boottime;
	uint32_t span_start;	/* smallest window covering all of the above */
	uint32_t span_len;
	uint32_t signal_thread_head;	/* signal_struct.thread_head */
	uint32_t signal_nr_threads;	/* signal_struct.nr_threads */
	uint32_t cred_uid;	/* cred.uid */
	uint32_t cred_gid;	/* cred.gid */
	uint32_t task_size;	/* sizeof(struct task_struct) */
};

struct kh_profile_memo;

#define KH_PROFILE_MEMO_CHAINS	64	/* a power of two */

struct kh_profile {
	_Atomic unsigned int refs;
	char banner[KH_BANNER_MAX];	/* linux_banner, NUL-terminated */
	char release[65];		/* from the banner */
	uint8_t btf_header[24];		/* the BTF header, part of identity */
	int64_t banner_off;		/* linux_banner - _text */
	int64_t btf_off;		/* __start_BTF - _text */
	int64_t image_size;		/* _end - _text */
	struct kh_symtab *symtab;
	struct kh_task_layout task;
	int from_cache;

	/*
	 * BTF is parsed on first use: a warm attach needs only what the
	 * cache already resolved, and parsing ~100k types costs ~15 ms.
	 */
	pthread_mutex_t btf_lock;
	struct kh_btf *btf;		/* parsed, or NULL until needed */
	const void *btf_raw;		/* the bytes while btf is NULL */
	size_t btf_len;
	void *backing;			/* mapped cache file, or NULL */
	size_t backing_len;

	/*
	 * memos only grow, a memo published whole: read without a lock by
	 * every crawl of every VM of this kernel build (one per task, per
	 * file), added to under memo_lock. Chained by the key's address:
	 * one list of every walker's memos was 2% of a crawl to search.
	 */
	pthread_mutex_t memo_lock;
	_Atomic(struct kh_profile_memo *) memos[KH_PROFILE_MEMO_CHAINS];
};

/* What a profile is made of; kh_profile_new() takes ownership of all. */
struct kh_profile_parts {
	const char *banner;
	const uint8_t *btf_header;	/* 24 bytes */
	struct kh_symtab *symtab;
	struct kh_btf *btf;		/* parsed BTF, or NULL and ... */
	const void *btf_raw;		/* ... its bytes, inside backing */
	size_t btf_len;
	void *backing;			/* munmap'd with the profile */
	size_t backing_len;
	const struct kh_task_layout *task;	/* NULL: resolve from BTF */
};

int kh_profile_new(struct kh_profile_parts *parts,
		   struct kh_profile **profilep, struct kh_err *err);
struct kh_profile *kh_profile_get(struct kh_profile *profile);
void kh_profile_put(struct kh_profile *profile);

/* Every task_struct field lies inside the span the walker reads. */
int kh_task_layout_valid(const struct kh_task_layout *tl);

/* The parsed BTF, parsing it on first use. */
int kh_profile_btf(struct kh_profile *profile, const struct kh_btf **btfp,
		   struct kh_err *err);
/* The raw BTF bytes, parsed or not. */
const void *kh_profile_btf_raw(struct kh_profile *profile, size_t *len);

/*
 * What an extractor derives from the profile once (offsets from BTF, enum
 * values), kept in the profile under key (the address of the extractor's
 * const table or string). build() fills size zeroed bytes and runs at most
 * once per key, successfully; *data stays valid for the profile's life.
 */
typedef int (*kh_memo_build_fn)(struct kh_profile *profile, const void *key,
				void *data, size_t size, struct kh_err *err);
int kh_profile_memo(struct kh_profile *profile, const void *key, size_t size,
		    kh_memo_build_fn build, const void **data,
		    struct kh_err *err);

/* Offset from _text of a relative symbol; -ENOENT if absent/absolute. */
int kh_profile_sym(const struct kh_profile *profile, const char *name,
		   int64_t *off, struct kh_err *err);

/* The on-disk cache. dir "" means disabled. */
int kh_profile_cache_save(struct kh_profile *profile, const char *dir,
			  struct kh_err *err);
/*
 * Calls match() with each cached profile's identity; loads the first one
 * match() accepts. -ENOENT if none.
 */
int kh_profile_cache_find(const char *dir,
			  int (*match)(const char *banner, int64_t banner_off,
				       const uint8_t *btf_header,
				       int64_t btf_off, void *opaque),
			  void *opaque, struct kh_profile **profilep,
			  struct kh_err *err);

#endif
