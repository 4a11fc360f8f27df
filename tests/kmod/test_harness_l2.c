// SPDX-License-Identifier: GPL-2.0-only
/*
 * The harness itself: nested KVM works in the L1 and kt_l2_start delivers
 * what every keyhole.ko test builds on. A 4-vCPU KVM L2 on the counter
 * payload comes up, all four counters advance (each vCPU really runs),
 * QEMU names its vCPU threads "CPU n/KVM", one per vCPU, its RAM is one
 * block from GPA 0 to the end (gpa2hva of any GPA is hva0 + GPA, which
 * kt_l2_read relies on), and the L2 is gone after kt_l2_stop.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"

#define SMP 4
#define RUN_DEADLINE_MS 60000

int main(void)
{
	struct kt_l2_opts opts = { .smp = SMP, .mem_mib = 64, .accel = KT_ACCEL_KVM };
	uint64_t before[SMP], after[SMP], ncpus, hva, t0;
	const uint64_t gpas[] = { KT_CNT_BASE, kt_cnt_gpa(SMP - 1), 0x9f000,
				  0x100000, (64 << 20) - 4096 };
	pid_t tids[SMP + 1], pid;
	struct kt_l2 l2;
	unsigned int i;
	int n;

	CHECK(kt_l2_start(&l2, &opts) == 0, "a 4-vCPU KVM L2 must start");
	pid = l2.pid;

	CHECK(kt_l2_read(&l2, KT_CNT_NCPUS, &ncpus, sizeof(ncpus)) == 0, "read ncpus");
	CHECK(ncpus == SMP, "the payload counted %llu CPUs, not %d",
	      (unsigned long long)ncpus, SMP);
	/* every vCPU runs: each counter passes its first value (a busy host
	 * may hold a vCPU back for a while, hence a generous deadline) */
	for (i = 0; i < SMP; i++)
		CHECK(kt_l2_counter(&l2, i, &before[i]) == 0, "read counter %u", i);
	for (t0 = kt_now_ms(), i = 0; i < SMP; ) {
		CHECK(kt_l2_counter(&l2, i, &after[i]) == 0, "read counter %u", i);
		if (after[i] > before[i]) {
			i++;
			continue;
		}
		CHECK(kt_now_ms() - t0 < RUN_DEADLINE_MS,
		      "vCPU %u's counter did not advance from %llu in %u ms",
		      i, (unsigned long long)before[i], RUN_DEADLINE_MS);
		usleep(1000);
	}

	for (i = 0; i < ARRAY_SIZE(gpas); i++) {
		CHECK(kt_gpa2hva(&l2, gpas[i], &hva) == 0, "gpa2hva 0x%llx",
		      (unsigned long long)gpas[i]);
		CHECK(hva == l2.hva0 + gpas[i],
		      "GPA 0x%llx is at 0x%llx in QEMU, not hva0 + GPA = 0x%llx",
		      (unsigned long long)gpas[i], (unsigned long long)hva,
		      (unsigned long long)(l2.hva0 + gpas[i]));
	}
	CHECK(kt_gpa2hva(&l2, 64 << 20, &hva) < 0, "gpa2hva past the end of RAM");

	n = kt_vcpu_threads(pid, "KVM", tids, SMP + 1);
	CHECK(n == SMP, "%d threads named CPU n/KVM, not %d", n, SMP);
	for (i = 0; i < SMP; i++)
		CHECK(tids[i] > 0, "no thread named CPU %u/KVM", i);
	CHECK(tids[SMP] == 0, "a thread named CPU %d/KVM", SMP);

	kt_l2_stop(&l2);
	CHECK(kill(pid, 0) == -1 && errno == ESRCH, "QEMU %d still exists", (int)pid);
	return KH_PASS;
}
