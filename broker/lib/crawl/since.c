// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Incremental crawls (crawl/since.h). A process's maps, argv and rss are
 * a function of the bytes their walks read, each address coming from
 * bytes read before it: if every one of those reads gives the same bytes
 * again, walking again would make the same reads and return the same
 * state. So a crawl keeps, per process, the log of its reads, sealed
 * into spans of guest-physical bytes (kernel/read_log.c); the next crawl
 * reads them all again in one batch and compares, and walks only the
 * processes for which something differs. Never stale: nothing is
 * kept on a guess, only on bytes read now, and a state read while the
 * guest changed under it (a walk retried, a result marked) is never kept.
 *
 * The task list and the open files are kept the same way, each as one
 * part: the whole list when its walk would start from the same inputs
 * and every read behind it reads the same. Logging a walk costs (the
 * log's copies; the path memo is off), so a crawl that found a part
 * changed walks it unlogged, and the next one logs it again: on a guest
 * whose tasks or files churn, every other crawl pays for the log.
 *
 * The OS, memory, modules, interfaces and connections are read in full
 * every time: a few batches each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crawl/since.h"
#include "vm.h"

struct memo_entry {
	uint64_t task, mm;
	int32_t pid;
	unsigned int idx;		/* in the crawl's procs */
	struct kh_read_log *log;
};

struct kh_crawl_memo {
	uint64_t vm;			/* its kh_vm's serial */
	struct memo_entry *entries;
	unsigned int nr, cap;
	uint64_t bytes;
	/* The pages the crawl (its check) read, for the next to fetch ahead. */
	struct {
		uint64_t *gfns;
		unsigned int nr;
	} pages[KH_NR_PAGES];
	/* Each whole part's reads, or why there are none. */
	struct kh_read_log *part_log[KH_NR_PARTS];
	int part_changed[KH_NR_PARTS];
};

int kh_memo_new(struct kh_crawl_memo **memop, const struct kh_vm *vm)
{
	*memop = calloc(1, sizeof(**memop));
	if (!*memop)
		return -ENOMEM;
	(*memop)->vm = vm->serial;
	return 0;
}

uint64_t kh_memo_bytes(const struct kh_crawl_memo *memo)
{
	return memo ? memo->bytes : 0;
}

void kh_memo_free(struct kh_crawl_memo *memo)
{
	unsigned int i;

	if (!memo)
		return;
	for (i = 0; i < memo->nr; i++)
		kh_read_log_put(memo->entries[i].log);
	for (i = 0; i < KH_NR_PARTS; i++)
		kh_read_log_put(memo->part_log[i]);
	free(memo->entries);
	for (i = 0; i < KH_NR_PAGES; i++)
		free(memo->pages[i].gfns);
	free(memo);
}

int kh_memo_add(struct kh_crawl_memo *memo, const struct kh_task *task,
		unsigned int idx, struct kh_read_log *log)
{
	if (memo->nr == memo->cap) {
		unsigned int cap = memo->cap ? memo->cap * 2 : 64;
		struct memo_entry *e = realloc(memo->entries,
					       sizeof(*e) * cap);

		if (!e)
			return -ENOMEM;
		memo->entries = e;
		memo->cap = cap;
	}
	kh_read_log_get(log);
	memo->bytes += kh_read_log_bytes(log);
	memo->entries[memo->nr++] = (struct memo_entry){
		.task = task->addr, .mm = task->mm, .pid = task->pid,
		.idx = idx, .log = log };
	return 0;
}

static int by_task(const void *a, const void *b)
{
	const struct memo_entry *x = a, *y = b;

	return (x->task > y->task) - (x->task < y->task);
}

void kh_memo_seal(struct kh_crawl_memo *memo)
{
	if (memo && memo->nr)
		qsort(memo->entries, memo->nr, sizeof(*memo->entries),
		      by_task);
}

static const struct memo_entry *find(const struct kh_vm *vm,
				     const struct kh_crawl *prev,
				     const struct kh_task *task)
{
	const struct memo_entry key = { .task = task->addr }, *e;

	if (!prev || !prev->memo || !prev->memo->nr || prev->memo->vm != vm->serial)
		return NULL;
	e = bsearch(&key, prev->memo->entries, prev->memo->nr, sizeof(key),
		    by_task);
	/* The same task_struct as the same process, with the same mm. */
	if (!e || e->pid != task->pid || e->mm != task->mm ||
	    e->idx >= prev->nr_procs)
		return NULL;
	return e;
}

int kh_memo_check(struct kh_vm *vm, const struct kh_crawl *prev,
		  const struct kh_task *const *tasks, unsigned int nr,
		  struct kh_read_log **logs, unsigned int *idxs,
		  struct kh_err *err)
{
	const struct memo_entry **found;
	struct kh_read_log **check;
	unsigned int i, n = 0;
	int *same, ret;

	memset(logs, 0, sizeof(*logs) * nr);
	found = malloc(sizeof(*found) * (nr ? nr : 1));
	check = malloc(sizeof(*check) * (nr ? nr : 1));
	same = malloc(sizeof(*same) * (nr ? nr : 1));
	if (!found || !check || !same) {
		ret = kh_err_set(err, ENOMEM, "out of memory for a crawl");
		goto out;
	}
	for (i = 0; i < nr; i++) {
		found[i] = find(vm, prev, tasks[i]);
		if (found[i])
			check[n++] = found[i]->log;
	}
	ret = n ? kh_read_logs_same(vm, check, n, same, err) : 0;
	for (i = 0, n = 0; !ret && i < nr; i++) {
		if (!found[i] || !same[n++])
			continue;
		logs[i] = found[i]->log;
		idxs[i] = found[i]->idx;
	}
out:
	free(found);
	free(check);
	free(same);
	return ret;
}

struct kh_read_log *kh_memo_part(const struct kh_vm *vm,
				 const struct kh_crawl *prev,
				 enum kh_memo_part part, int *changed)
{
	*changed = 0;
	if (!prev || !prev->memo || prev->memo->vm != vm->serial)
		return NULL;
	*changed = prev->memo->part_changed[part];
	return prev->memo->part_log[part];
}

void kh_memo_keep_part(struct kh_crawl_memo *memo, enum kh_memo_part part,
		       struct kh_read_log *log)
{
	kh_read_log_get(log);
	kh_read_log_put(memo->part_log[part]);
	memo->part_log[part] = log;
	memo->bytes += kh_read_log_bytes(log);
}

void kh_memo_part_changed(struct kh_crawl_memo *memo, enum kh_memo_part part)
{
	memo->part_changed[part] = 1;
}

void kh_memo_remember_pages(struct kh_vm *vm, struct kh_crawl_memo *memo,
			    enum kh_memo_pages which)
{
	typeof(memo->pages[0]) *p = &memo->pages[which];

	free(p->gfns);
	if (kh_page_cache_pages(vm, &p->gfns, &p->nr))
		p->nr = 0;
	memo->bytes += p->nr * sizeof(*p->gfns);
}

int kh_memo_fetch_pages(struct kh_vm *vm, const struct kh_crawl *prev,
			enum kh_memo_pages which)
{
	if (!prev || !prev->memo || prev->memo->vm != vm->serial)
		return 0;
	return kh_page_cache_prefetch(vm, prev->memo->pages[which].gfns,
				      prev->memo->pages[which].nr);
}

int kh_proc_state_copy(struct kh_proc_state *to,
		       const struct kh_proc_state *from)
{
	struct kh_vma_list *maps = NULL;

	if (from->maps) {
		maps = malloc(sizeof(*maps));
		if (!maps)
			return -ENOMEM;
		*maps = *from->maps;
		maps->vmas = malloc(sizeof(*maps->vmas) *
				    (maps->nr ? maps->nr : 1));
		if (!maps->vmas) {
			free(maps);
			return -ENOMEM;
		}
		memcpy(maps->vmas, from->maps->vmas,
		       sizeof(*maps->vmas) * maps->nr);
	}
	*to = *from;
	to->maps = maps;
	return 0;
}
