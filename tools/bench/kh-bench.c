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
 *   full crawl    kh_crawl(), the paper's whole monitoring iteration;
 *                 with every rootkit check, and both incremental
 *                 (kh_crawl_since), as keyholed runs a subscription
 *
 * kh-bench --consistency VM N DATA: the paper's figure 7, how often each
 * inconsistency type occurs over N crawls live and N halted.
 *
 * kh-bench --ladder VM DATA: the raw-access ladder, every available access
 * technique side by side on one guest (see ladder()).
 *
 * kh-bench --views VM REPEAT: each keyhole command's cost per technique
 * (views.c).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

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

/*
 * Crawl rate per technique: the paper's monitoring iteration, end to end,
 * and what keyholed runs for a subscription with checks: an incremental
 * crawl (kh_crawl_since) with every rootkit check at its end; and the
 * checks alone (kh_check), as the CLI runs them. The variants take turns,
 * crawl by crawl, so that the machine's noise falls on all.
 */
static const struct crawl_variant {
	const char *what;
	unsigned int flags;
	int since;			/* kh_crawl_since its own last crawl */
	int check_only;			/* kh_check, no crawl */
} crawl_variants[] = {
	{ "full crawl", 0, 0, 0 },
	{ "full crawl + check", KH_CRAWL_CHECK, 0, 0 },
	{ "incremental crawl", 0, 1, 0 },
	{ "incremental crawl + check", KH_CRAWL_CHECK, 1, 0 },
	{ "check alone", 0, 0, 1 },
};

#define NR_CRAWL_VARIANTS \
	(sizeof(crawl_variants) / sizeof(crawl_variants[0]))

struct crawl_times {
	double *wall, *cpu, total;
	uint64_t calls, bytes;
	struct kh_crawl *last;		/* the incremental crawl's prev */
};

/* kh_check as a crawl variant: its wall and CPU time, reads and bytes. */
static void check_once(struct kh_vm *vm, struct crawl_times *t, int i)
{
	double w0 = now_us(CLOCK_MONOTONIC), c0 = now_us(CLOCK_THREAD_CPUTIME_ID);
	struct kh_check_report *report;
	struct kh_stats before, after;
	struct kh_err err = { 0 };

	kh_vm_get_stats(vm, &before);
	if (kh_check(vm, 0, &report, &err))
		die("check", &err);
	t->cpu[i] = (now_us(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3;
	t->wall[i] = (now_us(CLOCK_MONOTONIC) - w0) / 1e3;
	kh_vm_get_stats(vm, &after);
	kh_check_report_free(report);
	t->total += t->wall[i];
	t->calls += after.read_calls - before.read_calls;
	t->bytes += after.read_bytes - before.read_bytes;
}

static void crawl_variant_rows(const struct crawl_variant *v,
			       struct crawl_times *t, int repeat,
			       const char *technique)
{
	const char *unit = v->check_only ? "check" : "crawl";
	char what[128], extra[256];

	/* The first crawl of a handle pays its page faults: report both. */
	snprintf(extra, sizeof(extra),
		 "%.0f %ss/s at the median, %.0f over the run; %.0f read calls, %.0f KiB per %s",
		 1e3 / quantile(t->wall, repeat, 0.5), unit,
		 repeat / (t->total / 1e3), (double)t->calls / repeat,
		 (double)t->bytes / repeat / 1024, unit);
	snprintf(what, sizeof(what), "%s, %s, wall", v->what, technique);
	row(what, t->wall, repeat, "ms", extra);
	snprintf(what, sizeof(what), "%s, %s, CPU", v->what, technique);
	row(what, t->cpu, repeat, "ms", "");
}

static void crawl_rows(const char *spec, int repeat, const char *technique)
{
	struct kh_ctx_config nocache = { .cache_dir = "" };
	struct kh_vm_config cfg = { .technique = technique };
	struct crawl_times times[NR_CRAWL_VARIANTS] = { { 0 } };
	struct kh_err err = { 0 };
	struct kh_crawl *crawl;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	unsigned int v;
	int i;

	if (kh_ctx_new(&nocache, &ctx, &err))
		die(technique, &err);
	if (kh_vm_open(ctx, spec, &cfg, &vm, &err)) {
		printf("| crawl, %s | - | - | - | not available: %s |\n",
		       technique, err.msg);
		kh_ctx_free(ctx);
		return;
	}
	for (v = 0; v < NR_CRAWL_VARIANTS; v++) {
		times[v].wall = calloc(repeat, sizeof(double));
		times[v].cpu = calloc(repeat, sizeof(double));
		if (!times[v].wall || !times[v].cpu) {
			fprintf(stderr, "kh-bench: out of memory\n");
			exit(1);
		}
	}
	for (i = 0; i < repeat; i++) {
		for (v = 0; v < NR_CRAWL_VARIANTS; v++) {
			const struct crawl_variant *cv = &crawl_variants[v];
			struct crawl_times *t = &times[v];
			int ret;

			if (cv->check_only) {
				check_once(vm, t, i);
				continue;
			}
			ret = cv->since ?
				  kh_crawl_since(vm, cv->flags, NULL, t->last,
						 &crawl, &err) :
				  kh_crawl(vm, cv->flags, &crawl, &err);

			if (ret)
				die(cv->what, &err);
			t->wall[i] = crawl->wall_ms;
			t->cpu[i] = crawl->cpu_ms;
			t->total += crawl->wall_ms;
			t->calls += crawl->read_calls;
			t->bytes += crawl->read_bytes;
			kh_crawl_free(t->last);
			t->last = crawl;
		}
	}
	for (v = 0; v < NR_CRAWL_VARIANTS; v++) {
		crawl_variant_rows(&crawl_variants[v], &times[v], repeat,
				   technique);
		kh_crawl_free(times[v].last);
		free(times[v].wall);
		free(times[v].cpu);
	}
	kh_vm_close(vm);
	kh_ctx_free(ctx);
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


/* ---- the raw-access ladder ---- */

#define LADDER_MAX_SAMPLES	4000
#define LADDER_READ_BUDGET_US	1.5e6	/* per read size and technique */
#define LADDER_SEQ_BYTES	(64ull << 20)
#define LADDER_SEQ_CHUNK	(1u << 20)
#define LADDER_SEQ_BUDGET_US	4e6
#define LADDER_WALKS		200
#define LADDER_WALK_BUDGET_US	3e6

/*
 * CPU time (us) QEMU spent outside its vCPU threads: the monitor, main
 * loop and migration threads that serve interface techniques. The vCPU
 * threads run the guest's own workload and are left out.
 */
static double qemu_service_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	double total = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		FILE *f;
		size_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		/* comm is in parentheses and may hold spaces. */
		if (strstr(buf, "(CPU "))
			continue;
		p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st) == 2)
			total += (ut + st) * 1e6 / sysconf(_SC_CLK_TCK);
	}
	closedir(dir);
	return total;
}

