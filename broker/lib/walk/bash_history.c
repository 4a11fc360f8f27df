// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The command history of running bash processes, read from their heaps
 * (kh_bash_history), as Volatility's linux.bash does from a dump.
 *
 * bash keeps its history in readline's history library: an array of
 * pointers (the_history) to HIST_ENTRY { char *line; char *timestamp;
 * void *data; }, each malloc'd, as are the line and the timestamp. An
 * interactive bash sets history_comment_char to '#', and add_history()
 * stamps each entry with hist_inittime(): the string "#SECONDS". So, in
 * the heap image:
 *   1. every "#DIGITS" string on an 8-byte boundary is a timestamp;
 *   2. every three words whose second points at one, and whose first
 *      points at a string in the heap, is an entry;
 *   3. the longest run of words that point at entries, ended by a NULL
 *      word, is the history list, which gives their order: the order
 *      bash's `history` lists. An array readline outgrew and freed keeps
 *      most of its pointers, but fewer.
 * Entries that no run holds (a history list the scan did not find, as
 * one larger than the heap read) follow, by time then address.
 *
 * Nothing here trusts the heap: every pointer is checked against the
 * image, every string bounded, the entries and the bytes searched for
 * commands capped, so a hostile process costs at most a few passes over
 * its heap. What is cut or stopped is counted for the caller to report.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/bash_history.h"
#include "walk/task_details.h"
#include "walk/toolkit.h"

/* Over every process: the heaps read, and the commands' bytes kept. */
#define HEAPS_MAX	(256ull << 20)
#define COMMANDS_MAX	(16ull << 20)

/* Timestamps kept, beyond the entries: freed ones may be intact too. */
#define TIMESTAMPS_MAX	(4 * KH_BASH_ENTRIES_MAX)

struct stamp {
	size_t off;
	int64_t time;
};

static uint64_t word_at(const uint8_t *heap, size_t off)
{
	uint64_t w;

	memcpy(&w, heap + off, sizeof(w));
	return w;
}

/* "#" and 1 to 18 digits, NUL-terminated: a time_t that cannot overflow. */
static int stamp_at(const uint8_t *heap, size_t len, size_t off,
		    int64_t *time)
{
	int64_t t = 0;
	size_t i;

	if (heap[off] != '#')
		return 0;
	for (i = off + 1; i < len && i <= off + 19; i++) {
		if (heap[i] >= '0' && heap[i] <= '9') {
			if (i == off + 19)
				return 0;	/* a 19th digit */
			t = t * 10 + (heap[i] - '0');
			continue;
		}
		if (heap[i] || i == off + 1)
			return 0;
		*time = t;
		return 1;
	}
	return 0;
}

static int find_stamps(const uint8_t *heap, size_t len, size_t first,
		       struct stamp **stampsp, unsigned int *nrp, int *full)
{
	struct stamp *stamps = NULL;
	unsigned int nr = 0, cap = 0;
	size_t off;
	int64_t t;

	for (off = first; off < len; off += 8) {
		if (!stamp_at(heap, len, off, &t))
			continue;
		if (nr == TIMESTAMPS_MAX) {
			*full = 1;
			break;
		}
		if (nr == cap) {
			struct stamp *more;

			cap = cap ? 2 * cap : 64;
			more = realloc(stamps, cap * sizeof(*stamps));
			if (!more) {
				free(stamps);
				return -ENOMEM;
			}
			stamps = more;
		}
		stamps[nr++] = (struct stamp){ .off = off, .time = t };
	}
	*stampsp = stamps;
	*nrp = nr;
	return 0;
}

