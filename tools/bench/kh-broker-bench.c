// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh-broker-bench: keyholed's costs, as Markdown table rows, each taken in
 * one run so that its ratios hold on a noisy machine.
 *
 * kh-broker-bench overhead SOCK VM N
 *	A one-shot query ("mem", then "ps") N times through keyholed on one
 *	connection, against the same query N times in this process with
 *	kh_query() on an attached VM: medians, and the daemon's overhead.
 *
 * kh-broker-bench scale SOCK DAEMON_PID PATTERN HZ SECONDS
 *	Watches every VM whose name matches PATTERN at HZ (summary records)
 *	for SECONDS and reports
 *	the VMs (matched when it subscribed, and those that streamed in
 *	the SECONDS), the crawls per second that came, per worker core, their
 *	lateness (p50, p99), and the daemon's CPU time per crawl (from
 *	/proc/DAEMON_PID/stat).
 *
 * kh-broker-bench inproc PATTERN SECONDS THREADS HZ[,HZ...]
 *	The yardstick for scale's CPU per crawl: this process attaches to
 *	every VM whose name matches PATTERN, as keyholed does, and crawls
 *	them round robin for SECONDS with kh_crawl(), no JSON, no socket,
 *	on THREADS threads pinned one per core as keyholed's workers are,
 *	each over its share of the VMs: flat out (HZ 0), or each VM HZ
 *	times a second, scheduled and sleeping as a worker does; one row
 *	per HZ, attached once. A row: the VMs, threads, crawls per second,
 *	the share of crawls that came after a sleep, and CPU time per crawl. Many VMs
 *	in turn miss the caches as keyholed's crawls do, which one VM
 *	crawled again and again would not; crawls with sleeps between
 *	them find colder caches still.
 *
 * kh-broker-bench soak SOCK DAEMON_PID PATTERN HZ SECONDS INTERVAL
 *	The same watch for SECONDS, one row every INTERVAL seconds: the
 *	daemon's resident memory and open fds (/proc/DAEMON_PID), the
 *	crawls per second and crawl errors in that interval, and its
 *	lateness p99; then a line on how memory and fds moved.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libkeyhole.h"
#include "proto.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(int)(q * (n - 1) + 0.5)];
}

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "kh-broker-bench: %s: %s\n", what, why);
	exit(1);
}

/* One request and its reply, skipping events. */
static json_t *call(struct kh_proto_conn *conn, const char *cmd,
		    json_t *args, json_int_t id)
{
	char why[512];
	json_t *msg;

	if (kh_proto_send(conn, cmd, args, id, why, sizeof(why)))
		fail(cmd, why);
	for (;;) {
		if (kh_proto_receive(conn, &msg, why, sizeof(why)))
			fail(cmd, why);
		if (json_integer_value(json_object_get(msg, "id")) == id)
			break;
		json_decref(msg);
	}
	if (!json_object_get(msg, "return"))
		fail(cmd, json_dumps(msg, JSON_COMPACT));
	return msg;
}

/* The query's arguments plus the VM, as keyholed takes them. */
static json_t *request_args(json_t *args, const char *vm_spec)
{
	json_t *copy = json_copy(args);

	json_object_set_new(copy, "vm", json_string(vm_spec));
	return copy;
}

