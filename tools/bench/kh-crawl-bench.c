// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh-crawl-bench VM ROUNDS: what a full crawl costs against its floor,
 * per access technique, with and without the crawl's page cache, and
 * incrementally (kh_crawl_since, each crawl against the one before), as
 * Markdown tables: one with the guest running its workload (fork churn
 * included), one with it halted (kh_vm_pause), where nothing changes.
 *
 * Every variant crawls BLOCK times in a row per round, the variants in
 * turn, so that all rows sample the same stretch of a noisy machine while
 * each is timed as one VM crawled again and again is (the first crawl of
 * a block finds the caches the others left; the table gives medians over
 * every crawl). Each variant's first
 * crawl (before the rounds) is traced (kh_trace_start): the reads the
 * walkers asked for, in order. Its floor is that trace replayed from
 * memmap's mapping of the same guest, warm, once per round: exactly the
 * bytes the crawl touched, copied, with nothing else done.
 *
 * kh-crawl-bench --loop VM TECHNIQUE[:since] SECONDS: crawls flat out for
 * SECONDS (":since": each against the one before), for a profiler to
 * watch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

struct variant {
	const char *technique;
	unsigned int flags;
	int incremental;
	const char *how;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	struct kh_trace *trace;
	double *wall, *cpu, *floor;
	uint64_t calls, bytes, procs, reused;
	struct kh_crawl *prev;
	int available;
	char why[256];
};

static struct variant live[] = {
	{ .technique = "memmap", .how = "" },
	{ .technique = "memmap", .incremental = 1, .how = "incremental" },
	{ .technique = "pvreadv", .how = "" },
	{ .technique = "pvreadv", .incremental = 1, .how = "incremental" },
	{ .technique = "pvreadv", .flags = KH_CRAWL_NO_READ_AHEAD,
	  .how = "no read-ahead" },
	{ .technique = "pvreadv", .flags = KH_CRAWL_UNCACHED,
	  .how = "no page cache" },
	{ .technique = "procmem", .how = "" },
	{ .technique = "procmem", .incremental = 1, .how = "incremental" },
	{ .technique = "procmem", .flags = KH_CRAWL_UNCACHED,
	  .how = "no page cache" },
};

static struct variant halted[] = {
	{ .technique = "memmap", .how = "" },
	{ .technique = "memmap", .incremental = 1, .how = "incremental" },
	{ .technique = "pvreadv", .how = "" },
	{ .technique = "pvreadv", .incremental = 1, .how = "incremental" },
	{ .technique = "procmem", .how = "" },
	{ .technique = "procmem", .incremental = 1, .how = "incremental" },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define BLOCK 5

static double now_ms(void)
{
	return now_us(CLOCK_MONOTONIC) / 1e3;
}

static double median(double *v, int n)
{
	return quantile(v, n, 0.5);
}

static int open_vm(const char *spec, const char *technique,
		   struct kh_ctx **ctxp, struct kh_vm **vmp,
		   struct kh_err *err)
{
	struct kh_ctx_config nocache = { .cache_dir = "" };
	struct kh_vm_config cfg = { .technique = technique };