static double self_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

/* xorshift: the same addresses for every technique. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* A GPA whose [gpa, gpa + len) lies in one RAM range. */
static uint64_t random_gpa(const struct kh_vm_info *info, uint64_t *state,
			   uint32_t len)
{
	uint64_t total = 0, at;
	unsigned int r;

	for (r = 0; r < info->nr_ranges; r++)
		total += info->ranges[r].size;
	at = next_random(state) % total;
	for (r = 0; r < info->nr_ranges; r++) {
		if (at < info->ranges[r].size)
			break;
		at -= info->ranges[r].size;
	}
	if (at + len > info->ranges[r].size)
		at = info->ranges[r].size - len;
	return info->ranges[r].gpa + (at & ~(uint64_t)(len - 1));
}

/* Median and p99 of single random reads of len bytes, time-bounded. */
static int random_reads(struct kh_vm *vm, const struct kh_vm_info *info,
			uint32_t len, double *med, double *p99)
{
	static double t[LADDER_MAX_SAMPLES];
	static uint8_t buf[4096];
	uint64_t state = 0x9e3779b97f4a7c15ull;
	double start = now_us(CLOCK_MONOTONIC);
	struct kh_err err = { 0 };
	int n;

	for (n = 0; n < LADDER_MAX_SAMPLES; n++) {
		struct kh_read rd = { .buf = buf, .len = len };
		double t0;

		rd.addr = random_gpa(info, &state, len);
		t0 = now_us(CLOCK_MONOTONIC);
		if (kh_read_phys(vm, &rd, 1, &err) || rd.result)
			return -1;
		t[n] = now_us(CLOCK_MONOTONIC) - t0;
		if (n >= 10 && t[n] + now_us(CLOCK_MONOTONIC) - start >
			       LADDER_READ_BUDGET_US)
			break;
	}
	n += n < LADDER_MAX_SAMPLES;
	*med = quantile(t, n, 0.5);
	*p99 = quantile(t, n, 0.99);
	return n;
}

