/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * readline's history entries found in an image of a process's heap: the
 * part of kh_bash_history() that reads nothing from the VM, so that unit
 * tests and the fuzzer can give it any heap.
 */
#ifndef KH_BASH_HISTORY_H
#define KH_BASH_HISTORY_H

#include <stddef.h>
#include <stdint.h>

/* At most this many entries per process; readline's default is 500. */
#define KH_BASH_ENTRIES_MAX	(1u << 17)
/* A command is cut at this many bytes. */
#define KH_BASH_COMMAND_MAX	(64u * 1024)
/* The commands' bytes kept per process: a history is seldom 1 MiB. */
#define KH_BASH_BYTES_MAX	(4u << 20)

struct kh_hist_entry {
	uint64_t addr;		/* the HIST_ENTRY, as the process sees it */
	int64_t time;		/* its timestamp: seconds since the epoch */
	size_t line;		/* offset of the command in the heap image */
	size_t len;		/* its length, at most KH_BASH_COMMAND_MAX */
	int in_list;		/* in the history list, in its order */
};

struct kh_hist_scan {
	struct kh_hist_entry *entries;	/* listed first, in list order */
	unsigned int nr;
	unsigned int listed;		/* entries[0..listed) are in_list */
	unsigned int cut;		/* commands cut at KH_BASH_COMMAND_MAX */
	int full;	/* stopped: KH_BASH_ENTRIES_MAX, _BYTES_MAX or the search */
	int stamps_full;		/* more timestamps than the scan keeps */
};

/*
 * Finds the history in heap[0..len), which the process sees at base.
 * 0, or -ENOMEM; scan->entries is the caller's to free.
 */
int kh_hist_scan(const uint8_t *heap, size_t len, uint64_t base,
		 struct kh_hist_scan *scan);

#endif
