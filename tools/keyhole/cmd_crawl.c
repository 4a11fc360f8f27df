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
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyhole.h"

/* A budget: a whole number >= 0 that fits in an unsigned int. */
static int parse_budget(const char *arg, unsigned int *val)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v > UINT_MAX)
		return -1;
	*val = v;
	return 0;
}

static void sleep_until(struct timespec *next, double hz)
{
	long step = (long)(1e9 / hz);

	next->tv_nsec += step % 1000000000L;
	next->tv_sec += step / 1000000000L + next->tv_nsec / 1000000000L;
	next->tv_nsec %= 1000000000L;
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

/*
 * One record per line. The record carries the crawl's own "problem" and
 * "incomplete": no warning on stderr, as there never was.
 */
static void print_record(struct kh_query_result *res)
{
	json_dumpf(res->doc, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
	kh_query_result_release(res);
}

int cmd_crawl(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "hz", required_argument, NULL, 'f' },
		{ "pause", no_argument, NULL, 'p' },
		{ "summary", no_argument, NULL, 's' },
		{ "budget-ms", required_argument, NULL, 't' },
		{ "budget-kib", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int count = 1, budget_ms = 0, budget_kib = 0, i;
	int c, pause = 0, summary = 0, ret = 0;
	struct query_session session;
	struct kh_query_result res;
	sigset_t hold, old;
	struct timespec next;
	double hz = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+n:f:pst:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			hz = strtod(optarg, NULL);
			break;
		case 'p':
			pause = 1;
			break;
		case 's':
			summary = 1;
			break;
		case 't':
			if (parse_budget(optarg, &budget_ms))
				return report_error(opts, "crawl: --budget-ms wants milliseconds (a whole number >= 0), not '%s'",
						    optarg);
			break;
		case 'm':
			if (parse_budget(optarg, &budget_kib))
				return report_error(opts, "crawl: --budget-kib wants KiB (a whole number >= 0), not '%s'",
						    optarg);
			break;
		case 'h':
			subcommand_usage(subcommand_find("crawl"), stdout);
			return 0;
		default:
			return report_error(opts, "crawl: bad option; see 'crawl --help'");
		}
	}
	if (optind != argc - 1 || !count || hz < 0)
		return report_error(opts, "crawl: expected [--count N>0] [--hz F>=0] [--pause] VM");
	if (session_open(opts, argv[optind], &session))
		return 1;
	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	sigaddset(&hold, SIGPIPE);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < count && !ret && !interrupted(); i++) {
		json_t *args = json_pack("{s:b, s:b, s:i}", "pause", pause,
					 "summary", summary, "iteration", (int)i);

		/* Absent unless asked for: as the record was before budgets. */
		if (budget_ms)
			json_object_set_new(args, "budget_ms",
					    json_integer(budget_ms));
		if (budget_kib)
			json_object_set_new(args, "budget_kib",
					    json_integer(budget_kib));

		if (pause)
			sigprocmask(SIG_BLOCK, &hold, &old);
		ret = session_query(opts, &session, "crawl", args, &res);
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
