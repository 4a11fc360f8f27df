// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The crawl query: one monitoring iteration as one record ("check":
 * with every rootkit check's findings too). The caller
 * numbers the iterations (it paces them), the record says how the crawl
 * went ("incomplete", "problems") as well as res.flags do.
 */
#include "query/query.h"

static int run_crawl(struct kh_vm *vm, const struct kh_query_args *args,
		     struct kh_query_result *res, struct kh_err *err)
{
	struct kh_crawl_budget budget = {
		.time_ms = args->budget_ms,
		.memory_bytes = (uint64_t)args->budget_kib << 10,
	};
	struct kh_crawl *crawl;
	int ret;

	ret = kh_crawl_within(vm, (args->pause ? KH_CRAWL_PAUSE : 0) |
			      (args->check ? KH_CRAWL_CHECK : 0), &budget,
			      &crawl, err);
	if (ret)
		return ret;
	ret = kh_query_done("crawl",
			    kh_json_crawl(crawl, args->iteration,
					  args->summary),
			    &crawl->result, res, err);
	kh_crawl_free(crawl);
	return ret;
}

static const struct kh_query_arg crawl_args[] = {
	{ "pause", KH_QUERY_BOOL, 0, offsetof(struct kh_query_args, pause) },
	{ "summary", KH_QUERY_BOOL, 0,
	  offsetof(struct kh_query_args, summary) },
	{ "check", KH_QUERY_BOOL, 0, offsetof(struct kh_query_args, check) },
	{ "iteration", KH_QUERY_INDEX, 0,
	  offsetof(struct kh_query_args, iteration) },
	{ "budget_ms", KH_QUERY_INDEX, 0,
	  offsetof(struct kh_query_args, budget_ms) },
	{ "budget_kib", KH_QUERY_INDEX, 0,
	  offsetof(struct kh_query_args, budget_kib) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_crawl = {
	.name = "crawl", .args = crawl_args, .run = run_crawl,
	.own_cache = 1,
};
