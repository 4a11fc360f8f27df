// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh-bench VM REPEAT: measures attach and walk costs on a live VM and
 * prints Markdown table rows (medians and p90 of REPEAT runs, taken in this
 * one run so that ratios between rows are meaningful on a noisy machine).
 *
 *   cold attach   no profile anywhere: kernel found and kallsyms/BTF
 *                 decoded from guest RAM
 *   warm attach   profile from the on-disk cache (a new context each time)
 *   shared attach a second VM handle in a context that already has the
 *                 profile (what the broker does for VMs of one kernel)
 *   ps walk       kh_tasks() per access technique: wall and CPU time,
 *                 system calls and bytes per walk
 *   full crawl    kh_crawl(), the paper's whole monitoring iteration
 *
 * kh-bench --consistency VM N DATA: the paper's figure 7, how often each
 * inconsistency type occurs over N crawls live and N halted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libkeyhole.h"

static double now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(int)(q * (n - 1) + 0.5)];
}

static void die(const char *what, const struct kh_err *err)
{
	fprintf(stderr, "kh-bench: %s: %s\n", what, err->msg);
	exit(1);
}

static void row(const char *what, double *v, int n, const char *unit,
		const char *extra)
{
	double med = quantile(v, n, 0.5), p90 = quantile(v, n, 0.9);

	printf("| %s | %d | %.3g %s | %.3g %s | %s |\n", what, n, med, unit,
	       p90, unit, extra);
}

static void attach_rows(const char *spec, int repeat, const char *cache)
{
	struct kh_ctx_config nocache = { .cache_dir = "" };
	struct kh_ctx_config cached = { .cache_dir = cache };
	struct kh_vm *vm, *second;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	double *t = calloc(repeat, sizeof(*t));
	int i;

	for (i = 0; i < repeat; i++) {
		double start = now_us(CLOCK_MONOTONIC);

		if (kh_ctx_new(&nocache, &ctx, &err) ||
		    kh_vm_open(ctx, spec, NULL, &vm, &err))
			die("cold attach", &err);
		t[i] = (now_us(CLOCK_MONOTONIC) - start) / 1e3;
		kh_vm_close(vm);
		kh_ctx_free(ctx);
	}
	row("cold attach (profile built from guest RAM)", t, repeat, "ms", "");

	/* Fill the cache once, then time attaches that find it. */
	if (kh_ctx_new(&cached, &ctx, &err) ||
	    kh_vm_open(ctx, spec, NULL, &vm, &err))
		die("cache fill", &err);
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	for (i = 0; i < repeat; i++) {
		double start = now_us(CLOCK_MONOTONIC);

		if (kh_ctx_new(&cached, &ctx, &err) ||
		    kh_vm_open(ctx, spec, NULL, &vm, &err))
			die("warm attach", &err);
		t[i] = (now_us(CLOCK_MONOTONIC) - start) / 1e3;
		kh_vm_close(vm);
		kh_ctx_free(ctx);
	}
	row("warm attach (profile from disk cache)", t, repeat, "ms", "");

	if (kh_ctx_new(&nocache, &ctx, &err) ||
	    kh_vm_open(ctx, spec, NULL, &vm, &err))
		die("shared attach", &err);
	for (i = 0; i < repeat; i++) {
		double start = now_us(CLOCK_MONOTONIC);

		if (kh_vm_open(ctx, spec, NULL, &second, &err))
			die("shared attach", &err);
		t[i] = (now_us(CLOCK_MONOTONIC) - start) / 1e3;
		kh_vm_close(second);
	}
	row("shared attach (profile already in the context)", t, repeat, "ms",
	    "");
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	free(t);
}

static void walk_rows(const char *spec, int repeat, const char *technique,
		      unsigned int flags)
{
	struct kh_ctx_config nocache = { .cache_dir = "" };
	struct kh_vm_config cfg = { .technique = technique };
	double *wall = calloc(repeat, sizeof(*wall));
	double *cpu = calloc(repeat, sizeof(*cpu));
	struct kh_stats before, after;
	struct kh_task_list *list;
	struct kh_err err = { 0 };
	unsigned int tasks = 0;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	char what[128], extra[256];
	int i;

	if (kh_ctx_new(&nocache, &ctx, &err))
		die(technique, &err);
	if (kh_vm_open(ctx, spec, &cfg, &vm, &err)) {
		printf("| ps walk, %s | - | - | - | not available: %s |\n",
		       technique, err.msg);
		kh_ctx_free(ctx);
		free(wall);
		free(cpu);
		return;
	}
	kh_vm_get_stats(vm, &before);
	for (i = 0; i < repeat; i++) {
		double w0 = now_us(CLOCK_MONOTONIC);
		double c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);

		if (kh_tasks(vm, flags, &list, &err))
			die("walk", &err);
		cpu[i] = now_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
		wall[i] = now_us(CLOCK_MONOTONIC) - w0;
		tasks = list->nr;
		kh_task_list_free(list);
	}
	kh_vm_get_stats(vm, &after);
	snprintf(extra, sizeof(extra),
		 "%u tasks; %.0f read calls, %.0f elements, %.1f KiB per walk",
		 tasks, (double)(after.read_calls - before.read_calls) / repeat,
		 (double)(after.read_elems - before.read_elems) / repeat,
		 (double)(after.read_bytes - before.read_bytes) / repeat / 1024);
	snprintf(what, sizeof(what), "ps%s walk, %s, wall",
		 flags & KH_TASKS_THREADS ? " -T" : "", technique);
	row(what, wall, repeat, "us", extra);
	snprintf(what, sizeof(what), "ps%s walk, %s, CPU",
		 flags & KH_TASKS_THREADS ? " -T" : "", technique);
	row(what, cpu, repeat, "us", "");
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	free(wall);
	free(cpu);
}