static void overhead(const char *sock, const char *vm_spec, int n)
{
	static const char *const queries[] = { "mem", "ps", "crawl" };
	/* crawl: the summary record, as a subscription's summary stream. */
	struct kh_ctx_config ccfg = { 0 };
	struct kh_vm_config vcfg = { 0 };
	struct kh_query_result res;
	struct kh_proto_conn conn;
	struct kh_err err = { 0 };
	double *direct = calloc(n, sizeof(double));
	double *brokered = calloc(n, sizeof(double));
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	json_t *args;
	char why[512];
	unsigned int q;
	int i;

	if (!direct || !brokered)
		fail("overhead", "out of memory");
	if (kh_ctx_new(&ccfg, &ctx, &err) ||
	    kh_vm_open(ctx, vm_spec, &vcfg, &vm, &err))
		fail("attach", err.msg);
	if (kh_proto_connect(sock, &conn, why, sizeof(why)))
		fail("connect", why);
	printf("| query | in-process median | through keyholed median | overhead |\n");
	printf("|---|---|---|---|\n");
	for (q = 0; q < 3; q++) {
		/* The daemon attaches on first use: not part of the numbers. */
		args = q == 2 ? json_pack("{s:b}", "summary", 1) : json_object();
		json_decref(call(&conn, queries[q], request_args(args, vm_spec),
				 0));
		for (i = 0; i < n; i++) {
			double t0 = now_s();

			if (kh_query(vm, queries[q], args, &res, &err))
				fail(queries[q], err.msg);
			kh_query_result_release(&res);
			direct[i] = (now_s() - t0) * 1e3;
			t0 = now_s();
			json_decref(call(&conn, queries[q],
					 request_args(args, vm_spec), i + 1));
			brokered[i] = (now_s() - t0) * 1e3;
		}
		printf("| %s | %.3f ms | %.3f ms | %+.0f%% |\n", queries[q],
		       quantile(direct, n, 0.5), quantile(brokered, n, 0.5),
		       (quantile(brokered, n, 0.5) / quantile(direct, n, 0.5) -
			1) * 100);
		json_decref(args);
	}
	kh_proto_close(&conn);
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	free(direct);
	free(brokered);
}

/* utime + stime of a process, in seconds. */
static double cpu_seconds(int pid)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * The distinct VMs that streamed: pids in an open-addressed table, which
 * holds far more than this machine runs QEMUs.
 */
#define PIDSET_SLOTS 16384

struct pidset {
	int pid[PIDSET_SLOTS];
	size_t nr;
};

/* Adds pid; whether it was there already. */
static bool pidset_add(struct pidset *set, int pid)
{
	size_t i = (unsigned int)pid * 2654435761u % PIDSET_SLOTS;

	if (pid <= 0 || set->nr >= PIDSET_SLOTS / 2)
		return false;
	while (set->pid[i] && set->pid[i] != pid)
		i = (i + 1) % PIDSET_SLOTS;
	if (set->pid[i])
		return true;
	set->pid[i] = pid;
	set->nr++;
	return false;
}

struct lateness {
	double *v;
	size_t nr, cap;
};

/* The record's lateness_ms, added to l. */
static void add_lateness(struct lateness *l, json_t *data)
{
	if (l->nr == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1 << 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			fail("scale", "out of memory");
	}
	l->v[l->nr++] = json_number_value(json_object_get(data, "lateness_ms"));
}

static void scale(const char *sock, int daemon_pid, const char *pattern,
		  double hz, double secs)
{
	struct kh_proto_conn conn;
	struct lateness late = { 0 }, warm_late = { 0 };
	struct pidset *streamed = calloc(1, sizeof(*streamed)), *warm;
	double start, end, cpu0, cpu1, warm_start, warm_secs;
	json_t *reply, *msg, *data;
	unsigned long errors = 0;
	size_t vms;
	char why[512];

	if (!streamed)
		fail("scale", "out of memory");
	if (kh_proto_connect(sock, &conn, why, sizeof(why)))
		fail("connect", why);
	reply = call(&conn, "watch", json_pack("{s:s, s:f, s:s}", "match",
					       pattern, "hz", hz, "records",
					       "summary"), 1);
	vms = json_array_size(json_object_get(json_object_get(reply,
				"return"), "vms"));
	json_decref(reply);
	/*
	 * A VM's first crawl attaches it, which keeps its worker for tens of
	 * ms: measure once every VM has streamed a record (and a second
	 * more), not after a guess at how long attaching them all takes.
	 */
	end = now_s() + 600;
	warm = calloc(1, sizeof(*warm));
	if (!warm)
		fail("scale", "out of memory");
	/*
	 * Meanwhile, the crawls after each VM's first (which attaches it):
	 * how late the VMs already attached ran while the others attached.
	 */
	warm_start = now_s();
	while (warm->nr < vms && now_s() < end &&
	       !kh_proto_receive(&conn, &msg, why, sizeof(why))) {
		data = json_object_get(msg, "data");
		if (!strcmp(json_string_value(json_object_get(msg, "event")) ?: "",
			    "record")) {
			if (pidset_add(warm, (int)json_integer_value(
					json_object_get(json_object_get(data,
							"vm"), "pid"))))
				add_lateness(&warm_late, data);
		}
		json_decref(msg);
	}
	warm_secs = now_s() - warm_start;
	if (warm->nr < vms)
		fprintf(stderr, "kh-broker-bench: %zu of %zu VMs streamed in 600 s of warm-up\n",
			warm->nr, vms);
	free(warm);
	end = now_s() + 1;
	while (now_s() < end &&
	       !kh_proto_receive(&conn, &msg, why, sizeof(why)))
		json_decref(msg);
	cpu0 = cpu_seconds(daemon_pid);
	start = now_s();
	end = start + secs;
	while (now_s() < end) {
		if (kh_proto_receive(&conn, &msg, why, sizeof(why)))
			fail("stream", why);
		data = json_object_get(msg, "data");
		if (!strcmp(json_string_value(json_object_get(msg, "event")) ?: "",
			    "record")) {
			add_lateness(&late, data);
			pidset_add(streamed, (int)json_integer_value(
				json_object_get(json_object_get(data, "vm"),
						"pid")));
		} else if (!strcmp(json_string_value(json_object_get(msg,
				"event")) ?: "", "crawl-error")) {
			errors++;
		}
		json_decref(msg);
	}
	cpu1 = cpu_seconds(daemon_pid);
	if (warm_late.nr)
		snprintf(why, sizeof(why), "%.1f ms",
			 quantile(warm_late.v, warm_late.nr, 0.99));
	else
		snprintf(why, sizeof(why), "none");
	printf("| %zu | %zu | %g | %.0f | %.0f | %.1f ms | %.1f ms | %.3f ms | %lu | %.1f s | %s |\n",
	       vms, streamed->nr, hz, late.nr / secs,
	       late.nr / secs / sysconf(_SC_NPROCESSORS_ONLN),
	       quantile(late.v, late.nr, 0.5), quantile(late.v, late.nr, 0.99),
	       late.nr ? (cpu1 - cpu0) * 1e3 / late.nr : 0, errors, warm_secs,
	       why);
	kh_proto_close(&conn);
	free(late.v);
	free(warm_late.v);
	free(streamed);
}

