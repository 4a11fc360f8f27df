// SPDX-License-Identifier: GPL-2.0-only
/*
 * The target exiting while attached and mapped is clean. A QEMU-like
 * target and then a real KVM L2 are SIGKILLed while their RAM is mapped
 * and was read: afterwards SET_RANGES, READ, PAUSE and a new mmap fail
 * with ESRCH, VM_INFO still answers and says KEYHOLE_VM_EXITED with pid
 * 0, touching the old mapping gives SIGBUS, and unmapping and closing
 * work (the runner fails the test on any kernel warning, and rmmod at the
 * end proves no reference was left).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/mirror.h"
#include "target/target.h"
#include "target/vmfd.h"

#define RAM_LEN (4ULL << 20)

static void check_exited(int vmfd, const uint8_t *map, uint64_t len,
			 uint64_t hva)
{
	struct keyhole_pause pause = { .size = sizeof(pause) };
	struct keyhole_vm_info info;
	uint8_t buf[8];

	CHECK(kh_set_range(vmfd, 0, hva, len) == -ESRCH, "SET_RANGES after exit");
	CHECK(kh_read1(vmfd, 0, buf, 8) == -ESRCH, "READ after exit");
	CHECK(kh_ioctl(vmfd, KEYHOLE_PAUSE, &pause) == -ESRCH, "PAUSE after exit");
	CHECK(kh_info(vmfd, &info) == 0, "VM_INFO after exit: %s", strerror(errno));
	CHECK(info.flags & KEYHOLE_VM_EXITED, "VM_INFO does not say exited");
	CHECK(info.pid == 0, "VM_INFO pid %d after exit", info.pid);
	CHECK(kh_map(vmfd, 0, 4096) == MAP_FAILED && errno == ESRCH,
	      "mmap after exit: %s", strerror(errno));
	CHECK(kt_mirror_sigbus((const uint64_t *)map), "the mapping after exit");
	CHECK(kt_mirror_sigbus((const uint64_t *)(map + len - 8)),
	      "the mapping's end after exit");
	CHECK(munmap((void *)map, len) == 0, "munmap");
	CHECK(close(vmfd) == 0, "close");
}

static void check_target(int dev)
{
	struct kt_target t;
	const uint8_t *map;
	int vmfd;

	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	vmfd = kh_attach(dev, t.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, t.hva, RAM_LEN) == 0, "range");
	map = kh_map(vmfd, 0, RAM_LEN);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, 7) == 0, "fill");
	CHECK(kt_mirror_diff(map, 0, RAM_LEN, 7, false) < 0, "the mirror before exit");
	kill(t.pid, SIGKILL);
	waitpid(t.pid, NULL, 0);
	t.pid = 0;
	check_exited(vmfd, map, RAM_LEN, t.hva);
	kt_target_stop(&t);
}

static void check_l2(int dev)
{
	struct kt_l2_opts opts = { .smp = 2, .mem_mib = 32, .accel = KT_ACCEL_KVM };
	const uint8_t *map;
	struct kt_l2 l2;
	uint64_t hva0;
	pid_t pid;
	int vmfd;

	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2");
	vmfd = kh_attach(dev, l2.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, l2.hva0, l2.mem_bytes) == 0, "range");
	map = kh_map(vmfd, 0, l2.mem_bytes);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(*(const uint64_t *)(map + KT_CNT_BASE) == KT_CNT_MAGIC, "magic");
	pid = l2.pid;
	hva0 = l2.hva0;
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, NULL, 0) == pid, "QEMU is our child");
	l2.pid = 0;
	check_exited(vmfd, map, l2.mem_bytes, hva0);
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