/* MB/s over up to 64 MiB from GPA 1 MiB; *bytes says how much was read. */
static double sequential(struct kh_vm *vm, uint64_t *bytes)
{
	double start = now_us(CLOCK_MONOTONIC), elapsed = 0;
	uint8_t *buf = malloc(LADDER_SEQ_CHUNK);
	struct kh_err err = { 0 };
	uint64_t done = 0;

	while (buf && done < LADDER_SEQ_BYTES &&
	       elapsed < LADDER_SEQ_BUDGET_US) {
		struct kh_read rd = { .addr = (1u << 20) + done, .buf = buf,
				      .len = LADDER_SEQ_CHUNK };

		if (kh_read_phys(vm, &rd, 1, &err) || rd.result)
			break;
		done += LADDER_SEQ_CHUNK;
		elapsed = now_us(CLOCK_MONOTONIC) - start;
	}
	free(buf);
	*bytes = done;
	return done && elapsed ? done / elapsed : 0;
}

static void fmt_us(char *out, size_t size, double us)
{
	if (us < 0)
		snprintf(out, size, "-");
	else if (us < 1000)
		snprintf(out, size, "%.3g us", us);
	else if (us < 1e6)
		snprintf(out, size, "%.3g ms", us / 1e3);
	else
		snprintf(out, size, "%.3g s", us / 1e6);
}

static void ladder_technique(const char *spec, pid_t qemu,
			     const struct kh_technique *t, FILE *data)
{
	static const uint32_t sizes[] = { 8, 64, 4096 };
	struct kh_ctx_config ccfg = { .cache_dir = NULL };
	struct kh_vm_config cfg = { .technique = t->name };
	double med[3] = { -1, -1, -1 }, p99[3] = { -1, -1, -1 };
	double walk[LADDER_WALKS], walk_med = -1, cpu_self = 0, cpu_qemu = 0;
	double open_us, qemu0, self0, mbs = 0;
	struct kh_access_cost cost0, cost1;
	struct kh_task_list *list;
	struct kh_err err = { 0 };
	struct kh_vm_info info;
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32];
	uint64_t seq_bytes = 0;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	int i, walks = 0;
	double start;

	if (!t->available) {
		printf("| %s | %s | - | - | - | - | - | - | - | - | not available: %s |\n",
		       t->name, t->klass, t->reason);
		return;
	}
	if (kh_ctx_new(&ccfg, &ctx, &err))
		die(t->name, &err);
	qemu0 = qemu_service_cpu_us(qemu);
	start = now_us(CLOCK_MONOTONIC);
	if (kh_vm_open(ctx, spec, &cfg, &vm, &err)) {
		printf("| %s | %s | - | - | - | - | - | - | - | - | failed to open: %s |\n",
		       t->name, t->klass, err.msg);
		kh_ctx_free(ctx);
		return;
	}
	open_us = now_us(CLOCK_MONOTONIC) - start;
	kh_vm_get_access_cost(vm, &cost0);
	kh_vm_get_info(vm, &info);
	if (!(t->props & KH_TECHNIQUE_AGENT)) {
		/*
		 * A first pass over the same addresses pays the one-time
		 * costs (page faults on a copy, host pages of RAM the guest
		 * never touched) that would otherwise land on the 8 B row.
		 */
		random_reads(vm, &info, 8, &med[0], &p99[0]);
		for (i = 0; i < 3; i++)
			if (random_reads(vm, &info, sizes[i], &med[i],
					 &p99[i]) < 0)
				med[i] = p99[i] = -1;
		mbs = sequential(vm, &seq_bytes);
	}
	/* Walks: CPU of keyhole and of QEMU's service threads per walk. */
	kh_vm_get_access_cost(vm, &cost0);
	qemu0 = qemu_service_cpu_us(qemu);
	self0 = self_cpu_us();
	start = now_us(CLOCK_MONOTONIC);
	for (walks = 0; walks < LADDER_WALKS; walks++) {
		double w0 = now_us(CLOCK_MONOTONIC);

		if (kh_tasks(vm, 0, &list, &err))
			break;
		kh_task_list_free(list);
		walk[walks] = now_us(CLOCK_MONOTONIC) - w0;
		if (walks >= 2 && now_us(CLOCK_MONOTONIC) - start >
				  LADDER_WALK_BUDGET_US) {
			walks++;
			break;
		}
	}
	if (walks) {
		walk_med = quantile(walk, walks, 0.5);
		cpu_self = (self_cpu_us() - self0) / walks;
		cpu_qemu = (qemu_service_cpu_us(qemu) - qemu0) / walks;
	}
	kh_vm_get_access_cost(vm, &cost1);
	fmt_us(a, sizeof(a), med[0]);
	fmt_us(b, sizeof(b), med[1]);
	fmt_us(c, sizeof(c), med[2]);
	fmt_us(d, sizeof(d), walk_med);
	fmt_us(e, sizeof(e), cpu_self);
	fmt_us(f, sizeof(f), cpu_qemu);
	fmt_us(g, sizeof(g), open_us);
	/* Halted: by the snapshot at open, or per walk for halting reads. */
	fmt_us(h, sizeof(h), (t->props & KH_TECHNIQUE_SNAPSHOT) ?
	       cost0.halted_ns / 1e3 :
	       walks ? (cost1.halted_ns - cost0.halted_ns) / 1e3 / walks : -1);
	printf("| %s | %s | %s / ", t->name, t->klass, a);
	fmt_us(a, sizeof(a), p99[0]);
	printf("%s | %s / ", a, b);
	fmt_us(b, sizeof(b), p99[1]);
	printf("%s | %s / ", b, c);
	fmt_us(c, sizeof(c), p99[2]);
	printf("%s | ", c);
	if (seq_bytes == LADDER_SEQ_BYTES)
		printf("%.0f MB/s", mbs);
	else if (seq_bytes)
		printf("%.3g MB/s (%" PRIu64 " MiB in %.0f s, scaled)", mbs,
		       seq_bytes >> 20, LADDER_SEQ_BUDGET_US / 1e6);
	else
		printf("-");
	printf(" | %s | %s + %s | %s | %s%s | %d walks%s |\n", d, e, f,
	       (t->props & KH_TECHNIQUE_SNAPSHOT) ? g : "-", h,
	       (t->props & KH_TECHNIQUE_SNAPSHOT) ? " (snapshot)" :
	       (t->props & KH_TECHNIQUE_HALTING) ? " per walk" : "",
	       walks, (t->props & KH_TECHNIQUE_SNAPSHOT) ?
	       "; reads and walks use the copy" : "");
	if (data)
		fprintf(data, "%s %g %g %g %g %g\n", t->name,
			med[0] > 0 ? med[0] : 1e-9, med[1] > 0 ? med[1] : 1e-9,
			med[2] > 0 ? med[2] : 1e-9,
			walk_med > 0 ? walk_med : 1e-9,
			(t->props & KH_TECHNIQUE_SNAPSHOT) ? open_us : 1e-9);
	kh_vm_close(vm);
	kh_ctx_free(ctx);
}