/* The daemon's VmRSS in KiB and its open fds. */
static void daemon_usage(int pid, long *rss_kib, int *fds)
{
	char path[64], line[256];
	struct dirent *de;
	DIR *dir;
	FILE *f;

	*rss_kib = -1;
	*fds = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", rss_kib) == 1)
			break;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir)))
		*fds += de->d_name[0] != '.';
	if (dir)
		closedir(dir);
}

static void soak(const char *sock, int daemon_pid, const char *pattern,
		 double hz, double secs, double interval)
{
	long rss, rss_first = -1, rss_max = 0;
	int fds, fds_first = -1, fds_max = 0;
	static double late[1 << 16];
	struct kh_proto_conn conn;
	double start, next, end;
	unsigned long errors = 0, total = 0;
	size_t vms, nr = 0;
	json_t *reply, *msg;
	const char *event;
	char why[512];

	if (kh_proto_connect(sock, &conn, why, sizeof(why)))
		fail("connect", why);
	reply = call(&conn, "watch", json_pack("{s:s, s:f, s:s}", "match",
					       pattern, "hz", hz, "records",
					       "summary"), 1);
	vms = json_array_size(json_object_get(json_object_get(reply,
				"return"), "vms"));
	json_decref(reply);
	printf("| minute | VMs | RSS | fds | crawls/s | errors | lateness p99 |\n");
	printf("|---|---|---|---|---|---|---|\n");
	start = now_s();
	next = start + interval;
	end = start + secs;
	while (now_s() < end) {
		if (kh_proto_receive(&conn, &msg, why, sizeof(why)))
			fail("stream", why);
		event = json_string_value(json_object_get(msg, "event")) ?: "";
		if (!strcmp(event, "record") && nr < sizeof(late) / sizeof(*late))
			late[nr++] = json_number_value(json_object_get(
				json_object_get(msg, "data"), "lateness_ms"));
		else if (!strcmp(event, "crawl-error"))
			errors++;
		json_decref(msg);
		if (now_s() < next)
			continue;
		daemon_usage(daemon_pid, &rss, &fds);
		if (rss_first < 0) {
			rss_first = rss;
			fds_first = fds;
		}
		rss_max = rss > rss_max ? rss : rss_max;
		fds_max = fds > fds_max ? fds : fds_max;
		printf("| %.1f | %zu | %.1f MiB | %d | %.0f | %lu | %.1f ms |\n",
		       (now_s() - start) / 60, vms, rss / 1024.0, fds,
		       nr / interval, errors, quantile(late, nr, 0.99));
		fflush(stdout);
		total += nr;
		nr = 0;
		errors = 0;
		next += interval;
	}
	daemon_usage(daemon_pid, &rss, &fds);
	printf("\nOver %.0f minutes and %lu crawls, keyholed's resident memory went from %.1f MiB (the first sample) to %.1f MiB (the last; at most %.1f MiB) and its open fds from %d to %d (at most %d).\n",
	       secs / 60, total, rss_first / 1024.0, rss / 1024.0,
	       rss_max / 1024.0, fds_first, fds, fds_max);
	kh_proto_close(&conn);
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One in-process crawler: its share of the VMs, on a core of its own. */
struct crawler {
	pthread_t thread;
	unsigned int index;
	struct kh_vm **vms;
	const pid_t *pids;
	unsigned int nr_vms;
	double secs, hz;
	unsigned long crawls, errors, slept;
	double cpu_s;
};

struct due_order {
	uint64_t phase;
	unsigned int vm;
};

static int by_phase(const void *a, const void *b)
{
	const struct due_order *x = a, *y = b;

	return (x->phase > y->phase) - (x->phase < y->phase);
}

static void sleep_until_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull,
			       .tv_nsec = ns % 1000000000ull };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/*
 * Round robin over its VMs flat out, or each VM at hz as a worker of
 * keyholed's runs its feeds (workers.c): each VM at a phase of its own
 * within the period, from its pid by the same hash; a crawl runs when it
 * is due, or up to a hundredth of the period (at most 2 ms) early when
 * the thread is awake anyway; else the thread sleeps until it is due.
 */
