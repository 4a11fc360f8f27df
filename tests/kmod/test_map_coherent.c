// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mirror never shows a stale frame. A QEMU-like target (target/)
 * owns 8 MiB of anonymous RAM mapped through keyhole; after each event
 * that changes which page backs a GPA - madvise(MADV_DONTNEED) as a
 * balloon does, munmap (the mirror then gives SIGBUS) and remap, THP
 * collapse (MADV_COLLAPSE) and PMD split, KSM merge and the COW that
 * unmerges - the target writes a new stamp and every byte read through
 * the mapping must be the new one: a mirror still pointing at the old
 * frame would show the old stamp, zeros or garbage. The notifier must
 * have counted invalidations.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/mirror.h"
#include "target/target.h"
#include "target/vmfd.h"

#define RAM_LEN (8UL << 20)
#define HUGE KT_TGT_HUGE
#define PAGE 4096UL

static struct kt_target t;
static const uint8_t *map;
static uint64_t stamp = 1;

static void tgt(enum kt_tgt_op op, uint64_t off, uint64_t len, uint64_t arg,
		const char *what)
{
	int ret = kt_target_cmd(&t, op, off, len, arg);

	CHECK(ret == 0, "target: %s: %s", what, strerror(-ret));
}

/* The target writes a new stamp over [off, off + len); the mirror shows it. */
static void restamp(uint64_t off, uint64_t len, const char *after)
{
	long long bad;

	stamp++;
	tgt(KT_TGT_FILL, off, len, stamp, "fill");
	bad = kt_mirror_diff(map, off, len, stamp, false);
	CHECK(bad < 0, "after %s: stale read at offset 0x%llx: 0x%llx, want 0x%llx",
	      after, bad, (unsigned long long)*(const uint64_t *)(map + bad),
	      (unsigned long long)kt_tgt_word(stamp, bad));
}

static long long sys_ll(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return atoll(buf);
}

static int sys_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* AnonHugePages of the target, in kB, or -1. */
static long long anon_huge_kb(pid_t pid)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void check_dontneed(void)
{
	tgt(KT_TGT_DONTNEED, 0, HUGE, 0, "MADV_DONTNEED");
	CHECK(kt_mirror_zero(map, 0, HUGE),
	      "after MADV_DONTNEED the mirror must read zeros");
	CHECK(kt_mirror_diff(map, HUGE, RAM_LEN - HUGE, stamp, false) < 0,
	      "MADV_DONTNEED of the first 2 MiB changed the rest");
	restamp(0, RAM_LEN, "MADV_DONTNEED");
}

static void check_remap(void)
{
	tgt(KT_TGT_UNMAP, HUGE, PAGE, 0, "munmap");
	CHECK(kt_mirror_sigbus((const uint64_t *)(map + HUGE)),
	      "a GPA whose QEMU memory is unmapped must give SIGBUS");
	CHECK(kt_mirror_diff(map, HUGE + PAGE, PAGE, stamp, false) < 0,
	      "munmap of one page changed the next");
	tgt(KT_TGT_REMAP, HUGE, HUGE, 0, "munmap + mmap");
	CHECK(kt_mirror_zero(map, HUGE, HUGE),
	      "after munmap + mmap the mirror must read the new zeros");
	restamp(0, RAM_LEN, "munmap + mmap");
}

static void check_thp(void)
{
	long long before = anon_huge_kb(t.pid), after;
	int ret;

	tgt(KT_TGT_HUGEPAGE, 0, RAM_LEN, 0, "MADV_HUGEPAGE");
	ret = kt_target_cmd(&t, KT_TGT_COLLAPSE, 0, RAM_LEN, 0);
	CHECK(ret == 0, "MADV_COLLAPSE: %s", strerror(-ret));
	after = anon_huge_kb(t.pid);
	CHECK(after > before && after >= 2048,
	      "MADV_COLLAPSE made no THP (AnonHugePages %lld -> %lld kB)",
	      before, after);
	CHECK(kt_mirror_diff(map, 0, RAM_LEN, stamp, false) < 0,
	      "the contents changed across THP collapse");
	restamp(0, RAM_LEN, "THP collapse");

	tgt(KT_TGT_SPLIT, HUGE, PAGE, 0, "PMD split");
	CHECK(anon_huge_kb(t.pid) < after,
	      "mprotect of one page did not split its THP (AnonHugePages %lld kB)",
	      anon_huge_kb(t.pid));
	restamp(0, RAM_LEN, "THP split");
}

static void check_ksm(void)
{
	const char *ksm = "/sys/kernel/mm/ksm/";
	char path[128];
	long long sharing = 0;
	uint64_t t0;

	snprintf(path, sizeof(path), "%srun", ksm);
	if (access(path, W_OK)) {
		CHECK(0, "KSM is needed (CONFIG_KSM): %s", path);
	}
	stamp++;
	tgt(KT_TGT_FILL_SAME, 3 * HUGE, HUGE, stamp, "fill alike");
	CHECK(kt_mirror_diff(map, 3 * HUGE, HUGE, stamp, true) < 0,
	      "pages alike read wrong");
	tgt(KT_TGT_MERGEABLE, 3 * HUGE, HUGE, 0, "MADV_MERGEABLE");
	sys_write("/sys/kernel/mm/ksm/sleep_millisecs", "10");
	sys_write("/sys/kernel/mm/ksm/pages_to_scan", "4096");
	CHECK(sys_write(path, "1") == 0, "start KSM");
	for (t0 = kt_now_ms(); kt_now_ms() - t0 < 30000; usleep(50000)) {
		sharing = sys_ll("/sys/kernel/mm/ksm/pages_sharing");
		if (sharing >= 256)
			break;
	}
	CHECK(sharing >= 256, "KSM merged only %lld pages in 30 s", sharing);
	CHECK(kt_mirror_diff(map, 3 * HUGE, HUGE, stamp, true) < 0,
	      "the contents changed across a KSM merge");
	/* writing breaks the merge: each page gets a frame of its own */
	restamp(3 * HUGE, HUGE, "KSM merge and unmerge");
	sys_write(path, "2");
}

int main(void)
{
	struct keyhole_vm_info before, after;
	int dev, vmfd;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	vmfd = kh_attach(dev, t.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, t.hva, RAM_LEN) == 0, "range: %s",
	      strerror(errno));
	map = kh_map(vmfd, 0, RAM_LEN);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));

	restamp(0, RAM_LEN, "the first fill");
	CHECK(kh_info(vmfd, &before) == 0, "VM_INFO");
	check_dontneed();
	check_remap();
	check_thp();
	check_ksm();
	CHECK(kh_info(vmfd, &after) == 0, "VM_INFO");
	CHECK(after.invalidations > before.invalidations,
	      "no invalidation counted (%llu)",
	      (unsigned long long)after.invalidations);

	munmap((void *)map, RAM_LEN);
	close(vmfd);
	kt_target_stop(&t);
	close(dev);
	return KH_PASS;
}