static const struct stamp *stamp_of(const struct stamp *stamps,
				    unsigned int nr, size_t off)
{
	unsigned int lo = 0, hi = nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (stamps[mid].off == off)
			return &stamps[mid];
		if (stamps[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The entry at address addr among entries sorted by address, or -1. */
static long entry_of(const struct kh_hist_entry *entries, unsigned int nr,
		     uint64_t addr)
{
	unsigned int lo = 0, hi = nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (entries[mid].addr == addr)
			return mid;
		if (entries[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * Step 2: candidates in address order. The bytes searched for the
 * commands' ends are capped at a few times the heap, so that many
 * entries on one long string cost no more than that.
 */
static int find_entries(const uint8_t *heap, size_t len, uint64_t base,
			size_t first, const struct stamp *stamps,
			unsigned int nr_stamps, struct kh_hist_scan *scan)
{
	size_t budget = 4 * len + KH_BASH_COMMAND_MAX, kept = 0, off;
	unsigned int cap = 0;

	for (off = first; len >= 24 && off <= len - 24; off += 8) {
		uint64_t line = word_at(heap, off) - base;
		uint64_t stamp = word_at(heap, off + 8) - base;
		const struct stamp *s;
		size_t room, n;
		const uint8_t *nul;

		if (stamp >= len || line >= len)
			continue;
		s = stamp_of(stamps, nr_stamps, stamp);
		if (!s)
			continue;
		if (scan->nr == KH_BASH_ENTRIES_MAX) {
			scan->full = 1;
			break;
		}
		room = len - line;
		if (room > KH_BASH_COMMAND_MAX + 1)
			room = KH_BASH_COMMAND_MAX + 1;
		nul = memchr(heap + line, 0, room < budget ? room : budget);
		if (!nul && budget < room) {
			scan->full = 1;
			break;
		}
		n = nul ? (size_t)(nul - (heap + line)) : room;
		budget -= nul ? n + 1 : room;
		if (n > KH_BASH_COMMAND_MAX) {
			n = KH_BASH_COMMAND_MAX;
			scan->cut++;
		} else if (!nul) {
			continue;	/* runs off the heap: not a string */
		}
		/* Entries on one long string would multiply it. */
		if (n > KH_BASH_BYTES_MAX - kept) {
			scan->full = 1;
			break;
		}
		kept += n;
		if (scan->nr == cap) {
			struct kh_hist_entry *more;

			cap = cap ? 2 * cap : 64;
			more = realloc(scan->entries, cap * sizeof(*more));
			if (!more)
				return -ENOMEM;
			scan->entries = more;
		}
		scan->entries[scan->nr++] = (struct kh_hist_entry){
			.addr = base + off, .time = s->time, .line = line,
			.len = n };
	}
	return 0;
}

/*
 * Step 3: the longest run of words that point at entries and end in a
 * NULL word, as the_history always does (the_history[history_length]).
 * At least two, unless there is one entry: a stray pointer to an entry
 * is no list.
 */
static void find_list(const uint8_t *heap, size_t len, size_t first,
		      const struct kh_hist_scan *scan, size_t *start,
		      unsigned int *words)
{
	unsigned int run = 0;
	size_t off;

	*start = 0;
	*words = 0;
	for (off = first; len >= 8 && off <= len - 8; off += 8) {
		uint64_t w = word_at(heap, off);

		if (entry_of(scan->entries, scan->nr, w) >= 0) {
			run++;
			continue;
		}
		if (!w && run > *words && (run >= 2 || scan->nr == 1)) {
			*words = run;
			*start = off - (size_t)run * 8;
		}
		run = 0;
	}
}

static int by_time(const void *a, const void *b)
{
	const struct kh_hist_entry *x = a, *y = b;

	if (x->time != y->time)
		return (x->time > y->time) - (x->time < y->time);
	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* The list's entries in its order, then the others by time. */
static int order(const uint8_t *heap, size_t start, unsigned int words,
		 struct kh_hist_scan *scan)
{
	struct kh_hist_entry *out = calloc(scan->nr + 1, sizeof(*out));
	unsigned int i, n = 0;

	if (!out)
		return -ENOMEM;
	for (i = 0; i < words; i++) {
		long e = entry_of(scan->entries, scan->nr,
				  word_at(heap, start + (size_t)i * 8));

		/* Each once, even if the list names one twice. */
		if (e < 0 || scan->entries[e].in_list)
			continue;
		scan->entries[e].in_list = 1;
		out[n++] = scan->entries[e];
	}
	scan->listed = n;
	for (i = 0; i < scan->nr; i++)
		if (!scan->entries[i].in_list)
			out[n++] = scan->entries[i];
	qsort(out + scan->listed, n - scan->listed, sizeof(*out), by_time);
	free(scan->entries);
	scan->entries = out;
	return 0;
}

int kh_hist_scan(const uint8_t *heap, size_t len, uint64_t base,
		 struct kh_hist_scan *scan)
{
	size_t first = (8 - (base & 7)) & 7, start;
	struct stamp *stamps = NULL;
	unsigned int nr_stamps = 0, words;
	int ret;

	memset(scan, 0, sizeof(*scan));
	ret = find_stamps(heap, len, first, &stamps, &nr_stamps,
			  &scan->stamps_full);
	if (!ret && nr_stamps)
		ret = find_entries(heap, len, base, first, stamps, nr_stamps,
				   scan);
	free(stamps);
	if (!ret && scan->nr) {
		find_list(heap, len, first, scan, &start, &words);
		ret = order(heap, start, words, scan);
	}
	if (ret) {
		free(scan->entries);
		memset(scan, 0, sizeof(*scan));
	}
	return ret;
}

/* ---- the processes ------------------------------------------------------ */

#define PF_KTHREAD_	0x00200000

static int is_shell(const struct kh_task *t, int32_t pid)
{
	if (!t->mm || (t->flags & PF_KTHREAD_))
		return 0;
	/* A thread asked for by its id: its process's heap. */
	if (pid)
		return t->pid == pid;
	return t->pid == t->tgid && !strncmp(t->comm, "bash", KH_COMM_LEN);
}

static int add_entries(struct kh_bash_list *list, const struct kh_task *t,
		       const struct kh_heap *heap,
		       const struct kh_hist_scan *scan)
{
	struct kh_bash_entry *more;
	unsigned int i;

	more = realloc(list->entries,
		       (list->nr + scan->nr + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	list->entries = more;
	for (i = 0; i < scan->nr; i++) {
		const struct kh_hist_entry *h = &scan->entries[i];
		struct kh_bash_entry *e = &list->entries[list->nr];

		*e = (struct kh_bash_entry){ .pid = t->pid, .time = h->time,
					     .addr = h->addr,
					     .in_list = h->in_list };
		memcpy(e->comm, t->comm, sizeof(e->comm));
		e->command = strndup((const char *)heap->buf + h->line,
				     h->len);
		if (!e->command)
			return -ENOMEM;
		list->nr++;
	}
	return 0;
}

/* What the heap and its scan could not give, named for the result. */
static void mark_shortfalls(struct kh_bash_list *list, int32_t pid,
			    const struct kh_heap *heap,
			    const struct kh_hist_scan *scan)
{
	if (heap->len < heap->brk - heap->start)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"the heap of process %d is %" PRIu64 " KiB: only its first %u MiB were read",
			pid, (heap->brk - heap->start) >> 10,
			KH_HEAP_MAX >> 20);
	if (heap->swapped)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%u pages of process %d's heap are swapped out: its history may lack entries",
			heap->swapped, pid);
	if (heap->failed)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%u pages of process %d's heap could not be read: its history may lack entries",
			heap->failed, pid);
	if (scan->stamps_full)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"the heap of process %d holds more timestamps than the scan keeps: later ones were not looked at",
			pid);
	if (scan->full)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"the history of process %d was cut at %u entries (by their number, their bytes or the bytes searched)",
			pid, scan->nr);
	if (scan->cut)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%u commands of process %d are longer than %u KiB and were cut",
			scan->cut, pid, KH_BASH_COMMAND_MAX >> 10);
}

static int read_shell(struct kh_vm *vm, const struct kh_task *t,
		      struct kh_bash_list *list, uint64_t *heaps,
		      uint64_t *bytes, struct kh_err *err)
{
	struct kh_hist_scan scan;
	struct kh_heap heap;
	struct kh_err one = { 0 };
	unsigned int i;
	int ret;

	ret = kh_task_heap(vm, t, &heap, &one);
	/* Read or not: a heap that failed late cost as much. */
	*heaps += ret ? heap.tried : heap.len;
	if (ret == -ESRCH || ret == -EOPNOTSUPP || ret == -ENOMEM) {
		*err = one;
		return ret;
	}
	/* Exiting, or its mm gone: it changed under the read. */
	if (ret == -ENOENT || (ret && kh_task_in_flux(t, 1, 1, 1)))
		return kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			       "process %d exited or exec'd while its heap was read",
			       t->pid);
	if (ret)
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "the history of process %d: %s", t->pid,
			       one.msg);
	list->nr_shells++;
	ret = kh_hist_scan(heap.buf, heap.len, heap.start, &scan);
	if (!ret) {
		mark_shortfalls(list, t->pid, &heap, &scan);
		for (i = 0; i < scan.nr &&
		     *bytes + scan.entries[i].len <= COMMANDS_MAX; i++)
			*bytes += scan.entries[i].len;
		if (i < scan.nr) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"more than %llu MiB of commands in all: the history of process %d was cut",
				COMMANDS_MAX >> 20, t->pid);
			*bytes = COMMANDS_MAX;
			scan.nr = i;
			scan.listed = scan.listed < i ? scan.listed : i;
		}
		ret = add_entries(list, t, &heap, &scan);
		free(scan.entries);
	}
	free(heap.buf);
	if (ret)
		return kh_err_set(err, ENOMEM, "out of memory for the history of process %d",
				  t->pid);
	return 1;
}