static void *crawler_main(void *arg)
{
	struct crawler *c = arg;
	long nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t period = c->hz > 0 ? 1e9 / c->hz : 0, start, early;
	struct due_order *order = NULL;
	struct kh_err err = { 0 };
	struct kh_crawl *crawl;
	double cpu0, end;
	cpu_set_t cpus;
	unsigned long k;
	unsigned int i;

	CPU_ZERO(&cpus);
	CPU_SET(c->index % (nr_cpus > 0 ? nr_cpus : 1), &cpus);
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	early = period / 100 < 2000000 ? period / 100 : 2000000;
	if (period) {
		order = calloc(c->nr_vms, sizeof(*order));
		if (!order)
			fail("inproc", "out of memory");
		for (i = 0; i < c->nr_vms; i++) {
			order[i].phase = (uint64_t)c->pids[i] *
					 0x9E3779B97F4A7C15ull % period;
			order[i].vm = i;
		}
		qsort(order, c->nr_vms, sizeof(*order), by_phase);
	}
	cpu0 = thread_cpu_s();
	start = now_s() * 1e9;
	end = now_s() + c->secs;
	for (k = 0; now_s() < end; k++) {
		i = k % c->nr_vms;
		if (period) {
			uint64_t due = start + k / c->nr_vms * period +
				       order[i].phase;

			if (due > now_s() * 1e9 + early) {
				sleep_until_ns(due);
				c->slept++;
			}
			i = order[i].vm;
		}
		if (kh_crawl(c->vms[i], 0, &crawl, &err)) {
			c->errors++;
			continue;
		}
		kh_crawl_free(crawl);
		c->crawls++;
	}
	c->cpu_s = thread_cpu_s() - cpu0;
	free(order);
	return NULL;
}

