// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: with keyhole.ko loaded, the engine's three module techniques
 * work on a real Linux guest (the project's test guest, started by
 * tests/guest/vm.sh under nested KVM, anonymous RAM):
 * - `keyhole techniques` lists kmap (class IV, live, mapped), kread (V,
 *   live) and kpause (VI, halting) as available, and the default
 *   technique is kmap;
 * - `keyhole ps` through kmap, kread and kpause gives every long-lived
 *   process of the guest's own /proc (its truth daemon) with the same
 *   ppid, uid and comm, as procmem does;
 * - after kpause the guest runs: QEMU says "running" and the guest
 *   answers;
 * - on a guest stopped with QMP "stop", GPA ranges spread over all of RAM
 *   (pages, unaligned 64-byte reads, one 256 KiB read) read through kmap,
 *   kread and kpause (libkeyhole, loaded with dlopen: kmod tests do not
 *   link it) are byte-identical to procmem's; kpause reports the time it
 *   held the guest, and leaves it stopped as it found it;
 * - a guest held with kh_vm_pause() through kmap, whose pause keyhole.ko's
 *   watchdog ended meanwhile (nothing renewed it): the next read says the
 *   guest ran (ETIMEDOUT) instead of returning bytes as if held, and so
 *   does the resume, after which the guest runs;
 * - QEMU killed while kmap, kread and kpause are attached: a read through
 *   each then fails with ESRCH (kmap's mirror raises SIGBUS, which the
 *   engine catches) and the program lives on.
 */
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kt_guest.h"
#include "libkeyhole.h"

#define NR_PAGES	64
#define NR_SMALL	8
#define BIG_LEN		(256u << 10)
#define NR_READS	(NR_PAGES + NR_SMALL + 1)
#define BUF_BYTES	((NR_PAGES + NR_SMALL) * 4096ull + BIG_LEN)

static const char *const module_techniques[] = { "kmap", "kread",
						  "kpause" };

static struct kt_guest kg;
static struct guest *const g = &kg.g;
static int we_stopped;

/* libkeyhole, from the build folder. */
static struct {
	__typeof__(kh_ctx_new) *ctx_new;
	__typeof__(kh_ctx_free) *ctx_free;
	__typeof__(kh_vm_open) *vm_open;
	__typeof__(kh_vm_close) *vm_close;
	__typeof__(kh_vm_get_info) *vm_get_info;
	__typeof__(kh_read_phys) *read_phys;
	__typeof__(kh_vm_get_access_cost) *get_access_cost;
	__typeof__(kh_vm_pause) *vm_pause;
	__typeof__(kh_vm_resume) *vm_resume;
} lib;

static void load_lib(const char *build)
{
	char path[4200];
	void *h;

	snprintf(path, sizeof(path), "%s/lib/libkeyhole.so.0", build);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CHECK(h, "dlopen %s: %s", path, dlerror());
#define SYM(field, name)						\
	do {								\
		lib.field = (__typeof__(lib.field))dlsym(h, name);	\
		CHECK(lib.field, "%s has no %s", path, name);		\
	} while (0)
	SYM(ctx_new, "kh_ctx_new");
	SYM(ctx_free, "kh_ctx_free");
	SYM(vm_open, "kh_vm_open");
	SYM(vm_close, "kh_vm_close");
	SYM(vm_get_info, "kh_vm_get_info");
	SYM(read_phys, "kh_read_phys");
	SYM(get_access_cost, "kh_vm_get_access_cost");
	SYM(vm_pause, "kh_vm_pause");
	SYM(vm_resume, "kh_vm_resume");
#undef SYM
}

static json_t *qmp(const char *cmd)
{
	json_error_t jerr;
	json_t *doc;
	int status;
	char *out = run_capture(&status, "%s -t 10 --qmp '%s' '{\"execute\":\"%s\"}' 2>&1",
				env_or("TRUTH", "truth"), g->qmp_sock, cmd);

	CHECK(status == 0, "QMP %s failed: %s", cmd, out);
	doc = json_loads(out, 0, &jerr);
	CHECK(doc && json_object_get(doc, "return"), "QMP %s: %s", cmd, out);
	free(out);
	return doc;
}

static int guest_running(void)
{
	json_t *doc = qmp("query-status");
	int running = json_is_true(json_object_get(
		json_object_get(doc, "return"), "running"));

	json_decref(doc);
	return running;
}

