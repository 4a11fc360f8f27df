// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Each process's credentials as /proc/PID/status shows them (Uid:, Gid:,
 * Cap*:), with the struct cred behind them (kh_creds): real_cred, the
 * one /proc and others see a task by (the cred it acts with, ->cred, can
 * differ for a while under override_creds(), as overlayfs does), read in
 * two batches for every process (the pointers, then each one's cred).
 *
 * A process gets a cred of its own at fork (copy_creds() shares one only
 * with CLONE_THREAD), so two processes on one real_cred is what a rootkit
 * leaves when it points a task at another's (init's, to become root),
 * Volatility's check_creds. Each entry names the other processes it
 * shares its cred with, found among every process even when one is
 * asked for; the result is not marked for it, since it is a finding
 * about the guest, not a failed read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"

enum {
	TASK_CRED, TASK_REAL_CRED,
	CRED_UID, CRED_GID, CRED_SUID, CRED_SGID, CRED_EUID, CRED_EGID,
	CRED_FSUID, CRED_FSGID, CAP_INH, CAP_PRM, CAP_EFF, CAP_BND, CAP_AMB,
	NR_CRED_FIELDS
};

static const struct kh_field cred_fields[NR_CRED_FIELDS] = {
	[TASK_CRED] = { "task_struct", "cred" },
	[TASK_REAL_CRED] = { "task_struct", "real_cred" },
	[CRED_UID] = { "cred", "uid" },
	[CRED_GID] = { "cred", "gid" },
	[CRED_SUID] = { "cred", "suid" },
	[CRED_SGID] = { "cred", "sgid" },
	[CRED_EUID] = { "cred", "euid" },
	[CRED_EGID] = { "cred", "egid" },
	[CRED_FSUID] = { "cred", "fsuid" },
	[CRED_FSGID] = { "cred", "fsgid" },
	[CAP_INH] = { "cred", "cap_inheritable" },
	[CAP_PRM] = { "cred", "cap_permitted" },
	[CAP_EFF] = { "cred", "cap_effective" },
	[CAP_BND] = { "cred", "cap_bset" },
	[CAP_AMB] = { "cred", "cap_ambient" },
};

/* The span of struct cred read: uid to the end of cap_ambient. */
#define CRED_SPAN_MAX 256

static int by_pid(const void *a, const void *b)
{
	const struct kh_cred *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void decode(const uint32_t *off, uint32_t start, const uint8_t *span,
		   struct kh_cred *c)
{
	c->uid = kh_load_u32(span, off[CRED_UID] - start);
	c->gid = kh_load_u32(span, off[CRED_GID] - start);
	c->suid = kh_load_u32(span, off[CRED_SUID] - start);
	c->sgid = kh_load_u32(span, off[CRED_SGID] - start);
	c->euid = kh_load_u32(span, off[CRED_EUID] - start);
	c->egid = kh_load_u32(span, off[CRED_EGID] - start);
	c->fsuid = kh_load_u32(span, off[CRED_FSUID] - start);
	c->fsgid = kh_load_u32(span, off[CRED_FSGID] - start);
	/* kernel_cap_t: u32 cap[2] (6.1) or u64 (6.3+), low word first. */
	c->cap_inheritable = kh_load_u64(span, off[CAP_INH] - start);
	c->cap_permitted = kh_load_u64(span, off[CAP_PRM] - start);
	c->cap_effective = kh_load_u64(span, off[CAP_EFF] - start);
	c->cap_bounding = kh_load_u64(span, off[CAP_BND] - start);
	c->cap_ambient = kh_load_u64(span, off[CAP_AMB] - start);
}

/* Every id before the capabilities, and each capability whole. */
static int span_of(const uint32_t *off, uint32_t *start, uint32_t *len)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	int i;

	for (i = CRED_UID; i < NR_CRED_FIELDS; i++) {
		uint32_t end = off[i] + (i >= CAP_INH ? 8 : 4);

		if (off[i] < lo)
			lo = off[i];
		if (end > hi)
			hi = end;
	}
	if (hi - lo > CRED_SPAN_MAX)
		return -EPROTO;
	*start = lo;
	*len = hi - lo;
	return 0;
}

static int tasks_have(const struct kh_task_list *tasks, int32_t pid)
{
	unsigned int i;

	for (i = 0; i < tasks->nr; i++)
		if (tasks->tasks[i].pid == pid)
			return 1;
	return 0;
}

