// SPDX-License-Identifier: GPL-2.0-only
/*
 * KEYHOLE_READ returns guest RAM as it is, and fails per entry. On a
 * paused KVM L2 whose payload filled its RAM, a batch of 4096 reads of
 * random GPAs and lengths (crossing pages, unaligned) equals the same
 * bytes read through /proc/PID/mem. In one batch, an entry outside every
 * range is -ENXIO, one spanning past its range's end is -ENXIO, one with
 * a bad buffer is -EFAULT, one too long is -EINVAL, an empty one is 0,
 * and the good entries around them are still read; nr_failed counts the
 * failures, nr_done all seven, and VM_INFO's bytes_read the bytes. Above
 * KEYHOLE_READ_MAX entries the call is EINVAL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/vmfd.h"

#define NR KEYHOLE_READ_MAX
#define MAX_LEN 9000

static struct keyhole_read_entry entries[NR];

static void qmp(struct kt_l2 *l2, const char *cmd)
{
	char reply[512];

	CHECK(kt_qmp_cmd(l2->qmp, cmd, reply, sizeof(reply)) == 0,
	      "QMP %s: %s", cmd, reply);
}

static void check_batch(struct kt_l2 *l2, int vmfd)
{
	struct keyhole_read rd = { .size = sizeof(rd), .entry_size = sizeof(struct keyhole_read_entry), .nr = NR,
				   .entries = (uintptr_t)entries };
	uint8_t *bufs, *want;
	uint64_t total = 0;
	unsigned int i;

	bufs = malloc((size_t)NR * MAX_LEN);
	want = malloc(MAX_LEN);
	CHECK(bufs && want, "malloc");
	srandom(42);
	for (i = 0; i < NR; i++) {
		uint32_t len = 1 + random() % MAX_LEN;

		entries[i].gpa = random() % (l2->mem_bytes - len);
		entries[i].len = len;
		entries[i].buf = (uintptr_t)(bufs + (size_t)i * MAX_LEN);
		total += len;
	}
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == 0, "READ: %s", strerror(errno));
	CHECK(rd.nr_failed == 0, "%u entries failed", rd.nr_failed);
	for (i = 0; i < NR; i++) {
		CHECK(entries[i].result == (int)entries[i].len,
		      "entry %u: result %d", i, entries[i].result);
		CHECK(kt_l2_read(l2, entries[i].gpa, want, entries[i].len) == 0,
		      "/proc/PID/mem");
		CHECK(memcmp(want, bufs + (size_t)i * MAX_LEN, entries[i].len) == 0,
		      "entry %u (GPA 0x%llx, %u bytes) differs from /proc/PID/mem",
		      i, (unsigned long long)entries[i].gpa, entries[i].len);
	}
	free(bufs);
	free(want);
	(void)total;
}

static void check_partial(struct kt_l2 *l2, int vmfd)
{
	struct keyhole_read rd = { .size = sizeof(rd), .entry_size = sizeof(struct keyhole_read_entry), .nr = 7,
				   .entries = (uintptr_t)entries };
	struct keyhole_vm_info before, after;
	uint64_t magic = 0, ncpus = 0, far = 0;

	CHECK(kh_info(vmfd, &before) == 0, "VM_INFO");
	memset(entries, 0, 7 * sizeof(entries[0]));
	entries[0] = (struct keyhole_read_entry){ .gpa = KT_CNT_BASE,
		.buf = (uintptr_t)&magic, .len = 8 };
	entries[1] = (struct keyhole_read_entry){ .gpa = l2->mem_bytes + 4096,
		.buf = (uintptr_t)&far, .len = 8 };
	entries[2] = (struct keyhole_read_entry){ .gpa = l2->mem_bytes - 4,
		.buf = (uintptr_t)&far, .len = 8 };
	entries[3] = (struct keyhole_read_entry){ .gpa = KT_CNT_BASE,
		.buf = 16, .len = 8 };
	entries[4] = (struct keyhole_read_entry){ .gpa = 0,
		.buf = (uintptr_t)&far, .len = 0x80000000U };
	entries[5] = (struct keyhole_read_entry){ .gpa = KT_CNT_BASE,
		.buf = (uintptr_t)&far, .len = 0 };
	entries[6] = (struct keyhole_read_entry){ .gpa = KT_CNT_NCPUS,
		.buf = (uintptr_t)&ncpus, .len = 8 };
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == 0, "READ: %s", strerror(errno));
	CHECK(entries[0].result == 8 && magic == KT_CNT_MAGIC,
	      "the first entry: %d, 0x%llx", entries[0].result,
	      (unsigned long long)magic);
	CHECK(entries[1].result == -ENXIO, "outside every range: %d", entries[1].result);
	CHECK(entries[2].result == -ENXIO, "past the range's end: %d", entries[2].result);
	CHECK(entries[3].result == -EFAULT, "a bad buffer: %d", entries[3].result);
	CHECK(entries[4].result == -EINVAL, "2 GiB: %d", entries[4].result);
	CHECK(entries[5].result == 0, "an empty entry: %d", entries[5].result);
	CHECK(entries[6].result == 8 && ncpus == 1,
	      "the entry after the failures: %d, %llu", entries[6].result,
	      (unsigned long long)ncpus);
	CHECK(far == 0, "a failed entry wrote its buffer");
	CHECK(rd.nr_failed == 4, "nr_failed %u, not 4", rd.nr_failed);
	CHECK(kh_info(vmfd, &after) == 0, "VM_INFO");
	CHECK(after.bytes_read - before.bytes_read == 16,
	      "bytes_read grew by %llu, not 16",
	      (unsigned long long)(after.bytes_read - before.bytes_read));

	CHECK(rd.nr_done == 7, "nr_done %u, not 7", rd.nr_done);
	rd.nr = NR + 1;
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -EINVAL, "above KEYHOLE_READ_MAX");
}

int main(void)
{
	struct kt_l2_opts opts = { .smp = 1, .mem_mib = 64, .accel = KT_ACCEL_KVM,
				   .fill = true };
	struct kt_l2 l2;
	int dev, vmfd;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2");
	vmfd = kh_attach(dev, l2.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, l2.hva0, l2.mem_bytes) == 0, "range: %s",
	      strerror(errno));
	qmp(&l2, "{\"execute\":\"stop\"}");
	check_batch(&l2, vmfd);
	check_partial(&l2, vmfd);
	qmp(&l2, "{\"execute\":\"cont\"}");
	close(vmfd);
	kt_l2_stop(&l2);
	close(dev);
	return KH_PASS;
}
