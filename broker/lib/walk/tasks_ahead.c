// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The task list read ahead through the pid IDR (tasks_ahead.h).
 *
 * The task list is a chain: each task's address is in the task before
 * it, so a walk through pvreadv made one process_vm_readv per task, and
 * one more per process for its thread list (130 of a crawl's 238 calls
 * on the test guest). The initial pid namespace's IDR names the same
 * task_structs, threads included, in a tree a few levels deep: read level
 * by level (walk/xarray.c), then every pid's task, then the fields the
 * walk takes from every task, then every thread list's head, each as one
 * batch, it brings into the operation's page cache the pages the walk
 * will ask for, in about six calls.
 *
 * Only a hint. Nothing read here is returned or trusted: the walk reads
 * every field again (from the cache) and checks it as before, and a task
 * the IDR does not lead to (hidden from it, or forked since) is read when
 * the walk meets it. The pages are fetched in the walk's own operation,
 * so nothing the walk reads is older than it would have been. The reads
 * are kept out of an incremental crawl's log (the task list's state does
 * not depend on them) and out of the crawl's trace (its floor).
 */
#include <errno.h>
#include <stdlib.h>

#include "kernel/page_cache.h"
#include "walk/tasks_ahead.h"
#include "walk/xarray.h"

/*
 * Tasks read ahead at most: two or three pages each, with their pids and
 * signal_structs, must stay well inside the page cache (4,096 pages)
 * until the walk comes to them.
 */
#define MAX_AHEAD 512

enum { NS_XA_HEAD, PID_TASKS, TASK_PID_LINKS, NR_FIELDS };

static const struct kh_field fields[NR_FIELDS] = {
	[NS_XA_HEAD] = { "pid_namespace", "idr.idr_rt.xa_head" },
	[PID_TASKS] = { "pid", "tasks" },
	[TASK_PID_LINKS] = { "task_struct", "pid_links" },
};

/* Each pid's task (tasks[PIDTYPE_PID].first), in place of the pid. */
static int pid_tasks(struct kh_vm *vm, const uint32_t *off,
		     struct kh_addr_list *pids)
{
	struct kh_read *reads = calloc(pids->nr, sizeof(*reads));
	uint64_t *first = calloc(pids->nr, sizeof(*first));
	unsigned int i, n = 0;
	int ret = -ENOMEM;

	if (!reads || !first)
		goto out;
	for (i = 0; i < pids->nr; i++)
		reads[i] = (struct kh_read){
			.addr = pids->addrs[i] + off[PID_TASKS],
			.buf = &first[i], .len = 8 };
	ret = kh_kva_fetch(vm, reads, pids->nr, NULL);
	if (ret < 0)
		goto out;
	for (i = 0; i < pids->nr; i++)
		if (!reads[i].result && first[i] >= off[TASK_PID_LINKS] &&
		    kh_kernel_ptr_aligned(vm, first[i], 8))
			pids->addrs[n++] = first[i] - off[TASK_PID_LINKS];
	pids->nr = n;
	ret = 0;
out:
	free(reads);
	free(first);
	return ret;
}

/*
 * The walk's pieces of every task, and each task's signal pointer; then,
 * for a walk of threads, the head of each signal_struct's thread list.
 */
static int task_fields(struct kh_vm *vm, const struct kh_task_layout *tl,
		       const struct kh_read *piece, unsigned int nr_pieces,
		       const struct kh_addr_list *tasks, int threads)
{
	size_t per = nr_pieces + 1, i, p, n;
	struct kh_read *reads = calloc(tasks->nr * per, sizeof(*reads));
	uint64_t *signal = calloc(tasks->nr, sizeof(*signal));
	uint8_t *span = malloc(tl->span_len), head[16];
	int ret = -ENOMEM;

	if (!reads || !signal || !span)
		goto out;
	for (i = 0, n = 0; i < tasks->nr; i++) {
		for (p = 0; p < nr_pieces; p++)
			reads[n++] = (struct kh_read){
				.addr = tasks->addrs[i] + tl->span_start +
					piece[p].addr,
				.buf = span + piece[p].addr,
				.len = piece[p].len };
		reads[n++] = (struct kh_read){
			.addr = tasks->addrs[i] + tl->signal,
			.buf = &signal[i], .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, n, NULL);
	if (ret < 0 || !threads)
		goto out;
	for (i = 0, n = 0; i < tasks->nr; i++)
		if (!reads[i * per + nr_pieces].result &&
		    kh_kernel_ptr_aligned(vm, signal[i], 8))
			reads[n++] = (struct kh_read){
				.addr = signal[i] + tl->signal_thread_head,
				.buf = head, .len = sizeof(head) };
	ret = n ? kh_kva_fetch(vm, reads, n, NULL) : 0;
out:
	free(reads);
	free(signal);
	free(span);
	return ret < 0 ? ret : 0;
}

void kh_tasks_read_ahead(struct kh_vm *vm, const struct kh_task_layout *tl,
			 const struct kh_read *piece, unsigned int nr_pieces,
			 unsigned int max_tasks, int threads)
{
	struct kh_read_ahead_scope scope;
	struct kh_addr_list pids = { 0 };
	const uint32_t *off;
	uint64_t ns, head;
	int bad = 0;

	if (!kh_page_cache_read_ahead(vm) ||
	    kh_offsets(vm, fields, NR_FIELDS, &off, NULL) ||
	    kh_sym_va(vm, "init_pid_ns", &ns, NULL))
		return;
	kh_read_ahead_begin(&scope);
	if (!kh_kva_u64(vm, ns + off[NS_XA_HEAD], &head) &&
	    !kh_xarray_collect(vm, head, max_tasks < MAX_AHEAD ?
					   max_tasks : MAX_AHEAD, &pids, &bad) &&
	    pids.nr && !pid_tasks(vm, off, &pids) && pids.nr)
		task_fields(vm, tl, piece, nr_pieces, &pids, threads);
	kh_read_ahead_end(&scope);
	free(pids.addrs);
}
