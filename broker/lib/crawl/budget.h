/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A crawl's time budget, seen by every read the crawling thread makes:
 * kh_crawl_within() starts it, kh_gpa_fetch() asks it before each batch,
 * so that a guest that makes a walk slow (a slow technique, a huge or
 * hostile guest) ends the crawl soon after its deadline, wherever the
 * walk is. Per thread, because a daemon crawls different VMs on
 * different threads at once.
 */
#ifndef KH_BUDGET_H
#define KH_BUDGET_H

#include <stdint.h>

struct kh_budget_run {
	uint64_t deadline_ns;	/* CLOCK_MONOTONIC; 0: no time budget */
	unsigned int fetches;
	int over;		/* the deadline passed */
	struct kh_budget_run *outer;
};

void kh_budget_begin(struct kh_budget_run *run, uint32_t time_ms);
void kh_budget_end(struct kh_budget_run *run);

/* 1 when this thread's crawl is past its deadline (then for good). */
int kh_budget_over_time(void);

#endif
