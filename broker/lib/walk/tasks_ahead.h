/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the task list ahead, for techniques whose reads are system
 * calls that carry many places each (pvreadv): see tasks_ahead.c.
 */
#ifndef KH_TASKS_AHEAD_H
#define KH_TASKS_AHEAD_H

#include "kernel/profile.h"
#include "walk/toolkit.h"

/*
 * Fetches into the operation's page cache, in a few batches, the pieces
 * piece[0..nr_pieces) (offsets from tl->span_start) of every task the
 * initial pid namespace's IDR names, at most max_tasks of them, and with
 * threads set each one's thread list head. Does nothing without a page cache or where a
 * read is one place (procmem), and gives up quietly on any failure: the
 * walk that follows reads and checks everything itself.
 */
void kh_tasks_read_ahead(struct kh_vm *vm, const struct kh_task_layout *tl,
			 const struct kh_read *piece, unsigned int nr_pieces,
			 unsigned int max_tasks, int threads);

#endif /* KH_TASKS_AHEAD_H */
