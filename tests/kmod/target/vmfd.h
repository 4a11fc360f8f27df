/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Thin wrappers over keyhole.ko's per-VM ioctls for the memory tests:
 * each returns 0 (or an fd, or a count) or -errno, and says nothing, so a
 * test can check the exact errno it expects.
 */
#ifndef KT_VMFD_H
#define KT_VMFD_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <keyhole.h>

static inline int kh_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* A per-VM fd for process pid, or -errno. */
static inline int kh_attach(int dev, pid_t pid)
{
	struct keyhole_attach a = { .size = sizeof(a), .pid = pid };
	int ret = kh_ioctl(dev, KEYHOLE_ATTACH, &a);

	return ret ? ret : a.vm_fd;
}

static inline int kh_set_ranges(int vmfd, struct keyhole_range *ranges,
				uint32_t nr)
{
	struct keyhole_set_ranges s = {
		.size = sizeof(s), .range_size = sizeof(struct keyhole_range), .nr_ranges = nr,
		.ranges = (uintptr_t)ranges,
	};

	return kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &s);
}

/* One range: guest RAM [gpa, gpa + len) is QEMU's [hva, hva + len). */
static inline int kh_set_range(int vmfd, uint64_t gpa, uint64_t hva,
			       uint64_t len)
{
	struct keyhole_range r = { .gpa = gpa, .hva = hva, .len = len };

	return kh_set_ranges(vmfd, &r, 1);
}

static inline int kh_info(int vmfd, struct keyhole_vm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return kh_ioctl(vmfd, KEYHOLE_VM_INFO, info);
}

/* The mirror of [gpa, gpa + len), read-only, or MAP_FAILED with errno. */
static inline void *kh_map(int vmfd, uint64_t gpa, uint64_t len)
{
	return mmap(NULL, len, PROT_READ, MAP_SHARED, vmfd, (off_t)gpa);
}

/* One KEYHOLE_READ entry: its result (len or -errno), or the ioctl's. */
static inline int kh_read1(int vmfd, uint64_t gpa, void *buf, uint32_t len)
{
	struct keyhole_read_entry e = {
		.gpa = gpa, .buf = (uintptr_t)buf, .len = len,
	};
	struct keyhole_read r = {
		.size = sizeof(r), .entry_size = sizeof(struct keyhole_read_entry), .nr = 1, .entries = (uintptr_t)&e,
	};
	int ret = kh_ioctl(vmfd, KEYHOLE_READ, &r);

	return ret ? ret : e.result;
}

#endif
