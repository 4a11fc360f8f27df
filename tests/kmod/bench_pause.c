// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark: how long KEYHOLE_PAUSE takes to park every vCPU and
 * KEYHOLE_RESUME to let them go, on KVM L2s with 1 and 4 vCPUs and, for
 * comparison, a TCG L2. Prints "key value" lines, times in ns:
 *   pause_<l2>_park_ns_{median,p99}   the module's park_ns
 *   pause_<l2>_wall_ns_{median,p99}   the PAUSE ioctl seen from user space
 *   resume_<l2>_wall_ns_{median,p99}  the RESUME ioctl
 *   qmp_stop_<l2>_wall_ns_{median,p99} QMP "stop" on the same L2, the
 *	halting path keyhole has without the module (QEMU parks its vCPUs
 *	itself; the paper's halting reads used ptrace, slower still)
 *   qmp_cont_<l2>_wall_ns_{median,p99} QMP "cont"
 * Nested under TCG the absolute numbers are inflated: compare ratios.
 */
#include <stdlib.h>

#include "test_pause.h"

#define ROUNDS 200
#define TCG_ROUNDS 50

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *key, uint64_t *ns, unsigned int n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("%s_median %llu\n", key, (unsigned long long)ns[n / 2]);
	printf("%s_p99 %llu\n", key, (unsigned long long)ns[(n * 99) / 100]);
}

static void bench(const struct kt_l2_opts *opts, const char *name,
		  unsigned int rounds)
{
	static uint64_t park[ROUNDS], pause_wall[ROUNDS], resume_wall[ROUNDS];
	static uint64_t stop_wall[ROUNDS], cont_wall[ROUNDS];
	struct keyhole_pause p;
	struct kt_l2 l2;
	char key[64];
	uint64_t t0, t1;
	unsigned int i;
	int dev, vm, err;

	CHECK(kt_l2_start(&l2, opts) == 0, "%s L2 must start", name);
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, l2.pid, NULL);

	for (i = 0; i < rounds; i++) {
		t0 = kp_now_ns();
		err = kp_pause(vm, 0, 2000, &p);
		t1 = kp_now_ns();
		CHECK(!err && p.nr_threads == l2.smp, "%s round %u: PAUSE: %s",
		      name, i, strerror(-err));
		park[i] = p.park_ns;
		pause_wall[i] = t1 - t0;
		t0 = kp_now_ns();
		err = kp_resume(vm, NULL);
		resume_wall[i] = kp_now_ns() - t0;
		CHECK(!err, "%s round %u: RESUME: %s", name, i, strerror(-err));
		/* let the vCPUs get back into guest mode */
		usleep(2000);
	}
	/*
	 * The baseline, on the same guest in the same run: QMP stop/cont
	 * round trips (fewer rounds: each is a monitor exchange).
	 */
	for (i = 0; i < rounds / 4; i++) {
		char reply[256];

		t0 = kp_now_ns();
		err = kt_qmp_cmd(l2.qmp, "{\"execute\":\"stop\"}", reply,
				 sizeof(reply));
		stop_wall[i] = kp_now_ns() - t0;
		CHECK(!err, "%s round %u: QMP stop: %s", name, i, reply);
		t0 = kp_now_ns();
		err = kt_qmp_cmd(l2.qmp, "{\"execute\":\"cont\"}", reply,
				 sizeof(reply));
		cont_wall[i] = kp_now_ns() - t0;
		CHECK(!err, "%s round %u: QMP cont: %s", name, i, reply);
		usleep(2000);
	}
	/* still a live guest after all that */
	kp_expect_running(&l2, KP_RUN_MS, name);

	snprintf(key, sizeof(key), "pause_%s_park_ns", name);
	report(key, park, rounds);
	snprintf(key, sizeof(key), "pause_%s_wall_ns", name);
	report(key, pause_wall, rounds);
	snprintf(key, sizeof(key), "resume_%s_wall_ns", name);
	report(key, resume_wall, rounds);
	snprintf(key, sizeof(key), "qmp_stop_%s_wall_ns", name);
	report(key, stop_wall, rounds / 4);
	snprintf(key, sizeof(key), "qmp_cont_%s_wall_ns", name);
	report(key, cont_wall, rounds / 4);
	printf("pause_%s_rounds %u\n", name, rounds);

	close(vm);
	close(dev);
	kt_l2_stop(&l2);
}

int main(void)
{
	struct kt_l2_opts kvm1 = { .smp = 1, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM };
	struct kt_l2_opts kvm4 = { .smp = 4, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM };
	struct kt_l2_opts tcg2 = { .smp = 2, .mem_mib = 32,
				   .accel = KT_ACCEL_TCG, .timeout_ms = KT_L2_START_MS };

	setvbuf(stdout, NULL, _IOLBF, 0);
	bench(&kvm1, "kvm1", ROUNDS);
	bench(&kvm4, "kvm4", ROUNDS);
	bench(&tcg2, "tcg2", TCG_ROUNDS);
	return KH_PASS;
}