/*
 * keyhole.ko ends a pause after pause_timeout_ms (2 s by default), and a
 * busy host can hold this emulated L1 back for longer than that during
 * one `ps`: the engine then rightly reports that the guest ran. What is
 * tested here is the result, so the cap is raised for the test and put
 * back afterwards (test_pause_watchdog tests the watchdog itself).
 */
#define PAUSE_PARAM "/sys/module/keyhole/parameters/pause_timeout_ms"
static char saved_pause_timeout[32];

static int write_param(const char *value)
{
	FILE *f = fopen(PAUSE_PARAM, "w");

	if (!f)
		return -1;
	return (fputs(value, f) < 0) | fclose(f) ? -1 : 0;
}

static void raise_pause_timeout(void)
{
	FILE *f = fopen(PAUSE_PARAM, "r");

	CHECK(f && fgets(saved_pause_timeout, sizeof(saved_pause_timeout), f),
	      "read %s", PAUSE_PARAM);
	fclose(f);
	CHECK(!write_param("60000"), "write 60000 to %s", PAUSE_PARAM);
}

static void cleanup(void)
{
	/* at exit: say it, but never exit again from here */
	if (saved_pause_timeout[0] && write_param(saved_pause_timeout))
		fprintf(stderr, "could not put %s back to %s", PAUSE_PARAM,
			saved_pause_timeout);
	saved_pause_timeout[0] = 0;

	if (we_stopped)
		json_decref(qmp("cont"));
	we_stopped = 0;
	kt_guest_stop(&kg);
}

