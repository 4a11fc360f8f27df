// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading guest RAM that was never touched allocates nothing. Through
 * the mapping and through KEYHOLE_READ, 64 MiB of a target's never-touched
 * anonymous RAM read as zeros and its VmRSS grows by less than 1 MiB (a
 * read fault maps the shared zero page). The same holds for the RAM of a
 * KVM L2 that its payload never wrote: 128 MiB read, QEMU's RSS grows by
 * less than 16 MiB (QEMU itself allocates a little meanwhile); were the
 * pages allocated, it would grow by 128 MiB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/mirror.h"
#include "target/target.h"
#include "target/vmfd.h"

#define RAM_LEN (64ULL << 20)
#define L2_MIB 256
#define L2_FROM (64ULL << 20)	/* the payload writes below 2 MiB only */
#define L2_LEN (128ULL << 20)

static void check_target(int dev)
{
	long long rss0, rss1, rss2;
	struct kt_target t;
	const uint8_t *map;
	uint8_t *buf;
	int vmfd, ret;

	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	vmfd = kh_attach(dev, t.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, t.hva, RAM_LEN) == 0, "range: %s",
	      strerror(errno));
	map = kh_map(vmfd, 0, RAM_LEN);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));

	rss0 = kt_target_rss(t.pid);
	CHECK(rss0 > 0, "VmRSS of the target");
	CHECK(kt_mirror_zero(map, 0, RAM_LEN), "untouched RAM must read 0");
	rss1 = kt_target_rss(t.pid);
	CHECK(rss1 - rss0 < (1 << 20), "mapped reads grew the target's RSS by %lld bytes",
	      rss1 - rss0);

	buf = malloc(1 << 20);
	CHECK(buf, "malloc");
	for (uint64_t gpa = 0; gpa < RAM_LEN; gpa += 1 << 20) {
		memset(buf, 0xff, 1 << 20);
		ret = kh_read1(vmfd, gpa, buf, 1 << 20);
		CHECK(ret == 1 << 20, "READ at 0x%llx: %d", (unsigned long long)gpa, ret);
		CHECK(kt_mirror_zero(buf, 0, 1 << 20), "READ of untouched RAM not 0");
	}
	rss2 = kt_target_rss(t.pid);
	CHECK(rss2 - rss0 < (1 << 20), "KEYHOLE_READ grew the target's RSS by %lld bytes",
	      rss2 - rss0);
	free(buf);
	munmap((void *)map, RAM_LEN);
	close(vmfd);
	kt_target_stop(&t);
}

static void check_l2(int dev)
{
	struct kt_l2_opts opts = { .smp = 1, .mem_mib = L2_MIB, .accel = KT_ACCEL_KVM };
	long long rss0, rss1;
	const uint8_t *map;
	struct kt_l2 l2;
	int vmfd;

	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2");
	vmfd = kh_attach(dev, l2.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, l2.hva0, l2.mem_bytes) == 0, "range: %s",
	      strerror(errno));
	map = kh_map(vmfd, 0, l2.mem_bytes);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	rss0 = kt_target_rss(l2.pid);
	CHECK(kt_mirror_zero(map, L2_FROM, L2_LEN),
	      "RAM the guest never wrote must read 0");
	rss1 = kt_target_rss(l2.pid);
	CHECK(rss1 - rss0 < (16 << 20), "QEMU's RSS grew by %lld bytes", rss1 - rss0);
	munmap((void *)map, l2.mem_bytes);
	close(vmfd);
	kt_l2_stop(&l2);
}

int main(void)
{
	int dev = kt_dev_open();

	CHECK(dev >= 0, "/dev/keyhole");
	check_target(dev);
	check_l2(dev);
	close(dev);
	return KH_PASS;
}