/*
 * The ladder: every technique kh_techniques() lists, in its order (fastest
 * live first), on one guest in one run, with a data file for the chart.
 */
static int ladder(const char *spec, const char *data_path)
{
	struct kh_technique *list;
	struct kh_err err = { 0 };
	struct kh_vm_info info;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	unsigned int nr, i;
	FILE *data;

	/* The profile cache is warmed first so that opens time the access. */
	if (kh_ctx_new(NULL, &ctx, &err) || kh_vm_open(ctx, spec, NULL, &vm,
						       &err))
		die("ladder", &err);
	kh_vm_get_info(vm, &info);
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	if (kh_techniques(spec, NULL, &list, &nr, &err))
		die("ladder", &err);
	data = fopen(data_path, "w");
	printf("| technique | class | 8 B read (median / p99) | 64 B read | 4 KiB read | 64 MiB sequential | ps walk (median) | host CPU per walk (keyhole + QEMU) | open (snapshot) | guest halted | notes |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < nr; i++) {
		fflush(stdout);
		ladder_technique(spec, info.pid, &list[i], data);
	}
	if (data)
		fclose(data);
	free(list);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "memmap", "pvreadv",
						  "procmem", NULL };
	char cache[] = "/tmp/kh-bench-cache.XXXXXX";
	int repeat, i;

	if (argc == 4 && !strcmp(argv[1], "--ladder"))
		return ladder(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "--views") && atoi(argv[3]) >= 3)
		return views_table(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "--consistency")) {
		/* kh-bench --consistency VM CRAWLS DATAFILE */
		consistency_rows(argv[2], atoi(argv[3]), argv[4]);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: kh-bench VM REPEAT | --consistency VM CRAWLS DATAFILE | --ladder VM DATAFILE | --views VM REPEAT\n");
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