static json_t *technique(json_t *list, const char *name)
{
	size_t i;
	json_t *t;

	json_array_foreach(list, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			return t;
	CHECK(0, "technique %s not listed", name);
	return NULL;
}

static void check_listing(void)
{
	static const struct {
		const char *name, *klass, *prop;
	} want[] = {
		{ "kmap", "IV", "live" },
		{ "kread", "V", "live" },
		{ "kpause", "VI", "halting" },
	};
	json_t *doc, *list, *t, *vm;
	unsigned int i;
	int status;

	doc = keyhole_json(&status, "techniques %d", g->pid);
	CHECK(status == 0, "techniques: exit %d", status);
	list = doc_list(doc, "techniques");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		t = technique(list, want[i].name);
		CHECK(json_is_true(json_object_get(t, "available")),
		      "%s is unavailable with keyhole.ko loaded: %s",
		      want[i].name,
		      json_string_value(json_object_get(t, "reason")));
		CHECK(!strcmp(json_string_value(json_object_get(t, "class")),
			      want[i].klass),
		      "%s is class %s, not %s", want[i].name,
		      json_string_value(json_object_get(t, "class")),
		      want[i].klass);
		CHECK(json_is_true(json_object_get(t, want[i].prop)),
		      "%s is not %s", want[i].name, want[i].prop);
	}
	CHECK(json_is_true(json_object_get(technique(list, "kmap"), "mapped")),
	      "kmap is not mapped");
	json_decref(doc);

	vm = keyhole_json(&status, "vm %d", g->pid);
	CHECK(status == 0 && !strcmp(json_string_value(json_object_get(vm,
			"technique")) ?: "", "kmap"),
	      "the default technique is %s, not kmap",
	      json_string_value(json_object_get(vm, "technique")));
	json_decref(vm);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const struct truth_task *find_truth(const struct truth_task *tasks,
					   int nr, int pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

static json_t *find_json(json_t *array, int pid)
{
	size_t i;
	json_t *task;

	json_array_foreach(array, i, task)
		if (json_integer_value(json_object_get(task, "pid")) == pid)
			return task;
	return NULL;
}

/* task->comm holds 15 characters; busy kworkers show "-WORKQUEUE" too. */
static int same_comm(const char *keyhole, const char *guest)
{
	size_t n = strlen(keyhole);

	return !strncmp(keyhole, guest, n) &&
	       (!guest[n] || n == 15 || guest[n] == '-');
}

/*
 * When a keyhole run fails, what the L1 knows that the error may not:
 * whether the L2's QEMU still runs, and what its kernel said last (an
 * OOM kill, a segfault).
 */
static void diagnose(int status)
{
	char *out;
	int st;

	if (!status)
		return;
	fprintf(stderr, "QEMU pid %d %s\n", (int)g->pid,
		kill(g->pid, 0) ? "is gone" : "still runs");
	out = run_capture(&st, "dmesg | tail -n 12 2>&1");
	fprintf(stderr, "the L1's last kernel messages:\n%s", out ?: "");
	free(out);
}

/*
 * Every process the guest shows unchanged before and after the walks
 * (the guest forks churn all the time) is in each view (the list of a
 * ps document), the same.
 */
static void check_ps(void)
{
	static const char *const names[] = { "procmem", "kmap", "kread",
					     "kpause" };
	json_t *docs[sizeof(names) / sizeof(names[0])];
	json_t *views[sizeof(names) / sizeof(names[0])];
	struct truth_task *before, *after;
	int nr_before, nr_after, i, status, matched = 0;
	unsigned int v;

	nr_before = guest_truth_ps(g, &before);
	for (v = 0; v < sizeof(names) / sizeof(names[0]); v++) {
		double t0 = now_s();

		docs[v] = keyhole_json(&status, "--technique %s ps %d",
				       names[v], g->pid);
		diagnose(status);
		CHECK(status == 0, "ps through %s: exit %d: %s", names[v],
		      status, json_dumps(docs[v], 0));
		views[v] = doc_list(docs[v], "ps");
		fprintf(stderr, "keyhole ps through %s: %zu processes in %.2f s\n",
			names[v], json_array_size(views[v]), now_s() - t0);
	}
	nr_after = guest_truth_ps(g, &after);
	for (i = 0; i < nr_before; i++) {
		const struct truth_task *t = &before[i];
		const struct truth_task *a = find_truth(after, nr_after, t->pid);

		if (t->pid != t->tgid || !a || a->ppid != t->ppid ||
		    a->uid != t->uid || strcmp(a->comm, t->comm))
			continue;
		matched++;
		for (v = 0; v < sizeof(names) / sizeof(names[0]); v++) {
			json_t *k = find_json(views[v], t->pid);

			CHECK(k, "ps through %s: process %d (%s) missing",
			      names[v], t->pid, t->comm);
			CHECK(json_integer_value(json_object_get(k, "ppid")) ==
			      t->ppid &&
			      json_integer_value(json_object_get(k, "uid")) ==
			      t->uid &&
			      same_comm(json_string_value(json_object_get(k,
						"comm")), t->comm),
			      "ps through %s: process %d is %s, guest says ppid %d uid %u %s",
			      names[v], t->pid, json_dumps(k, 0), t->ppid,
			      t->uid, t->comm);
		}
	}
	CHECK(matched > 20, "only %d long-lived processes compared", matched);
	fprintf(stderr, "%d long-lived processes the same in every view\n",
		matched);
	for (v = 0; v < sizeof(names) / sizeof(names[0]); v++)
		json_decref(docs[v]);
	free(before);
	free(after);
}

/* After kpause the guest runs on, and its own daemon answers. */
static void check_still_running(void)
{
	char *pong;

	CHECK(guest_running(), "the guest is not running after kpause");
	pong = guest_truth(g, "ping");
	CHECK(!strncmp(pong, "pong", 4), "the guest answers '%s'", pong);
	free(pong);
}

/* GPAs spread over every RAM range in proportion to its size. */
static void sample(const struct kh_vm_info *info, struct kh_read *reads,
		   uint8_t *bufs)
{
	uint64_t total = 0, step, at;
	unsigned int i, r;

	for (r = 0; r < info->nr_ranges; r++)
		total += info->ranges[r].size;
	step = total / NR_PAGES;
	for (i = 0; i < NR_READS; i++) {
		if (i < NR_PAGES) {
			at = (i * step) & ~4095ull;
			reads[i].len = 4096;
		} else if (i < NR_PAGES + NR_SMALL) {
			at = ((i - NR_PAGES) * step * 8 + 4000) % total;
			reads[i].len = 64;
		} else {
			at = 1u << 20;	/* the guest kernel's first pages */
			reads[i].len = BIG_LEN;
		}
		for (r = 0; r < info->nr_ranges; r++) {
			if (at < info->ranges[r].size)
				break;
			at -= info->ranges[r].size;
		}
		CHECK(r < info->nr_ranges, "sample outside RAM");
		if (at + reads[i].len > info->ranges[r].size)
			at = info->ranges[r].size - reads[i].len;
		reads[i].addr = info->ranges[r].gpa + at;
		reads[i].buf = bufs + i * 4096ull;
	}
}

static void read_all(struct kh_ctx *ctx, const char *name,
		     struct kh_read *reads, uint8_t *bufs,
		     const struct kh_read *ref, uint64_t *halted_ns)
{
	struct kh_vm_config cfg = { .technique = name };
	struct kh_access_cost cost;
	struct kh_err err = { 0 };
	struct kh_vm_info info;
	struct kh_vm *vm = NULL;
	char spec[32];
	unsigned int i;

	snprintf(spec, sizeof(spec), "%d", g->pid);
	CHECK(!lib.vm_open(ctx, spec, &cfg, &vm, &err), "open with %s: %s",
	      name, err.msg);
	lib.vm_get_info(vm, &info);
	CHECK(!strcmp(info.technique, name), "opened %s, asked for %s",
	      info.technique, name);
	if (!ref) {
		sample(&info, reads, bufs);
	} else {
		memset(bufs, 0xa5, BUF_BYTES);
		for (i = 0; i < NR_READS; i++)
			reads[i] = (struct kh_read){ .addr = ref[i].addr,
						     .len = ref[i].len,
						     .buf = bufs + i * 4096ull };
	}
	CHECK(lib.read_phys(vm, reads, NR_READS, &err) == 0,
	      "reads through %s failed: %s", name, err.msg);
	lib.get_access_cost(vm, &cost);
	*halted_ns = cost.halted_ns;
	lib.vm_close(vm);
}

static void check_bytes(const char *build)
{
	static struct kh_read ref[NR_READS], got[NR_READS];
	struct kh_err err = { 0 };
	uint8_t *ref_buf, *got_buf;
	uint64_t halted_ns;
	struct kh_ctx *ctx;
	unsigned int t, i;

	load_lib(build);
	CHECK(!lib.ctx_new(NULL, &ctx, &err), "%s", err.msg);
	/* 4 KiB apart except the last, which is BIG_LEN long. */
	ref_buf = calloc(1, BUF_BYTES);
	got_buf = calloc(1, BUF_BYTES);
	CHECK(ref_buf && got_buf, "out of memory");

	CHECK(guest_running(), "the guest is not running before the test");
	json_decref(qmp("stop"));
	we_stopped = 1;
	read_all(ctx, "procmem", ref, ref_buf, NULL, &halted_ns);
	for (t = 0; t < sizeof(module_techniques) /
			sizeof(module_techniques[0]); t++) {
		const char *name = module_techniques[t];

		read_all(ctx, name, got, got_buf, ref, &halted_ns);
		for (i = 0; i < NR_READS; i++)
			CHECK(!memcmp(ref[i].buf, got[i].buf, ref[i].len),
			      "%s: %u bytes at GPA 0x%llx differ from procmem's",
			      name, ref[i].len,
			      (unsigned long long)ref[i].addr);
		fprintf(stderr, "%s: %u ranges equal to procmem's, guest held %.3f ms\n",
			name, NR_READS, halted_ns / 1e6);
		if (!strcmp(name, "kpause"))
			CHECK(halted_ns > 0,
			      "kpause reports no time holding the guest");
		else
			CHECK(!halted_ns, "live %s reports %llu ns halted",
			      name, (unsigned long long)halted_ns);
		CHECK(!guest_running(),
		      "the guest stopped by QMP runs again after %s", name);
	}
	json_decref(qmp("cont"));
	we_stopped = 0;
	lib.ctx_free(ctx);
	free(ref_buf);
	free(got_buf);
}

/*
 * A hold the watchdog ended: the cap is lowered to 1 s before the
 * pause (it applies to a pause when made or renewed), then nothing
 * renews it for 4 s.
 */
static void check_lapsed_hold(void)
{
	struct kh_vm_config cfg = { .technique = "kmap" };
	struct kh_err err = { 0 };
	struct kh_read read;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	uint8_t page[4096];
	char spec[32];
	int ret;

	snprintf(spec, sizeof(spec), "%d", g->pid);
	CHECK(!lib.ctx_new(NULL, &ctx, &err), "%s", err.msg);
	CHECK(!lib.vm_open(ctx, spec, &cfg, &vm, &err), "open with kmap: %s",
	      err.msg);
	CHECK(!write_param("1000"), "write 1000 to %s", PAUSE_PARAM);
	CHECK(!lib.vm_pause(vm, &err), "kh_vm_pause through kmap: %s",
	      err.msg);
	usleep(4000000);
	read = (struct kh_read){ .addr = 0x100000, .buf = page,
				 .len = sizeof(page) };
	ret = lib.read_phys(vm, &read, 1, &err);
	CHECK(ret == -ETIMEDOUT && strstr(err.msg, "pause_timeout_ms"),
	      "a read 4 s into a hold the watchdog ended after 1 s: %d (%s)",
	      ret, ret ? err.msg : "bytes returned as if the guest were held");
	ret = lib.vm_resume(vm, &err);
	CHECK(ret == -ETIMEDOUT, "resume after the watchdog: %d (%s)", ret,
	      err.msg);
	CHECK(!write_param("60000"), "write 60000 to %s", PAUSE_PARAM);
	lib.vm_close(vm);
	lib.ctx_free(ctx);
	CHECK(guest_running(), "the guest does not run after the lapsed hold");
}

/* QEMU dies under attached module techniques: errors, not a crash. */
static void check_exit(void)
{
	struct kh_vm *vms[sizeof(module_techniques) /
			  sizeof(module_techniques[0])];
	struct pollfd pfd = { .events = POLLIN };
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	uint8_t page[4096];
	unsigned int t;
	char spec[32];

	snprintf(spec, sizeof(spec), "%d", g->pid);
	CHECK(!lib.ctx_new(NULL, &ctx, &err), "%s", err.msg);
	for (t = 0; t < sizeof(vms) / sizeof(vms[0]); t++) {
		struct kh_vm_config cfg = { .technique = module_techniques[t] };
		struct kh_read r = { .addr = 1u << 20, .buf = page,
				     .len = sizeof(page) };

		CHECK(!lib.vm_open(ctx, spec, &cfg, &vms[t], &err),
		      "open with %s: %s", module_techniques[t], err.msg);
		CHECK(lib.read_phys(vms[t], &r, 1, &err) == 0,
		      "read through %s: %s", module_techniques[t], err.msg);
	}
	pfd.fd = syscall(SYS_pidfd_open, g->pid, 0);
	CHECK(pfd.fd >= 0, "pidfd_open %d", g->pid);
	CHECK(!kill(g->pid, SIGKILL), "kill QEMU %d", g->pid);
	CHECK(poll(&pfd, 1, 20000) == 1, "QEMU %d does not exit", g->pid);
	close(pfd.fd);
	for (t = 0; t < sizeof(vms) / sizeof(vms[0]); t++) {
		struct kh_read r = { .addr = 1u << 20, .buf = page,
				     .len = sizeof(page) };
		int ret = lib.read_phys(vms[t], &r, 1, &err);

		CHECK(ret == -ESRCH,
		      "%s after QEMU exited: %d (%s), expected ESRCH",
		      module_techniques[t], ret, err.msg);
		fprintf(stderr, "%s after QEMU was killed: %s\n",
			module_techniques[t], err.msg);
		lib.vm_close(vms[t]);
	}
	lib.ctx_free(ctx);
}

int main(int argc, char **argv)
{
	const char *build = getenv("KT_BUILD"), *repo = getenv("KT_REPO");
	char keyhole[4200], truth[4200];

	CHECK(build && repo, "KT_BUILD and KT_REPO must be set (tests/kmod/run)");
	CHECK(!access("/dev/keyhole", R_OK | W_OK), "no /dev/keyhole");
	snprintf(keyhole, sizeof(keyhole), "%s/bin/keyhole", build);
	snprintf(truth, sizeof(truth), "%s/guest/truth", build);
	/* tests/kmod/run builds them (kmod-test-infra): missing is a failure */
	CHECK(!access(keyhole, X_OK) && !access(truth, X_OK),
	      "%s or %s is not built (make kmod-test-infra)", keyhole, truth);
	setenv("KEYHOLE", keyhole, 1);
	setenv("TRUTH", truth, 1);
	atexit(cleanup);
	raise_pause_timeout();

	kt_guest_start(&kg, "kt-techniques");
	check_listing();
	check_ps();
	check_still_running();
	check_bytes(build);
	check_still_running();
	check_lapsed_hold();
	check_still_running();
	check_exit();
	return KH_PASS;
}
