// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every failure of an allocation (or of an fd, a mount, a notifier) on
 * the way through ATTACH, SET_RANGES and PAUSE is handled. The module is
 * swapped for its fault-injection build ($KT_MODULE_FAULT, kmod/fault.h),
 * and for N = 1, 2, ... its parameter fail_nth = N makes the Nth fallible
 * step fail: each time one call of open, ATTACH, SET_RANGES, mmap + fault,
 * PAUSE, RESUME fails with ENOMEM (EMFILE for the fd) and nothing is left
 * behind - no session in the netlink dump, the module's reference count
 * back to 0, no kernel warning (the runner checks), and five whole sweeps
 * leave unreclaimable slab where it was (within 1 MiB). Once N is past the
 * last step, every call succeeds. At the end the real module is loaded
 * back, which also proves the fault build could be unloaded: no reference
 * leaked.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_pause.h"
#include "target/target.h"
#include "target/vmfd.h"

#define FAIL_NTH	"/sys/module/keyhole/parameters/fail_nth"
#define REFCNT		"/sys/module/keyhole/refcnt"
#define RAM_LEN		(1ULL << 20)
#define MAX_STEPS	200
#define SWEEPS		5
#define SLAB_SLACK_KB	1024

static const char *real_module, *fault_module;
static bool fault_loaded;

static long long read_number(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void write_number(const char *path, long long v)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fprintf(f, "%lld", v) > 0 && !fclose(f), "write %lld to %s",
	      v, path);
}

static long long slab_kb(void)
{
	char line[128];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	CHECK(f, "/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SUnreclaim: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int run(const char *cmd)
{
	int status = system(cmd);

	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* insmod path, and wait for /dev/keyhole to appear. */
static void load(const char *path)
{
	char cmd[4200];
	uint64_t start = kt_now_ms();
	struct stat st;

	snprintf(cmd, sizeof(cmd), "insmod '%s'", path);
	CHECK(!run(cmd), "%s failed", cmd);
	while (stat("/dev/keyhole", &st)) {
		CHECK(kt_now_ms() - start < KP_RUN_MS, "no /dev/keyhole after %s",
		      cmd);
		usleep(1000);
	}
}

/* Unloads whichever keyhole is loaded: it must have no reference left. */
static void unload(void)
{
	uint64_t start = kt_now_ms();

	/* a work queued by a failed PAUSE may still hold one for a moment */
	while (read_number(REFCNT) > 0) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "keyhole's refcount stays %lld", read_number(REFCNT));
		usleep(1000);
	}
	CHECK(!run("rmmod keyhole"), "rmmod keyhole failed");
}

static void restore(void)
{
	char cmd[4200];

	if (!fault_loaded)
		return;
	fault_loaded = false;
	if (run("rmmod keyhole"))
		fprintf(stderr, "could not unload the fault-injection build\n");
	snprintf(cmd, sizeof(cmd), "insmod '%s'", real_module);
	if (run(cmd))
		fprintf(stderr, "could not load %s back\n", real_module);
}

/* The errno a step may fail with when an injected fault hits it. */
static bool injected(int err)
{
	return err == -ENOMEM || err == -EMFILE;
}

/*
 * One pass: open, ATTACH, SET_RANGES, a fault through the mirror, PAUSE,
 * RESUME. 0 when all worked, or the errno of the step that failed, which
 * must be what an injected fault gives.
 */
static int pass(struct kt_target *t, const char **failed)
{
	struct keyhole_pause p = { .size = sizeof(p),
				   .flags = KEYHOLE_PAUSE_ALL_THREADS,
				   .timeout_ms = KP_HOLD_MS };
	int dev, vm = -1, err;
	uint8_t *map;

	*failed = "open";
	dev = open("/dev/keyhole", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	*failed = "ATTACH";
	vm = kh_attach(dev, t->pid);
	err = vm < 0 ? vm : 0;
	if (!err) {
		*failed = "SET_RANGES";
		err = kh_set_range(vm, 0, t->hva, RAM_LEN);
	}
	if (!err) {
		*failed = "mmap";
		map = kh_map(vm, 0, RAM_LEN);
		err = map == MAP_FAILED ? -errno : 0;
		if (!err) {
			/* a fault allocates nothing of the module's own */
			*failed = "fault";
			CHECK(*(volatile uint64_t *)map == kt_tgt_word(1, 0),
			      "the mirror reads wrong");
			munmap(map, RAM_LEN);
		}
	}
	if (!err) {
		*failed = "PAUSE";
		err = kh_ioctl(vm, KEYHOLE_PAUSE, &p);
	}
	if (!err) {
		struct keyhole_resume r = { .size = sizeof(r) };

		*failed = "RESUME";
		err = kh_ioctl(vm, KEYHOLE_RESUME, &r);
	}
	if (vm >= 0)
		close(vm);
	close(dev);
	return err;
}

/* Nothing of a pass is left: no session, no reference. */
static void expect_clean(struct kp_nl *nl, unsigned int n)
{
	static struct kp_msg sessions[8];
	uint64_t start = kt_now_ms();
	int nr = kp_nl_dump(nl, sessions, 8, 0);

	CHECK(nr == 0, "fail_nth %u: %d sessions left behind", n, nr);
	while (read_number(REFCNT) > 0) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "fail_nth %u: keyhole's refcount stays %lld", n,
		      read_number(REFCNT));
		usleep(1000);
	}
}

