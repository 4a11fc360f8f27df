// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mirror shows guest RAM as it is. On a KVM L2 whose payload filled
 * its RAM, paused with QMP stop, every page of the per-VM fd's mapping
 * equals the same page read through /proc/PID/mem, twice: with the range
 * from QMP (gpa2hva) and with the ranges keyhole.ko reads from the VM's
 * KVM memslots (KEYHOLE_RANGES_FROM_KVM, which also reports ENOSPC with
 * the room it needs). Running again, each vCPU's counter is seen moving
 * through the mapping. A TCG L2 has no KVM VM: FROM_KVM is ENOENT.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/vmfd.h"

#define PAGE 4096UL
#define SMP 2
/* a busy host may hold a vCPU back for a while */
#define RUN_DEADLINE_MS 60000

/* Every page of [gpa, gpa + len) of the mapping against /proc/PID/mem. */
static void compare_pages(struct kt_l2 *l2, const uint8_t *map, uint64_t gpa,
			  uint64_t hva, uint64_t len)
{
	static uint8_t page[PAGE];
	uint64_t off;

	for (off = 0; off < len; off += PAGE) {
		CHECK(kt_procmem_read(l2->pid, hva + off, page, PAGE) == 0,
		      "/proc/PID/mem at hva 0x%llx", (unsigned long long)(hva + off));
		CHECK(memcmp(map + gpa + off, page, PAGE) == 0,
		      "GPA 0x%llx: the mapping differs from /proc/PID/mem",
		      (unsigned long long)(gpa + off));
	}
}

static void qmp(struct kt_l2 *l2, const char *cmd)
{
	char reply[512];

	CHECK(kt_qmp_cmd(l2->qmp, cmd, reply, sizeof(reply)) == 0,
	      "QMP %s: %s", cmd, reply);
}

/* Each vCPU's counter is seen passing its first value through the mapping. */
static void check_counters_move(const uint8_t *map)
{
	uint64_t before[SMP], after, t0;
	unsigned int i;

	for (i = 0; i < SMP; i++)
		before[i] = *(volatile const uint64_t *)(map + kt_cnt_gpa(i));
	for (t0 = kt_now_ms(), i = 0; i < SMP; ) {
		after = *(volatile const uint64_t *)(map + kt_cnt_gpa(i));
		if (after > before[i]) {
			i++;
			continue;
		}
		CHECK(kt_now_ms() - t0 < RUN_DEADLINE_MS,
		      "vCPU %u's counter did not move from %llu in the mapping in %u ms",
		      i, (unsigned long long)before[i], RUN_DEADLINE_MS);
		usleep(1000);
	}
}