static int by_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int kh_bash_history(struct kh_vm *vm, int32_t pid, struct kh_bash_list **listp,
		    struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	struct kh_addr_set mms = { 0 };
	struct kh_bash_list *list;
	uint64_t heaps = 0, bytes = 0;
	unsigned int i, found = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for bash histories");
	ret = kh_tasks(vm, pid ? KH_TASKS_THREADS : 0, &tasks, err);
	/* Whether each still has its mm is asked of the guest of now. */
	if (!ret && kh_task_list_refresh_mms(vm, tasks) == -ESRCH)
		ret = kh_err_set(err, ESRCH, "the VM exited");
	if (ret)
		goto out;
	list->result = tasks->result;
	qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks), by_pid);
	for (i = 0; i < tasks->nr && !ret; i++) {
		const struct kh_task *t = &tasks->tasks[i];

		if (pid && t->pid == pid)
			found = 1;
		if (!is_shell(t, pid))
			continue;
		/* CLONE_VM without a thread group: the same heap, once. */
		if (kh_addr_set_find(&mms, t->mm) >= 0)
			continue;
		if (heaps >= HEAPS_MAX) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"more than %llu MiB of heaps in all: process %d and those after it were not read",
				HEAPS_MAX >> 20, t->pid);
			break;
		}
		ret = read_shell(vm, t, list, &heaps, &bytes, err);
		/* Only a heap that was read stands for its mm (as in elfs.c). */
		if (ret > 0 && kh_addr_set_put(&mms, t->mm, 0) < 0)
			ret = kh_err_set(err, ENOMEM, "out of memory for bash histories");
		ret = ret > 0 ? 0 : ret;
	}
	if (!ret && pid && !found)
		ret = kh_err_set(err, ENOENT, "no process %d in the guest", pid);
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	kh_task_list_free(tasks);
	kh_addr_set_free(&mms);
	if (ret) {
		kh_bash_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

void kh_bash_list_free(struct kh_bash_list *list)
{
	unsigned int i;

	if (!list)
		return;
	for (i = 0; i < list->nr; i++)
		free(list->entries[i].command);
	free(list->entries);
	free(list);
}
