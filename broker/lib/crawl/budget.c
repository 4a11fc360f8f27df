// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The time budget of the crawl this thread runs (crawl/budget.h). The
 * clock is read every 16 batches: a batch through the fastest technique
 * costs about as much as reading the clock, and one through a slow one
 * far more, so a crawl overshoots its deadline by at most 16 batches.
 */
#include <stddef.h>

#include "crawl/budget.h"
#include "access/technique.h"

#define CHECK_EVERY 16

static __thread struct kh_budget_run *current;

void kh_budget_begin(struct kh_budget_run *run, uint32_t time_ms)
{
	run->deadline_ns = time_ms ?
			   kh_access_now_ns() + time_ms * 1000000ull : 0;
	run->fetches = 0;
	run->over = 0;
	run->outer = current;
	current = run;
}

void kh_budget_end(struct kh_budget_run *run)
{
	current = run->outer;
}

int kh_budget_over_time(void)
{
	struct kh_budget_run *run = current;

	if (!run || !run->deadline_ns)
		return 0;
	if (!run->over && run->fetches++ % CHECK_EVERY == 0)
		run->over = kh_access_now_ns() > run->deadline_ns;
	return run->over;
}