static void check_from_kvm(struct kt_l2 *l2, int vmfd, const uint8_t *map)
{
	struct keyhole_range ranges[KEYHOLE_RANGES_MAX];
	struct keyhole_set_ranges sr = {
		.size = sizeof(sr), .range_size = sizeof(struct keyhole_range), .flags = KEYHOLE_RANGES_FROM_KVM,
		.ranges = (uintptr_t)ranges,
	};
	struct keyhole_vm_info info;
	uint64_t ram = 0;
	bool counters = false;
	uint32_t i, n;

	CHECK(kh_info(vmfd, &info) == 0 && (info.flags & KEYHOLE_VM_KVM),
	      "VM_INFO must say the QEMU has a KVM VM");
	/* no room: ENOSPC and the count needed */
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -ENOSPC,
	      "FROM_KVM with no room must be ENOSPC");
	CHECK(sr.nr_ranges > 0 && sr.nr_ranges <= KEYHOLE_RANGES_MAX,
	      "ENOSPC said %u ranges are needed", sr.nr_ranges);
	n = sr.nr_ranges;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == 0,
	      "FROM_KVM with room for %u: %s", n, strerror(errno));
	CHECK(sr.nr_ranges == n, "%u ranges, then %u", n, sr.nr_ranges);
	for (i = 0; i < n; i++) {
		struct keyhole_range *r = &ranges[i];

		fprintf(stderr, "memslot gpa 0x%llx len 0x%llx hva 0x%llx\n",
			(unsigned long long)r->gpa, (unsigned long long)r->len,
			(unsigned long long)r->hva);
		CHECK(!i || ranges[i - 1].gpa + ranges[i - 1].len <= r->gpa,
		      "ranges not sorted or overlapping");
		ram += r->len;
		if (r->gpa <= KT_CNT_BASE && KT_CNT_BASE < r->gpa + r->len) {
			CHECK(r->hva - r->gpa == l2->hva0,
			      "the memslot holding the counters maps GPA 0x%llx to 0x%llx, QMP says 0x%llx",
			      (unsigned long long)r->gpa, (unsigned long long)r->hva,
			      (unsigned long long)(l2->hva0 + r->gpa));
			counters = true;
		}
	}
	CHECK(counters, "no memslot holds the counters");
	CHECK(ram >= l2->mem_bytes - (1 << 20), "memslots hold %llu bytes of %llu",
	      (unsigned long long)ram, (unsigned long long)l2->mem_bytes);
	CHECK(kh_info(vmfd, &info) == 0 && info.nr_ranges == n,
	      "VM_INFO has %u ranges", info.nr_ranges);

	qmp(l2, "{\"execute\":\"stop\"}");
	for (i = 0; i < n; i++) {
		/* guest RAM below the top of this mapping only */
		if (ranges[i].gpa + ranges[i].len > l2->mem_bytes)
			continue;
		compare_pages(l2, map, ranges[i].gpa, ranges[i].hva, ranges[i].len);
	}
	qmp(l2, "{\"execute\":\"cont\"}");
	check_counters_move(map);
}

static void check_tcg_has_no_kvm(int dev)
{
	struct kt_l2_opts opts = { .smp = 1, .mem_mib = 16, .accel = KT_ACCEL_TCG };
	struct keyhole_range r;
	struct keyhole_set_ranges sr = {
		.size = sizeof(sr), .range_size = sizeof(struct keyhole_range), .flags = KEYHOLE_RANGES_FROM_KVM,
		.nr_ranges = 1, .ranges = (uintptr_t)&r,
	};
	struct kt_l2 l2;
	int vmfd;

	CHECK(kt_l2_start(&l2, &opts) == 0, "a TCG L2");
	vmfd = kh_attach(dev, l2.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -ENOENT,
	      "FROM_KVM on a TCG QEMU must be ENOENT");
	close(vmfd);
	kt_l2_stop(&l2);
}

int main(void)
{
	struct kt_l2_opts opts = { .smp = SMP, .mem_mib = 64, .accel = KT_ACCEL_KVM,
				   .fill = true };
	struct keyhole_vm_info info;
	struct kt_l2 l2;
	uint8_t *map;
	uint64_t hva;
	int dev, vmfd;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2");
	CHECK(kt_gpa2hva(&l2, 0, &hva) == 0 && hva == l2.hva0, "gpa2hva 0");
	vmfd = kh_attach(dev, l2.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, l2.hva0, l2.mem_bytes) == 0,
	      "the QMP range: %s", strerror(errno));
	map = kh_map(vmfd, 0, l2.mem_bytes);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));

	qmp(&l2, "{\"execute\":\"stop\"}");
	compare_pages(&l2, map, 0, l2.hva0, l2.mem_bytes);
	CHECK(*(uint64_t *)(map + KT_CNT_BASE) == KT_CNT_MAGIC, "no magic");
	qmp(&l2, "{\"execute\":\"cont\"}");
	check_counters_move(map);
	CHECK(kh_info(vmfd, &info) == 0, "VM_INFO");
	CHECK(info.faults >= l2.mem_bytes / PAGE, "%llu faults for %llu pages",
	      (unsigned long long)info.faults,
	      (unsigned long long)(l2.mem_bytes / PAGE));

	check_from_kvm(&l2, vmfd, map);

	munmap(map, l2.mem_bytes);
	close(vmfd);
	kt_l2_stop(&l2);
	check_tcg_has_no_kvm(dev);
	close(dev);
	return KH_PASS;
}