	if (kh_ctx_new(&nocache, ctxp, err))
		return -1;
	if (!kh_vm_open(*ctxp, spec, &cfg, vmp, err))
		return 0;
	kh_ctx_free(*ctxp);
	return -1;
}

/* One crawl of v, its cost added to round i (i < 0: not counted). */
static void crawl_once(struct variant *v, int i)
{
	struct kh_err err = { 0 };
	struct kh_crawl *crawl;

	if (v->incremental ?
	    kh_crawl_since(v->vm, v->flags, NULL, v->prev, &crawl, &err) :
	    kh_crawl(v->vm, v->flags, &crawl, &err))
		die(v->technique, &err);
	if (i >= 0) {
		v->wall[i] = crawl->wall_ms;
		v->cpu[i] = crawl->cpu_ms;
	}
	if (i >= 0 || !v->wall) {
		v->calls += crawl->read_calls;
		v->bytes += crawl->read_bytes;
		v->procs += crawl->nr_procs;
		v->reused += crawl->nr_reused;
	}
	if (v->incremental) {
		kh_crawl_free(v->prev);
		v->prev = crawl;
	} else {
		kh_crawl_free(crawl);
	}
}

static void prepare(const char *spec, struct variant *v, int rounds)
{
	struct kh_err err = { 0 };

	v->wall = calloc(rounds * BLOCK, sizeof(double));
	v->cpu = calloc(rounds * BLOCK, sizeof(double));
	v->floor = calloc(rounds * BLOCK, sizeof(double));
	if (!v->wall || !v->cpu || !v->floor) {
		fprintf(stderr, "kh-crawl-bench: out of memory\n");
		exit(1);
	}
	if (open_vm(spec, v->technique, &v->ctx, &v->vm, &err)) {
		snprintf(v->why, sizeof(v->why), "%s", err.msg);
		return;
	}
	v->available = 1;
	if (kh_trace_start(&v->trace, &err))
		die("trace", &err);
	crawl_once(v, -1);
	kh_trace_stop(v->trace);
}

static void report(struct variant *v, int rounds)
{
	double wall, cpu, floor_us;
	char label[64], kept[32] = "";

	snprintf(label, sizeof(label), "%s%s%s", v->technique,
		 *v->how ? ", " : "", v->how);
	if (!v->available) {
		printf("| %s | - | - | - | - | - | - | - | - | - | not available: %s |\n",
		       label, v->why);
		return;
	}
	wall = median(v->wall, rounds * BLOCK);
	cpu = median(v->cpu, rounds * BLOCK);
	floor_us = median(v->floor, rounds * BLOCK) * 1e3;
	if (v->incremental && v->procs)
		snprintf(kept, sizeof(kept), "%.0f%%",
			 100.0 * v->reused / v->procs);
	printf("| %s | %.0f | %.3g ms | %.3g ms | %.0f | %.0f KiB | %.0f KiB in %zu reads | %.3g us | %.0fx | %s |\n",
	       label, 1e3 / wall, wall, cpu,
	       (double)v->calls / rounds / BLOCK,
	       (double)v->bytes / rounds / BLOCK / 1024,
	       (double)kh_trace_bytes(v->trace) / 1024,
	       kh_trace_reads(v->trace), floor_us, wall * 1e3 / floor_us, kept);
}

/* Every variant of vs, ROUNDS rounds, and its table. */
static void measure(const char *spec, struct variant *vs, unsigned int nr,
		    int rounds, struct kh_vm *floor_vm)
{
	struct kh_err err = { 0 };
	unsigned int j, k;
	int i;

	for (j = 0; j < nr; j++) {
		prepare(spec, &vs[j], rounds);
		/* Warms the mapping for this trace and finds each read. */
		if (vs[j].available &&
		    kh_trace_replay(floor_vm, vs[j].trace, &err))
			die("replay", &err);
	}
	for (i = 0; i < rounds; i++) {
		for (j = 0; j < nr; j++) {
			struct variant *v = &vs[j];
			double start;

			if (!v->available)
				continue;
			for (k = 0; k < BLOCK; k++)
				crawl_once(v, i * BLOCK + k);
			for (k = 0; k < BLOCK; k++) {
				start = now_ms();
				if (kh_trace_replay(floor_vm, v->trace, &err))
					die("replay", &err);
				v->floor[i * BLOCK + k] = now_ms() - start;
			}
		}
	}
	printf("| crawl | crawls/s | wall | CPU | read calls | moved | touched | floor | wall over floor | processes kept |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (j = 0; j < nr; j++)
		report(&vs[j], rounds);
	for (j = 0; j < nr; j++) {
		if (!vs[j].available)
			continue;
		kh_crawl_free(vs[j].prev);
		kh_trace_free(vs[j].trace);
		kh_vm_close(vs[j].vm);
		kh_ctx_free(vs[j].ctx);
	}
}

static int table(const char *spec, int rounds)
{
	struct kh_err err = { 0 };
	struct kh_ctx *floor_ctx;
	struct kh_vm *floor_vm;

	/* The floor's mapping: memmap's, on the same guest. */
	if (open_vm(spec, "memmap", &floor_ctx, &floor_vm, &err))
		die("memmap for the floor", &err);
	printf("### The guest running its workload\n\n");
	measure(spec, live, COUNT(live), rounds, floor_vm);
	printf("\n### The guest halted: nothing changes between crawls\n\n");
	if (kh_vm_pause(floor_vm, &err))
		die("pause", &err);
	measure(spec, halted, COUNT(halted), rounds / 2 > 3 ? rounds / 2 : 3,
		floor_vm);
	if (kh_vm_resume(floor_vm, &err))
		die("resume", &err);
	kh_vm_close(floor_vm);
	kh_ctx_free(floor_ctx);
	return 0;
}

static int loop(const char *spec, const char *technique, double seconds)
{
	struct variant v = { 0 };
	struct kh_err err = { 0 };
	char name[64];
	double end;
	long n = 0;

	snprintf(name, sizeof(name), "%s", technique);
	if (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, ":since")) {
		name[strlen(name) - 6] = '\0';
		v.incremental = 1;
	}
	v.technique = name;
	if (open_vm(spec, name, &v.ctx, &v.vm, &err))
		die(name, &err);
	end = now_ms() + seconds * 1e3;
	while (now_ms() < end) {
		/* Each crawl's own wall time: the median shrugs off a noisy host. */
		if (!(n & (n - 1))) {
			size_t cap = n ? 2 * n : 1;

			v.wall = realloc(v.wall, sizeof(*v.wall) * cap);
			v.cpu = realloc(v.cpu, sizeof(*v.cpu) * cap);
			if (!v.wall || !v.cpu) {
				fprintf(stderr, "kh-crawl-bench: out of memory\n");
				return 1;
			}
		}
		crawl_once(&v, n);
		n++;
	}
	printf("%ld crawls in %.0f s, %.1f us each at the median; per crawl %.0f read calls, %.0f KiB moved, %.0f%% of processes kept\n",
	       n, seconds, median(v.wall, n) * 1e3, (double)v.calls / n,
	       (double)v.bytes / n / 1024,
	       v.procs ? 100.0 * v.reused / v.procs : 0.0);
	free(v.wall);
	free(v.cpu);
	kh_crawl_free(v.prev);
	kh_vm_close(v.vm);
	kh_ctx_free(v.ctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--loop"))
		return loop(argv[2], argv[3], atof(argv[4]));
	if (argc != 3 || atoi(argv[2]) < 3) {
		fprintf(stderr, "usage: kh-crawl-bench VM ROUNDS (>= 3) | --loop VM TECHNIQUE[:since] SECONDS\n");
		return 2;
	}
	return table(argv[1], atoi(argv[2]));
}
