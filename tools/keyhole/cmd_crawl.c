// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole crawl: the paper's monitoring iteration, once or N times at F
 * per second: every extractor, printed as one JSON document per line with
 * what it cost and its consistency counters (with or without --json: the
 * record is the output). With --pause the guest is halted for each
 * iteration; signals are held meanwhile, so an interrupt can never leave
 * the guest stopped. The VM is attached once for all iterations.
 * --budget-ms and --budget-kib bound each iteration (kh_crawl_within()):
 * one that goes over fails with an error naming the budget.
 */
#include <limits.h>
#include <signal.h>
#include <time.h>

#include "keyhole.h"

static void sleep_until(struct timespec *next, double hz)
{
	long step = (long)(1e9 / hz);

	next->tv_nsec += step % 1000000000L;
	next->tv_sec += step / 1000000000L + next->tv_nsec / 1000000000L;
	next->tv_nsec %= 1000000000L;
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

/*
 * One record per line. The record carries the crawl's own "incomplete" and
 * "problems": no warning on stderr, as there never was.
 */
static void print_record(struct kh_query_result *res)
{
	json_dumpf(res->doc, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
	kh_query_result_release(res);
}

enum { BUDGET_MS = OPT_LONG_ONLY, BUDGET_KIB };

const struct cmd_option crawl_options[] = {
	OPTION("count", 'n', "N", "crawl N times (default 1)"),
	OPTION("hz", 'f', "F", "at most F crawls a second (default 0: back to back)"),
	OPTION("pause", 'p', NULL, "halt the guest for each crawl"),
	OPTION("summary", 's', NULL, "counts and cost only, not the lists"),
	OPTION("check", 'c', NULL, "every rootkit check too (keyhole check), as \"check\""),
	OPTION("budget-ms", BUDGET_MS, "MS", "fail a crawl that takes longer"),
	OPTION("budget-kib", BUDGET_KIB, "KIB",
	  "fail a crawl that needs more memory"),
	{ .name = NULL },
};

int cmd_crawl(const struct options *opts, const struct subcommand *cmd,
	      const struct cmd_args *args)
{
	unsigned long count = 1, budget_ms = 0, budget_kib = 0;
	int pause = 0, summary = 0, check = 0, ret = 0;
	struct query_session session;
	struct kh_query_result res;
	sigset_t hold, old;
	struct timespec next;
	unsigned long i;
	double hz = 0;

	for (i = 0; i < args->nr_opts && !ret; i++) {
		const char *value = args->opt[i].value;

		switch (args->opt[i].key) {
		case 'n':
			ret = parse_uint(opts, cmd, "--count", value, 1,
					 UINT_MAX, &count);
			break;
		case 'f':
			ret = parse_rate(opts, cmd, "--hz", value, true, &hz);
			break;
		case 'p':
			pause = 1;
			break;
		case 's':
			summary = 1;
			break;
		case 'c':
			check = 1;
			break;
		case BUDGET_MS:
			ret = parse_uint(opts, cmd, "--budget-ms", value, 0,
					 UINT_MAX, &budget_ms);
			break;
		case BUDGET_KIB:
			ret = parse_uint(opts, cmd, "--budget-kib", value, 0,
					 UINT_MAX, &budget_kib);
			break;
		}
	}
	if (!ret)
		ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	if (session_open(opts, args->pos[0], &session))
		return 1;
	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	sigaddset(&hold, SIGPIPE);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < count && !ret && !interrupted(); i++) {
		json_t *q = json_pack("{s:b, s:b, s:i}", "pause", pause,
				      "summary", summary, "iteration", (int)i);

		if (check)
			json_object_set_new(q, "check", json_true());
		/* Absent unless asked for: as the record was before budgets. */
		if (budget_ms)
			json_object_set_new(q, "budget_ms",
					    json_integer((json_int_t)budget_ms));
		if (budget_kib)
			json_object_set_new(q, "budget_kib",
					    json_integer((json_int_t)budget_kib));

		if (pause)
			sigprocmask(SIG_BLOCK, &hold, &old);
		ret = session_query(opts, &session, "crawl", q, &res);
		if (pause)
			sigprocmask(SIG_SETMASK, &old, NULL);
		if (ret)
			break;
		print_record(&res);
		if (hz > 0 && i + 1 < count)
			sleep_until(&next, hz);
	}
	session_close(&session);
	return ret ? 1 : 0;
}
