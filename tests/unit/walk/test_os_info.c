// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the pure parts of the OS and memory extractors compute what the
 * guest kernel would: /proc/loadavg's rounding of avenrun, cpumask weights
 * bounded by nr_cpu_ids, CLOCK_BOOTTIME from a timekeeper image (and the
 * timekeeper found in tk_core whatever its alignment, garbage rejected),
 * and si_mem_available()'s and meminfo's Cached arithmetic with the
 * kernel's clamping of negative values.
 *
 * The extractors' helpers are static, so their files are included here;
 * the test links against libkeyhole.a only for what those files call.
 */
#include "check.h"

#include "walk/os_info.c"
#include "walk/meminfo.c"

/* A synthetic timekeeper layout, as a kh_offsets() result would be. */
static uint32_t tk_off[NR_OS_FIELDS];

static void set_u64(uint8_t *p, uint32_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static void set_u32(uint8_t *p, uint32_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

/* A timekeeper at boot time mono_ns + offs_boot, as the kernel keeps it. */
static void make_tk(uint8_t *tk, int64_t wtm_ns, uint64_t xtime_sec,
		    uint64_t frac_ns, int64_t offs_boot)
{
	uint32_t shift = 8;
	uint64_t seconds = xtime_sec + wtm_ns / NSEC_PER_SEC;
	uint64_t base = seconds * NSEC_PER_SEC + wtm_ns % NSEC_PER_SEC;

	set_u64(tk, tk_off[TK_MONO_CLOCK], 0xffffffff82a3c0c0ULL);
	set_u64(tk, tk_off[TK_RAW_CLOCK], 0xffffffff82a3c0c0ULL);
	set_u32(tk, tk_off[TK_MONO_MULT], 4194304);
	set_u32(tk, tk_off[TK_MONO_SHIFT], shift);
	set_u64(tk, tk_off[TK_MONO_XTIME_NSEC], frac_ns << shift);
	set_u64(tk, tk_off[TK_MONO_BASE], base);
	set_u64(tk, tk_off[TK_KTIME_SEC], (base + frac_ns) / NSEC_PER_SEC);
	set_u64(tk, tk_off[TK_OFFS_BOOT], (uint64_t)offs_boot);
}

static void test_loadavg(void)
{
	/* /proc/loadavg: LOAD_INT/LOAD_FRAC of avenrun + FIXED_1/200. */
	CHECK(load_value(0) == 0.0, "load 0");
	CHECK(load_value(FIXED_1) == 1.0, "load 1.00: %f", load_value(FIXED_1));
	CHECK(load_value(FIXED_1 / 2) == 0.5, "load 0.50");
	/* 0.2949 rounds to 0.29, 0.2951 to 0.30, as the guest prints. */
	CHECK(load_value(604) == 0.29, "load 604/2048: %f", load_value(604));
	CHECK(load_value(605) == 0.30, "load 605/2048: %f", load_value(605));
	CHECK(load_value(3 * FIXED_1 + 2047) == 4.0, "load 3.9995: %f",
	      load_value(3 * FIXED_1 + 2047));
}

static void test_cpumask(void)
{
	uint64_t mask[4] = { 0xf, 0, 0, 0x8000000000000000ULL };

	CHECK(cpumask_weight(mask, 256, 4) == 4, "4 of 4 CPUs");
	CHECK(cpumask_weight(mask, 256, 2) == 2, "bits past nr_cpu_ids count");
	CHECK(cpumask_weight(mask, 256, 256) == 5, "5 of 256");
	CHECK(cpumask_weight(mask, 256, UINT32_MAX) == 5,
	      "a huge nr_cpu_ids reads past the mask");
	CHECK(cpumask_weight(mask, 256, 0) == 0, "nr_cpu_ids 0");
	mask[0] = ~0ULL;
	CHECK(cpumask_weight(mask, 256, 65) == 64, "partial word");
}

static void test_timekeeper(void)
{
	uint8_t core[TK_SLACK + 512];
	int64_t ns = 0, wall = 0;
	unsigned int seq_size;

	tk_off[TK_MONO_CLOCK] = 0;
	tk_off[TK_MONO_MULT] = 24;
	tk_off[TK_MONO_SHIFT] = 28;
	tk_off[TK_MONO_XTIME_NSEC] = 32;
	tk_off[TK_MONO_BASE] = 40;
	tk_off[TK_RAW_CLOCK] = 56;
	tk_off[TK_KTIME_SEC] = 120;
	tk_off[TK_OFFS_BOOT] = 160;
	tk_off[TK_OFFS_REAL] = 168;

	/* wall_to_monotonic is negative: mono = xtime - (wall at boot). */
	memset(core, 0, sizeof(core));
	make_tk(core, -1700000000LL * NSEC_PER_SEC + 250000000,
		1700000100ULL, 900000000, 0);
	CHECK(!tk_boot_ns(core, tk_off, &ns, &wall), "valid timekeeper rejected");
	CHECK(ns == 101150000000LL, "boot ns %lld", (long long)ns);

	make_tk(core, 0, 42, 5, 3 * NSEC_PER_SEC);
	CHECK(!tk_boot_ns(core, tk_off, &ns, &wall) &&
	      ns == 45 * NSEC_PER_SEC + 5, "offs_boot not added: %lld",
	      (long long)ns);
	/* Boot by the wall clock: realtime less boottime, btime's sum. */
	set_u64(core, tk_off[TK_OFFS_REAL], 1700000000ULL * NSEC_PER_SEC);
	CHECK(!tk_boot_ns(core, tk_off, &ns, &wall) &&
	      wall == 1699999997LL * NSEC_PER_SEC, "boot wall time %lld",
	      (long long)wall);
	/* A real offset below the boot one is not a time: unknown. */
	set_u64(core, tk_off[TK_OFFS_REAL], NSEC_PER_SEC);
	CHECK(!tk_boot_ns(core, tk_off, &ns, &wall) && wall == 0,
	      "boot before the epoch: %lld", (long long)wall);

	/* ktime_sec that disagrees with base: not a timekeeper. */
	set_u64(core, tk_off[TK_KTIME_SEC], 41);
	CHECK(tk_boot_ns(core, tk_off, &ns, &wall) == -EINVAL, "bad ktime_sec");
	make_tk(core, 0, 42, 5, 0);
	set_u64(core, tk_off[TK_RAW_CLOCK], 0xffffffff82a3c0c8ULL);
	CHECK(tk_boot_ns(core, tk_off, &ns, &wall) == -EINVAL, "clock mismatch");
	make_tk(core, 0, 42, 5, 0);
	set_u32(core, tk_off[TK_MONO_SHIFT], 64);
	CHECK(tk_boot_ns(core, tk_off, &ns, &wall) == -EINVAL, "shift 64");
	make_tk(core, 0, 42, 5, -1);
	CHECK(tk_boot_ns(core, tk_off, &ns, &wall) == -EINVAL, "negative offs_boot");
	make_tk(core, 0, 42, 5, INT64_MAX);
	CHECK(tk_boot_ns(core, tk_off, &ns, &wall) == -EINVAL, "overflow");
	memset(core, 0xff, sizeof(core));
	CHECK(tk_boot_ns(core, tk_off, &ns, &wall) == -EINVAL, "all ones");

	/* tk_core: the timekeeper after a 4-byte (or lockdep 16-byte) seq,
	 * at 8, 16 or 64: found wherever it is, nowhere in garbage. */
	for (seq_size = 4; seq_size <= 16; seq_size += 12) {
		static const uint32_t at[] = { 8, 16, 64 };
		unsigned int i;

		for (i = 0; i < 3; i++) {
			if (at[i] < seq_size)
				continue;
			memset(core, 0xa5, sizeof(core));
			make_tk(core + at[i], 0, 77, 123, 0);
			ns = 0;
			CHECK(!tk_find(core, seq_size, tk_off, &ns, &wall) &&
			      ns == 77 * NSEC_PER_SEC + 123,
			      "timekeeper at %u after a %u-byte seq not found",
			      at[i], seq_size);
		}
	}
	memset(core, 0xa5, sizeof(core));
	CHECK(tk_find(core, 4, tk_off, &ns, &wall) == -ENOENT, "garbage accepted");
}

static void test_meminfo(void)
{
	/* free 1000, reserve 100, file LRU 400, slab 60, wmark 50. */
	CHECK(mem_available(1000, 100, 400, 60, 50) == 900 + 350 + 30,
	      "available %llu", (unsigned long long)
	      mem_available(1000, 100, 400, 60, 50));
	/* A low watermark above half the cache: half stays. */
	CHECK(mem_available(1000, 100, 400, 60, 5000) == 900 + 200 + 30,
	      "available with a high watermark");
	/* Reserve above free: the kernel clamps at 0 only at the end. */
	CHECK(mem_available(10, 100, 40, 0, 0) == 0, "clamped at 0");
	CHECK(mem_available(10, 30, 40, 0, 0) == 20, "negative then added");
	CHECK(mem_cached(100, 10, 20) == 70, "cached");
	CHECK(mem_cached(10, 10, 20) == 0, "cached clamped at 0");
	CHECK(stat_pages((uint64_t)-5) == 0, "negative counter");
	CHECK(stat_pages(5) == 5, "counter");
}

int main(void)
{
	test_loadavg();
	test_cpumask();
	test_timekeeper();
	test_meminfo();
	printf("os_info and mem_info helpers: ok\n");
	return KH_PASS;
}
