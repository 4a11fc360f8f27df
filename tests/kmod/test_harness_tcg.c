// SPDX-License-Identifier: GPL-2.0-only
/*
 * The harness itself, the TCG way: a 2-vCPU TCG L2 on a memfd backend,
 * told to fill its RAM, comes up with both vCPU threads named
 * "CPU n/TCG", and the RAM read through /proc/PID/mem holds exactly the
 * payload's pattern (counter.h) from the first to the last filled word,
 * so tests comparing keyhole's reads with /proc/PID/mem compare something.
 */
#include <stdlib.h>

#include "check.h"
#include "kt.h"

#define SMP 2
#define CHUNK (64 * 1024)

int main(void)
{
	struct kt_l2_opts opts = {
		.smp = SMP, .mem_mib = 32, .accel = KT_ACCEL_TCG,
		.mem = KT_MEM_MEMFD, .fill = true, .timeout_ms = KT_L2_START_MS,
	};
	uint64_t start, end, gpa;
	uint32_t *words;
	pid_t tids[SMP];
	struct kt_l2 l2;
	size_t i;
	int n;

	words = malloc(CHUNK);
	CHECK(words, "out of memory");
	CHECK(kt_l2_start(&l2, &opts) == 0, "a 2-vCPU TCG L2 must start");

	n = kt_vcpu_threads(l2.pid, "TCG", tids, SMP);
	CHECK(n == SMP, "%d threads named CPU n/TCG, not %d", n, SMP);

	CHECK(kt_l2_read(&l2, KT_CNT_FILL_START, &start, sizeof(start)) == 0, "fill start");
	CHECK(kt_l2_read(&l2, KT_CNT_FILL_END, &end, sizeof(end)) == 0, "fill end");
	CHECK(start == KT_CNT_FILL_FROM, "fill starts at 0x%llx", (unsigned long long)start);
	/* multiboot's mem_upper may keep back a little at the top */
	CHECK(end <= l2.mem_bytes && end + (1 << 20) >= l2.mem_bytes,
	      "fill ends at 0x%llx, RAM at 0x%llx", (unsigned long long)end,
	      (unsigned long long)l2.mem_bytes);
	CHECK(end % 4 == 0 && (end - start) % CHUNK == 0,
	      "fill range 0x%llx-0x%llx is not whole chunks",
	      (unsigned long long)start, (unsigned long long)end);

	for (gpa = start; gpa < end; gpa += CHUNK) {
		CHECK(kt_l2_read(&l2, gpa, words, CHUNK) == 0, "read GPA 0x%llx",
		      (unsigned long long)gpa);
		for (i = 0; i < CHUNK / 4; i++)
			CHECK(words[i] == kt_cnt_fill_word(gpa + 4 * i),
			      "GPA 0x%llx holds 0x%08x, not 0x%08x",
			      (unsigned long long)(gpa + 4 * i), words[i],
			      kt_cnt_fill_word(gpa + 4 * i));
	}

	kt_l2_stop(&l2);
	free(words);
	return KH_PASS;
}
