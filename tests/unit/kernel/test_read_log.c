// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: a sealed read log (broker/lib/kernel/read_log.c) judges "same"
 * exactly when every read it logged would read the same bytes now, or
 * conservatively "changed" when a byte between two merged reads changed:
 *   - a byte changed inside any logged read, by guest-physical address or
 *     through the direct map, is seen, and putting it back is seen too;
 *   - a byte changed far from every read is not taken for a change;
 *   - a read that failed must fail again;
 *   - two overlapping reads that saw different bytes (a live guest read
 *     twice) cannot be sealed, and such a log never judges "same";
 *   - logs checked together are judged each on its own;
 * both where the technique maps guest RAM (compared in place) and where
 * every check is a read.
 *
 * The technique is a function over an array, the boundary the log sits
 * on: what is checked is the log, not a guest.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fake_vm.h"
#include "kernel/memory.h"
#include "kernel/read_log.h"
#include "vm.h"

#define RAM_SIZE	(1u << 20)
#define DIRECT_MAP	0xffff888000000000ULL

static uint8_t ram[RAM_SIZE];
static struct kh_vm vm;
static struct kh_access_ops ops;

static int technique_read(struct kh_access *acc, struct kh_read *reads,
			  unsigned int nr)
{
	unsigned int i;

	(void)acc;
	for (i = 0; i < nr; i++) {
		CHECK(reads[i].addr < RAM_SIZE &&
		      reads[i].len <= RAM_SIZE - reads[i].addr,
		      "a read at %#llx+%u outside RAM reached the technique",
		      (unsigned long long)reads[i].addr, reads[i].len);
		memcpy(reads[i].buf, ram + reads[i].addr, reads[i].len);
		reads[i].result = 0;
	}
	return 0;
}

static void kva(uint64_t gpa, void *buf, uint32_t len)
{
	CHECK(!kh_kva_fetch_one(&vm, DIRECT_MAP + gpa, buf, len, NULL),
	      "direct-map read at %#llx", (unsigned long long)gpa);
}

static void gpa(uint64_t at, void *buf, uint32_t len)
{
	CHECK(!kh_gpa_fetch_one(&vm, at, buf, len, NULL),
	      "physical read at %#llx", (unsigned long long)at);
}

/* A part's reads: fields of a struct, a neighbour, a far page, a miss. */
static struct kh_read_log *walk(int with_failure)
{
	struct kh_read_log *log;
	uint8_t buf[64];
	struct kh_read miss = { .addr = RAM_SIZE + 4096, .buf = buf,
				.len = 8 };

	kh_read_log_begin(&log);
	CHECK(log, "out of memory");
	kva(0x10000, buf, 8);
	kva(0x10010, buf, 4);
	kva(0x10008, buf, 16);		/* overlaps both */
	kva(0x10040, buf, 8);		/* within the merge gap */
	gpa(0x20ffc, buf, 8);		/* across a page */
	kva(0x80000, buf, 64);
	if (with_failure)
		CHECK(kh_gpa_fetch(&vm, &miss, 1, NULL) == 1 && miss.result,
		      "a read outside RAM did not fail");
	CHECK(!kh_read_log_end(log), "a clean walk's log is unusable");
	CHECK(!kh_read_log_seal(&vm, log), "a clean walk's log cannot be sealed");
	return log;
}

static int judge(struct kh_read_log *log)
{
	int same = -1;

	CHECK(!kh_read_logs_same(&vm, &log, 1, &same, NULL), "check failed");
	return same;
}

/* ram[at] changed: the log's verdict, and back again. */
static void flip(struct kh_read_log *log, uint64_t at, int want_same,
		 const char *what)
{
	ram[at] ^= 0x5a;
	CHECK(judge(log) == want_same, "%s: judged %s", what,
	      want_same ? "changed" : "same");
	ram[at] ^= 0x5a;
	CHECK(judge(log) == 1, "%s put back: judged changed", what);
}

static void every_case(void)
{
	struct kh_read_log *log = walk(1), *logs[2];
	uint8_t a[8], b[8];
	int same[2];

	CHECK(judge(log) == 1, "nothing changed, judged changed");
	flip(log, 0x10000, 0, "first read's first byte");
	flip(log, 0x10017, 0, "the overlapping read's last byte");
	flip(log, 0x10047, 0, "the read past the gap");
	flip(log, 0x20ffc, 0, "a physical read's first byte");
	flip(log, 0x21003, 0, "a physical read's byte on the next page");
	flip(log, 0x8003f, 0, "the far read's last byte");
	/* Merged across a small gap: a change there reads as a change. */
	flip(log, 0x10030, 0, "a byte in a merged gap");
	flip(log, 0x40000, 1, "a byte no read is near");
	flip(log, 0x10100, 1, "a byte past the last merged read");

	/* Judged together: each log on its own. */
	logs[0] = log;
	logs[1] = walk(0);
	ram[0x80000] ^= 1;
	CHECK(!kh_read_logs_same(&vm, logs, 2, same, NULL) && !same[0] &&
	      !same[1], "both logs read the changed byte");
	ram[0x80000] ^= 1;
	ram[0x10000] ^= 1;
	kh_read_log_put(logs[1]);
	logs[1] = walk(0);		/* saw the changed byte */
	CHECK(!kh_read_logs_same(&vm, logs, 2, same, NULL) && !same[0] &&
	      same[1], "only the first log's byte changed: %d %d", same[0],
	      same[1]);
	ram[0x10000] ^= 1;
	kh_read_log_put(logs[1]);
	kh_read_log_put(log);

	/* The same word seen with two values: no seal, never "same". */
	kh_read_log_begin(&log);
	kva(0x30000, a, 8);
	ram[0x30004] ^= 1;
	kva(0x30004, b, 8);
	CHECK(!kh_read_log_end(log), "log broken before the seal");
	CHECK(kh_read_log_seal(&vm, log) == -EAGAIN,
	      "two views of one byte were sealed");
	CHECK(judge(log) == 0, "a log that could not be sealed judged same");
	ram[0x30004] ^= 1;
	CHECK(judge(log) == 0, "a log that could not be sealed judged same");
	kh_read_log_put(log);
}

int main(void)
{
	const struct kh_ram_range whole = { .gpa = 0, .size = RAM_SIZE };
	unsigned int i;

	for (i = 0; i < RAM_SIZE; i++)
		ram[i] = (uint8_t)(i * 7 + (i >> 9));
	fake_vm(&vm, &ops, "array", technique_read, &whole, 1);
	vm.kernel.page_offset_base = DIRECT_MAP;
	vm.kernel.direct_map_size = RAM_SIZE;
	vm.kernel.text_va = 0xffffffff81000000ULL;

	/* Every check a read, */
	every_case();
	/* and every check in place, as through memmap's mapping. */
	vm.acc.hot = (struct kh_hot_range){ .gpa = 0, .size = RAM_SIZE,
					    .base = ram };
	every_case();
	return KH_PASS;
}
