// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mirror follows swap-out and swap-in. With swap available (the L1
 * has none, so a zram swap device is made if the zram module and mkswap
 * are there, and removed at the end), a QEMU-like target's RAM, read
 * through keyhole, is paged out with MADV_PAGEOUT; pagemap must show it
 * swapped. Reading it through the mirror swaps it back in with the right
 * contents, and a write by the target after that is seen: no stale
 * frame. The L1 is always Debian's kernel, which has zram, so having no
 * swap fails the test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/swap.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/mirror.h"
#include "target/pagemap.h"
#include "target/target.h"
#include "target/vmfd.h"

#define RAM_LEN (8ULL << 20)
#define PAGE 4096ULL
#define NR_PAGES (RAM_LEN / PAGE)
#define ZRAM "/dev/zram0"

static uint64_t ent[NR_PAGES];
static int made_zram;

static void remove_zram(void)
{
	if (!made_zram)
		return;
	swapoff(ZRAM);
	if (system("echo 1 > /sys/block/zram0/reset; rmmod zram 2>/dev/null"))
		fprintf(stderr, "zram reset failed\n");
}

/* 0 with swap on, or the reason there is none */
static const char *have_swap(void)
{
	char line[256];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return "no /proc/swaps";
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	if (lines > 1)
		return NULL;
	if (system("modprobe zram num_devices=1 2>/dev/null"))
		return "no swap and no zram module";
	made_zram = 1;
	atexit(remove_zram);
	if (system("echo 64M > /sys/block/zram0/disksize && mkswap " ZRAM " >/dev/null"))
		return "no swap, and zram or mkswap failed";
	if (swapon(ZRAM, 0))
		return "no swap, and swapon of zram failed";
	return NULL;
}

int main(void)
{
	unsigned int i, swapped = 0;
	struct kt_target t;
	const uint8_t *map;
	const char *why;
	long long bad;
	int dev, vmfd, ret;

	why = have_swap();
	CHECK(!why, "%s", why);
	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	vmfd = kh_attach(dev, t.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, t.hva, RAM_LEN) == 0, "range");
	map = kh_map(vmfd, 0, RAM_LEN);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, 1) == 0, "fill");
	CHECK(kt_mirror_diff(map, 0, RAM_LEN, 1, false) < 0, "the first fill");

	ret = kt_target_cmd(&t, KT_TGT_PAGEOUT, 0, RAM_LEN, 0);
	CHECK(ret == 0, "MADV_PAGEOUT: %s", strerror(-ret));
	CHECK(kt_pagemap(t.pid, t.hva, ent, NR_PAGES) == 0, "pagemap");
	for (i = 0; i < NR_PAGES; i++)
		swapped += !!(ent[i] & KT_PM_SWAPPED);
	CHECK(swapped > NR_PAGES / 2, "only %u of %llu pages were swapped out",
	      swapped, NR_PAGES);

	bad = kt_mirror_diff(map, 0, RAM_LEN, 1, false);
	CHECK(bad < 0, "after swap-out: wrong data at 0x%llx", bad);
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, 2) == 0, "fill");
	bad = kt_mirror_diff(map, 0, RAM_LEN, 2, false);
	CHECK(bad < 0, "after swap-in: stale read at 0x%llx", bad);

	munmap((void *)map, RAM_LEN);
	close(vmfd);
	kt_target_stop(&t);
	close(dev);
	return KH_PASS;
}