/* Thread t takes a contiguous share, as a worker takes its VMs. */
static void inproc_run(struct kh_vm **vms, const pid_t *pids,
		       unsigned int nr_vms, struct crawler *crawlers,
		       unsigned int threads, double secs, double hz)
{
	unsigned long crawls = 0, errors = 0, slept = 0;
	double cpu = 0, wall0;
	unsigned int i;

	memset(crawlers, 0, threads * sizeof(*crawlers));
	for (i = 0; i < threads; i++) {
		crawlers[i].index = i;
		crawlers[i].vms = vms + (size_t)nr_vms * i / threads;
		crawlers[i].pids = pids + (size_t)nr_vms * i / threads;
		crawlers[i].nr_vms = (size_t)nr_vms * (i + 1) / threads -
				     (size_t)nr_vms * i / threads;
		crawlers[i].secs = secs;
		crawlers[i].hz = hz;
	}
	wall0 = now_s();
	for (i = 0; i < threads; i++)
		if (pthread_create(&crawlers[i].thread, NULL, crawler_main,
				   &crawlers[i]))
			fail("inproc", "cannot start a thread");
	for (i = 0; i < threads; i++) {
		pthread_join(crawlers[i].thread, NULL);
		crawls += crawlers[i].crawls;
		errors += crawlers[i].errors;
		slept += crawlers[i].slept;
		cpu += crawlers[i].cpu_s;
	}
	char how[32];

	snprintf(how, sizeof(how), hz > 0 ? "each VM at %g Hz" : "flat out",
		 hz);
	printf("| %u | %u | %s | %.0f | %.0f%% | %.3f ms | %lu |\n", nr_vms,
	       threads, how,
	       crawls / (now_s() - wall0), crawls ? slept * 100.0 / crawls : 0,
	       crawls ? cpu * 1e3 / crawls : 0, errors);
}

static void inproc(const char *pattern, double secs, unsigned int threads,
		   const char *rates)
{
	char *list = strdup(rates), *rate, *save;
	struct kh_ctx_config ccfg = { 0 };
	struct kh_err err = { 0 };
	struct kh_qemu_proc *procs;
	unsigned int nr, i, nr_vms = 0;
	struct crawler *crawlers;
	struct kh_vm **vms;
	struct kh_crawl *crawl;
	struct kh_ctx *ctx;
	char spec[16];
	pid_t *pids;

	if (kh_ctx_new(&ccfg, &ctx, &err) ||
	    kh_qemu_discover(&procs, &nr, &err))
		fail("inproc", err.msg);
	vms = calloc(nr ? nr : 1, sizeof(*vms));
	pids = calloc(nr ? nr : 1, sizeof(*pids));
	crawlers = calloc(threads, sizeof(*crawlers));
	if (!vms || !pids || !crawlers)
		fail("inproc", "out of memory");
	for (i = 0; i < nr; i++) {
		if (fnmatch(pattern, procs[i].name, 0))
			continue;
		snprintf(spec, sizeof(spec), "%d", (int)procs[i].pid);
		if (kh_vm_open(ctx, spec, NULL, &vms[nr_vms], &err))
			fail(spec, err.msg);
		pids[nr_vms++] = procs[i].pid;
	}
	if (!nr_vms)
		fail("inproc", "no VM matches");
	if (threads > nr_vms)
		threads = nr_vms;
	/* One round first: every VM's first crawl warms what it can. */
	for (i = 0; i < nr_vms; i++)
		if (!kh_crawl(vms[i], 0, &crawl, &err))
			kh_crawl_free(crawl);
	if (!list)
		fail("inproc", "out of memory");
	for (rate = strtok_r(list, ",", &save); rate;
	     rate = strtok_r(NULL, ",", &save))
		inproc_run(vms, pids, nr_vms, crawlers, threads, secs,
			   atof(rate));
	for (i = 0; i < nr_vms; i++)
		kh_vm_close(vms[i]);
	free(list);
	free(crawlers);
	free(pids);
	free(vms);
	free(procs);
	kh_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "overhead")) {
		overhead(argv[2], argv[3], atoi(argv[4]));
		return 0;
	}
	if (argc == 7 && !strcmp(argv[1], "scale")) {
		scale(argv[2], atoi(argv[3]), argv[4], atof(argv[5]),
		      atof(argv[6]));
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "inproc")) {
		inproc(argv[2], atof(argv[3]), atoi(argv[4]) > 0 ?
		       atoi(argv[4]) : 1, argv[5]);
		return 0;
	}
	if (argc == 8 && !strcmp(argv[1], "soak")) {
		soak(argv[2], atoi(argv[3]), argv[4], atof(argv[5]),
		     atof(argv[6]), atof(argv[7]));
		return 0;
	}
	fprintf(stderr, "usage: kh-broker-bench overhead SOCK VM N\n"
			"       kh-broker-bench scale SOCK DAEMON_PID PATTERN HZ SECONDS\n"
			"       kh-broker-bench inproc PATTERN SECONDS THREADS HZ[,HZ...]\n"
			"       kh-broker-bench soak SOCK DAEMON_PID PATTERN HZ SECONDS INTERVAL\n");
	return 2;
}
