/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crawl/since.c: what an incremental crawl (kh_crawl_since) keeps of each
 * process, and how it decides that a process's state may be kept: the
 * reads that produced it (kernel/read_log.h) read the same bytes now.
 */
#ifndef KH_CRAWL_SINCE_H
#define KH_CRAWL_SINCE_H

#include "libkeyhole.h"
#include "kernel/read_log.h"

struct kh_vm;

/* A crawl's memo: per process whose state it read cleanly, the reads. */
struct kh_crawl_memo;

/* A memo of vm's: a crawl of another handle never matches it. */
int kh_memo_new(struct kh_crawl_memo **memop, const struct kh_vm *vm);
void kh_memo_free(struct kh_crawl_memo *memo);
/* Keeps log (a reference is taken) as what made procs[idx] of task. */
int kh_memo_add(struct kh_crawl_memo *memo, const struct kh_task *task,
		unsigned int idx, struct kh_read_log *log);
/* What the memo holds, for the crawl's memory budget (0 for NULL). */
uint64_t kh_memo_bytes(const struct kh_crawl_memo *memo);
/* Sorts the memo for lookups; after the last add. */
void kh_memo_seal(struct kh_crawl_memo *memo);

/*
 * Which of tasks[0..nr) may keep prev's state: prev kept one for the same
 * task (address, pid, mm) and every read behind it reads the same now,
 * all checked in one batch. logs[i] (NULL: walk it) and idxs[i] (into
 * prev->procs) per task; 0, or -errno for the whole check.
 */
int kh_memo_check(struct kh_vm *vm, const struct kh_crawl *prev,
		  const struct kh_task *const *tasks, unsigned int nr,
		  struct kh_read_log **logs, unsigned int *idxs,
		  struct kh_err *err);

/* The parts an incremental crawl may keep whole. */
enum kh_memo_part { KH_PART_TASKS, KH_PART_FILES, KH_NR_PARTS };

/*
 * The log behind prev's part (NULL: none), and whether prev found the
 * one before it changed (then it logged none, to save the cost).
 */
struct kh_read_log *kh_memo_part(const struct kh_vm *vm,
				 const struct kh_crawl *prev,
				 enum kh_memo_part part, int *changed);
/* Keeps log (a reference is taken) as what made the crawl's part. */
void kh_memo_keep_part(struct kh_crawl_memo *memo, enum kh_memo_part part,
		       struct kh_read_log *log);
void kh_memo_part_changed(struct kh_crawl_memo *memo, enum kh_memo_part part);

/*
 * The pages the crawl has read (its page cache's, before the second look
 * forgets them), kept so that the next crawl can fetch them all at its
 * start, in one read where the technique batches: most are the same
 * objects again, whose walks then find them cached. The check at a
 * crawl's end (KH_CRAWL_CHECK) starts on a cache the second look emptied:
 * its pages are kept apart, for the next crawl's check.
 */
enum kh_memo_pages { KH_PAGES_CRAWL, KH_PAGES_CHECK, KH_NR_PAGES };
void kh_memo_remember_pages(struct kh_vm *vm, struct kh_crawl_memo *memo,
			    enum kh_memo_pages which);
/* At the next crawl's (or check's) start: 0, or -ESRCH when the VM is gone. */
int kh_memo_fetch_pages(struct kh_vm *vm, const struct kh_crawl *prev,
			enum kh_memo_pages which);

/* A copy of a process state: its own map. */
int kh_proc_state_copy(struct kh_proc_state *to,
		       const struct kh_proc_state *from);

#endif /* KH_CRAWL_SINCE_H */