/* Crawl rate per technique: the paper's monitoring iteration, end to end. */
static void crawl_rows(const char *spec, int repeat, const char *technique)
{
	struct kh_ctx_config nocache = { .cache_dir = "" };
	struct kh_vm_config cfg = { .technique = technique };
	double *wall = calloc(repeat, sizeof(*wall));
	double *cpu = calloc(repeat, sizeof(*cpu));
	uint64_t calls = 0, bytes = 0;
	struct kh_err err = { 0 };
	struct kh_crawl *crawl;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	char what[128], extra[256];
	double total = 0;
	int i;

	if (kh_ctx_new(&nocache, &ctx, &err))
		die(technique, &err);
	if (kh_vm_open(ctx, spec, &cfg, &vm, &err)) {
		printf("| crawl, %s | - | - | - | not available: %s |\n",
		       technique, err.msg);
		kh_ctx_free(ctx);
		free(wall);
		free(cpu);
		return;
	}
	for (i = 0; i < repeat; i++) {
		if (kh_crawl(vm, 0, &crawl, &err))
			die("crawl", &err);
		wall[i] = crawl->wall_ms;
		cpu[i] = crawl->cpu_ms;
		total += crawl->wall_ms;
		calls += crawl->read_calls;
		bytes += crawl->read_bytes;
		kh_crawl_free(crawl);
	}
	/* The first crawl of a handle pays its page faults: report both. */
	snprintf(extra, sizeof(extra),
		 "%.0f crawls/s at the median, %.0f over the run; %.0f read calls, %.0f KiB per crawl",
		 1e3 / quantile(wall, repeat, 0.5), repeat / (total / 1e3),
		 (double)calls / repeat, (double)bytes / repeat / 1024);
	snprintf(what, sizeof(what), "full crawl, %s, wall", technique);
	row(what, wall, repeat, "ms", extra);
	snprintf(what, sizeof(what), "full crawl, %s, CPU", technique);
	row(what, cpu, repeat, "ms", "");
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	free(wall);
	free(cpu);
}

/*
 * The paper's figure 7: how often each inconsistency type shows up in a
 * crawl, live and with the guest halted, over n crawls each. Also writes
 * the numbers for the chart to data_path.
 */
static void consistency_rows(const char *spec, int n, const char *data_path)
{
	static const char *const names[] = { "I.A zombie", "I.B dying",
		"I.C as-good-as-dead", "I.D fresh", "II.A died",
		"II.B changed" };
	struct kh_ctx_config nocache = { .cache_dir = "" };
	unsigned int seen[2][6] = { { 0 } }, mode, t;
	struct kh_err err = { 0 };
	struct kh_crawl *crawl;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	FILE *data;
	int i;

	if (kh_ctx_new(&nocache, &ctx, &err) ||
	    kh_vm_open(ctx, spec, NULL, &vm, &err))
		die("consistency", &err);
	for (mode = 0; mode < 2; mode++) {
		for (i = 0; i < n; i++) {
			const struct kh_consistency *c;
			unsigned int counts[6];

			if (kh_crawl(vm, mode ? KH_CRAWL_PAUSE : 0, &crawl,
				     &err))
				die("crawl", &err);
			c = &crawl->consistency;
			counts[0] = c->zombie;
			counts[1] = c->dying;
			counts[2] = c->as_good_as_dead;
			counts[3] = c->fresh;
			counts[4] = c->died;
			counts[5] = c->changed;
			for (t = 0; t < 6; t++)
				seen[mode][t] += counts[t] > 0;
			kh_crawl_free(crawl);
		}
	}
	printf("| type | live: crawls with it | live %% | halted: crawls with it | halted %% |\n");
	printf("|---|---|---|---|---|\n");
	data = fopen(data_path, "w");
	for (t = 0; t < 6; t++) {
		printf("| %s | %u / %d | %.2f | %u / %d | %.2f |\n", names[t],
		       seen[0][t], n, 100.0 * seen[0][t] / n, seen[1][t], n,
		       100.0 * seen[1][t] / n);
		if (data)
			fprintf(data, "\"%s\" %.4f %.4f\n", names[t],
				100.0 * seen[0][t] / n, 100.0 * seen[1][t] / n);
	}
	if (data)
		fclose(data);
	kh_vm_close(vm);
	kh_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "memmap", "pvreadv",
						  "procmem", NULL };
	char cache[] = "/tmp/kh-bench-cache.XXXXXX";
	int repeat, i;

	if (argc == 5 && !strcmp(argv[1], "--consistency")) {
		/* kh-bench --consistency VM CRAWLS DATAFILE */
		consistency_rows(argv[2], atoi(argv[3]), argv[4]);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: kh-bench VM REPEAT | --consistency VM CRAWLS DATAFILE\n");
		return 2;
	}
	repeat = atoi(argv[2]);
	if (repeat < 3 || !mkdtemp(cache)) {
		fprintf(stderr, "kh-bench: REPEAT must be >= 3\n");
		return 2;
	}
	printf("| measurement | runs | median | p90 | notes |\n");
	printf("|---|---|---|---|---|\n");
	attach_rows(argv[1], repeat, cache);
	for (i = 0; techniques[i]; i++)
		walk_rows(argv[1], repeat * 10, techniques[i], 0);
	for (i = 0; techniques[i]; i++)
		walk_rows(argv[1], repeat * 10, techniques[i],
			  KH_TASKS_THREADS);
	for (i = 0; techniques[i]; i++)
		crawl_rows(argv[1], repeat * 10, techniques[i]);
	fflush(stdout);
	execlp("rm", "rm", "-rf", cache, (char *)NULL);
	return 0;
}