static int by_cred(const void *a, const void *b, void *arg)
{
	const struct kh_cred *creds = arg;
	const struct kh_cred *x = &creds[*(const unsigned int *)a];
	const struct kh_cred *y = &creds[*(const unsigned int *)b];

	if (x->real_cred != y->real_cred)
		return x->real_cred < y->real_cred ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/*
 * Processes on the same real_cred as each entry: its shared_with. Sorted
 * by cred, each run of equal ones at once: a guest can list a million
 * tasks, and every pair would be 10^12 comparisons.
 */
static int find_shared(struct kh_cred_list *list)
{
	unsigned int *order = malloc((list->nr + 1) * sizeof(*order));
	unsigned int i, j, run;

	if (!order)
		return -ENOMEM;
	for (i = 0; i < list->nr; i++)
		order[i] = i;
	qsort_r(order, list->nr, sizeof(*order), by_cred, list->creds);
	for (i = 0; i < list->nr; i = run) {
		for (run = i + 1; run < list->nr &&
		     list->creds[order[run]].real_cred ==
		     list->creds[order[i]].real_cred; run++)
			;
		for (j = i; run - i > 1 && j < run; j++) {
			struct kh_cred *c = &list->creds[order[j]];
			unsigned int o;

			for (o = i; o < run && c->nr_shared < KH_CRED_SHARED;
			     o++)
				if (o != j)
					c->shared_with[c->nr_shared++] =
						list->creds[order[o]].pid;
		}
	}
	free(order);
	return 0;
}

int kh_creds(struct kh_vm *vm, int32_t pid, struct kh_cred_list **listp,
	     struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	struct kh_cred_list *list = NULL;
	struct kh_read *reads = NULL, *creads = NULL;
	unsigned int *which = NULL, m, k, kept = 0;
	uint64_t *ptrs = NULL;
	uint8_t *spans = NULL;
	const uint32_t *off;
	uint32_t start = 0, len = 0;
	unsigned int i, n = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_offsets(vm, cred_fields, NR_CRED_FIELDS, &off, err);
	if (!ret && span_of(off, &start, &len))
		ret = kh_err_set(err, EPROTO,
				 "guest kernel layout: struct cred's ids and capabilities span more than %d bytes",
				 CRED_SPAN_MAX);
	if (!ret)
		ret = kh_tasks(vm, 0, &tasks, err);
	if (ret)
		return ret;
	list = calloc(1, sizeof(*list));
	reads = calloc(tasks->nr * 2 + 1, sizeof(*reads));
	ptrs = calloc(tasks->nr * 2 + 1, sizeof(*ptrs));
	creads = calloc(tasks->nr + 1, sizeof(*creads));
	which = calloc(tasks->nr + 1, sizeof(*which));
	spans = calloc(tasks->nr + 1, len);
	if (list)
		list->creds = calloc(tasks->nr + 1, sizeof(*list->creds));
	if (!list || !reads || !creads || !which || !ptrs || !spans ||
	    !list->creds) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u processes' credentials",
				 tasks->nr);
		goto out;
	}
	list->result = tasks->result;
	/* Every process, even for one: sharing is among all of them. */
	for (i = 0; i < tasks->nr; i++) {
		const struct kh_task *t = &tasks->tasks[i];

		reads[2 * n] = (struct kh_read){ .addr = t->addr + off[TASK_CRED],
						 .buf = &ptrs[2 * n], .len = 8 };
		reads[2 * n + 1] = (struct kh_read){
			.addr = t->addr + off[TASK_REAL_CRED],
			.buf = &ptrs[2 * n + 1], .len = 8 };
		list->creds[n].pid = t->pid;
		list->creds[n].addr = t->addr;
		memcpy(list->creds[n].comm, t->comm, sizeof(t->comm));
		n++;
	}
	ret = n ? kh_kva_fetch(vm, reads, 2 * n, err) : 0;
	if (ret < 0)
		goto out;
	for (i = 0, m = 0; i < n; i++) {
		struct kh_cred *c = &list->creds[i];

		c->cred = ptrs[2 * i];
		c->real_cred = ptrs[2 * i + 1];
		if (reads[2 * i].result || reads[2 * i + 1].result ||
		    !kh_kernel_ptr_aligned(vm, c->cred, 8) ||
		    !kh_kernel_ptr_aligned(vm, c->real_cred, 8))
			continue;
		creads[m] = (struct kh_read){ .addr = c->real_cred + start,
					      .buf = spans + (size_t)i * len,
					      .len = len };
		which[m++] = i;
	}
	ret = m ? kh_kva_fetch(vm, creads, m, err) : 0;
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0, k = 0; i < n; i++) {
		/* Exited since the walk (its cred freed), or a lie: left out. */
		if (k >= m || which[k] != i || creads[k].result) {
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"the credentials of process %d cannot be read (it may have exited)",
				list->creds[i].pid);
			k += k < m && which[k] == i;
			continue;
		}
		decode(off, start, spans + (size_t)i * len, &list->creds[i]);
		list->creds[kept++] = list->creds[i];
		k++;
	}
	n = kept;
	list->nr = n;
	qsort(list->creds, list->nr, sizeof(*list->creds), by_pid);
	if (find_shared(list)) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u processes' credentials",
				 list->nr);
		goto out;
	}
	if (pid) {
		for (i = 0, kept = 0; i < list->nr; i++)
			if (list->creds[i].pid == pid)
				list->creds[kept++] = list->creds[i];
		list->nr = kept;
		if (!kept && !tasks_have(tasks, pid)) {
			ret = kh_err_set(err, ENOENT, "no process %d in the guest",
					 pid);
			goto out;
		}
	}
	ret = kh_vm_verify(vm, err);
out:
	kh_task_list_free(tasks);
	free(reads);
	free(creads);
	free(which);
	free(ptrs);
	free(spans);
	if (ret) {
		kh_cred_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

void kh_cred_list_free(struct kh_cred_list *list)
{
	if (!list)
		return;
	free(list->creds);
	free(list);
}
