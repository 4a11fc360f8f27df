/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * KH_TASKS_DETAILS for a task list just walked (tasks.c): effective ids,
 * CPU time and controlling terminal, from the pointers the walk read.
 */
#ifndef KH_TASK_DETAILS_H
#define KH_TASK_DETAILS_H

#include "walk/toolkit.h"

/* Per task of the list, what its walk read and where it sits. */
/*
 * Whether reads through a task's parent, cred or signal pointer may fail
 * because the task is going, not because the walk went wrong: it is
 * exiting (exit_state, PF_EXITING), or one of the pointers is NULL
 * already (exit_creds() clears real_cred of a task being released). A
 * slow technique on a guest that forks all the time meets one on nearly
 * every walk. Such a failure is an inconsistency, named; any other is a
 * walk that could not read what it had to.
 */
static inline int kh_task_in_flux(const struct kh_task *task, uint64_t parent,
				  uint64_t cred, uint64_t signal)
{
	return task->exit_state || (task->flags & 0x00000004) /* PF_EXITING */ ||
	       !parent || !cred || !signal;
}

struct kh_task_sources {
	const uint64_t *parent;		/* real_parent */
	const uint64_t *cred;		/* real_cred */
	const uint64_t *signal;		/* signal */
	const unsigned int *leader;	/* index of its group's leader (<= i) */
};

/*
 * Fills euid, egid, cpu_time and tty of every task. processes: the list
 * will be cut to its leaders, whose cpu_time is then their group's.
 * Reads that fail mark the list; -errno only when the VM is gone.
 */
int kh_task_details(struct kh_vm *vm, struct kh_task_list *list,
		    const struct kh_task_sources *src, int processes,
		    struct kh_err *err);

/*
 * KH_TASKS_CMDLINE: each process's argv (kh_task_cmdline) in the list's
 * arena, its threads pointing at the same bytes. A process whose argv
 * cannot be read keeps none and marks the list inconsistent (it may have
 * exited since the walk); -errno only when the VM is gone.
 */
int kh_task_cmdlines(struct kh_vm *vm, struct kh_task_list *list,
		     struct kh_err *err);

#endif /* KH_TASK_DETAILS_H */