/* fail_nth = 1, 2, ... until a pass gets through; how many steps. */
static unsigned int sweep(struct kt_target *t, struct kp_nl *nl, bool say)
{
	const char *failed;
	unsigned int n;
	int err;

	for (n = 1; n <= MAX_STEPS; n++) {
		write_number(FAIL_NTH, n);
		err = pass(t, &failed);
		if (!err && read_number(FAIL_NTH) > 0) {
			write_number(FAIL_NTH, 0);
			expect_clean(nl, n);
			return n - 1;
		}
		CHECK(read_number(FAIL_NTH) == 0,
		      "fail_nth %u: %s failed (%s) but no fault was injected", n,
		      failed, strerror(-err));
		CHECK(err, "fail_nth %u: a fault was injected and every call succeeded",
		      n);
		CHECK(injected(err), "fail_nth %u: %s failed with %s, not ENOMEM",
		      n, failed, strerror(-err));
		if (say)
			printf("fail_nth %u: %s failed with %s\n", n, failed,
			       strerror(-err));
		expect_clean(nl, n);
	}
	CHECK(0, "more than %d fallible steps", MAX_STEPS);
	return 0;
}

int main(void)
{
	long long before, after;
	unsigned int steps, i;
	struct kt_target t;
	struct kp_nl nl;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	real_module = getenv("KT_MODULE");
	fault_module = getenv("KT_MODULE_FAULT");
	CHECK(real_module && fault_module && !access(fault_module, R_OK),
	      "KT_MODULE and KT_MODULE_FAULT must name the modules (tests/kmod/run builds %s)",
	      fault_module ? fault_module : "keyhole-fault-inject.ko");
	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, 1) == 0, "fill");

	unload();
	atexit(restore);
	fault_loaded = true;
	load(fault_module);
	err = kp_nl_open(&nl, false);
	CHECK(!err, "netlink: %s", strerror(-err));

	steps = sweep(&t, &nl, true);
	printf("fallible steps %u\n", steps);
	CHECK(steps >= 8, "only %u fallible steps found", steps);
	before = slab_kb();
	for (i = 0; i < SWEEPS; i++)
		CHECK(sweep(&t, &nl, false) == steps, "sweep %u differs", i);
	after = slab_kb();
	printf("slab_kb_before %lld slab_kb_after %lld\n", before, after);
	CHECK(after - before < SLAB_SLACK_KB,
	      "%d sweeps of injected failures grew unreclaimable slab by %lld kB",
	      SWEEPS, after - before);

	kp_nl_close(&nl);
	unload();
	fault_loaded = false;
	load(real_module);
	kt_target_stop(&t);
	return KH_PASS;
}
