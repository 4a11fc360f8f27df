// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole crawl: the paper's monitoring iteration, once or N times at F
 * per second: every extractor, printed as one JSON document per line with
 * what it cost and its consistency counters. With --pause the guest is
 * halted for each iteration; signals are held meanwhile, so an interrupt
 * can never leave the guest stopped.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyhole.h"

static json_t *consistency_json(const struct kh_consistency *c)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}",
			 "I.A_zombie", c->zombie, "I.B_dying", c->dying,
			 "I.C_as_good_as_dead", c->as_good_as_dead,
			 "I.D_fresh", c->fresh, "II.A_died", c->died,
			 "II.B_changed", c->changed);
}

/* argv from guest memory: printable ASCII, so always valid JSON. */
static json_t *cmdline_json(const struct kh_proc_state *ps)
{
	json_t *argv = json_array();
	char arg[sizeof(ps->cmdline) + 1];
	size_t i, n = 0;

	for (i = 0; i <= ps->cmdline_len && i < sizeof(ps->cmdline); i++) {
		char c = i < ps->cmdline_len ? ps->cmdline[i] : '\0';

		if (c) {
			arg[n++] = c >= 0x20 && c < 0x7f ? c : '?';
			continue;
		}
		if (n || i < ps->cmdline_len) {
			arg[n] = '\0';
			json_array_append_new(argv, json_string(arg));
		}
		n = 0;
	}
	return argv;
}

/* Per process: its maps, argv and resident pages, keyed by pid. */
static json_t *procs_json(const struct kh_crawl *crawl)
{
	json_t *procs = json_object();
	unsigned int i;
	char pid[16];

	for (i = 0; i < crawl->nr_procs; i++) {
		const struct kh_proc_state *ps = &crawl->procs[i];

		snprintf(pid, sizeof(pid), "%d", ps->pid);
		json_object_set_new(procs, pid, json_pack("{s:o, s:I, s:o}",
			"cmdline", cmdline_json(ps),
			"rss_pages", (json_int_t)ps->rss_pages,
			"maps", vmas_json(ps->maps)));
	}
	return procs;
}

static json_t *crawl_json(const struct kh_crawl *crawl, unsigned int i,
			  int summary)
{
	json_t *doc = json_pack("{s:i, s:{s:f, s:f, s:I, s:I}, s:o, s:i, s:b}",
		"iteration", i,
		"cost", "wall_ms", crawl->wall_ms, "cpu_ms", crawl->cpu_ms,
		"read_bytes", (json_int_t)crawl->read_bytes,
		"read_calls", (json_int_t)crawl->read_calls,
		"consistency", consistency_json(&crawl->consistency),
		"skipped", crawl->nr_skipped, "paused", crawl->paused);

	if (crawl->result.flags)
		json_object_set_new(doc, "problem",
				    json_string(crawl->result.problem));
	json_object_set_new(doc, "incomplete",
			    json_boolean(crawl->result.flags &
					 KH_RESULT_INCOMPLETE));
	if (summary) {
		json_object_set_new(doc, "counts", json_pack(
			"{s:i, s:i, s:i, s:i, s:i, s:i}",
			"tasks", crawl->tasks->nr,
			"modules", crawl->modules->nr,
			"ifaces", crawl->ifaces->nr,
			"files", crawl->files->nr,
			"conns", crawl->conns->nr,
			"procs", crawl->nr_procs));
		return doc;
	}
	json_object_set_new(doc, "os", os_info_json(&crawl->os));
	json_object_set_new(doc, "mem", mem_info_json(&crawl->mem));
	json_object_set_new(doc, "processes", tasks_json(crawl->tasks));
	json_object_set_new(doc, "modules", modules_json(crawl->modules));
	json_object_set_new(doc, "ifaces", ifaces_json(crawl->ifaces));
	json_object_set_new(doc, "files", files_json(crawl->files, crawl->tasks));
	json_object_set_new(doc, "conns", conns_json(crawl->conns));
	json_object_set_new(doc, "proc", procs_json(crawl));
	return doc;
}

static void sleep_until(struct timespec *next, double hz)
{
	long step = (long)(1e9 / hz);

	next->tv_nsec += step % 1000000000L;
	next->tv_sec += step / 1000000000L + next->tv_nsec / 1000000000L;
	next->tv_nsec %= 1000000000L;
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
}

int cmd_crawl(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "hz", required_argument, NULL, 'f' },
		{ "pause", no_argument, NULL, 'p' },
		{ "summary", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int count = 1, i, flags = 0;
	int c, summary = 0, ret = 0;
	struct kh_err err = { 0 };
	sigset_t hold, old;
	struct timespec next;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	double hz = 0;
	json_t *doc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+n:f:psh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			hz = strtod(optarg, NULL);
			break;
		case 'p':
			flags |= KH_CRAWL_PAUSE;
			break;
		case 's':
			summary = 1;
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
	if (attach(opts, argv[optind], &ctx, &vm))
		return 1;
	sigemptyset(&hold);
	sigaddset(&hold, SIGINT);
	sigaddset(&hold, SIGTERM);
	sigaddset(&hold, SIGHUP);
	sigaddset(&hold, SIGPIPE);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < count && !ret && !interrupted(); i++) {
		struct kh_crawl *crawl;

		if (flags & KH_CRAWL_PAUSE)
			sigprocmask(SIG_BLOCK, &hold, &old);
		ret = kh_crawl(vm, flags, &crawl, &err);
		if (flags & KH_CRAWL_PAUSE)
			sigprocmask(SIG_SETMASK, &old, NULL);
		if (ret) {
			report_error(opts, "%s", err.msg);
			break;
		}
		doc = crawl_json(crawl, i, summary);
		json_dumpf(doc, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(doc);
		fputc('\n', stdout);
		fflush(stdout);
		kh_crawl_free(crawl);
		if (hz > 0 && i + 1 < count)
			sleep_until(&next, hz);
	}
	detach(ctx, vm);
	return ret ? 1 : 0;
}
