// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU SIGKILLed while paused (and mapped, when the module maps): its
 * parked vCPU threads still die and QEMU is reaped promptly; the session
 * then answers ESRCH to PAUSE and RESUME, VM_INFO says exited and no
 * pause; PAUSE_ENDED(EXITED) and then VM_EXITED are multicast with QEMU's
 * pid; unmapping and closing are clean (the runner checks dmesg).
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "test_pause.h"

#define SMP 4

/* Maps all of the L2's RAM through vm, or returns NULL saying why not. */
static void *try_map(struct kt_l2 *l2, int vm)
{
	struct keyhole_range range = {
		.gpa = 0, .hva = l2->hva0, .len = l2->mem_bytes,
	};
	struct keyhole_set_ranges set = {
		.size = sizeof(set), .range_size = sizeof(struct keyhole_range), .nr_ranges = 1,
		.ranges = (uintptr_t)&range,
	};
	volatile uint64_t *counter;
	void *map;

	if (ioctl(vm, KEYHOLE_SET_RANGES, &set)) {
		printf("not mapped: SET_RANGES: %s\n", strerror(errno));
		return NULL;
	}
	map = mmap(NULL, l2->mem_bytes, PROT_READ, MAP_SHARED, vm, 0);
	if (map == MAP_FAILED) {
		printf("not mapped: mmap: %s\n", strerror(errno));
		return NULL;
	}
	counter = (volatile uint64_t *)((char *)map + kt_cnt_gpa(0));
	CHECK(*counter != 0, "vCPU 0's counter reads 0 through the mapping");
	return map;
}

int main(void)
{
	struct kt_l2_opts opts = { .smp = SMP, .mem_mib = 64,
				   .accel = KT_ACCEL_KVM };
	struct keyhole_vm_info info;
	struct keyhole_pause p;
	unsigned int saved;
	struct kp_nl events;
	uint64_t session_id, start;
	struct kp_msg ev;
	struct kt_l2 l2;
	int dev, vm, err, status;
	pid_t qemu;
	void *map;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = kp_nl_open(&events, true);
	CHECK(!err, "netlink family %s: %s", KEYHOLE_GENL_NAME, strerror(-err));
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2 must start");
	qemu = l2.pid;
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, qemu, &session_id);
	map = try_map(&l2, vm);

	/* A pause that would outlast the test if exit did not end it. */
	saved = kp_param_get();
	CHECK(!kp_param_set_ms(60000), "set pause_timeout_ms");
	err = kp_pause(vm, 0, 60000, &p);
	CHECK(!kp_param_set_ms(saved), "restore pause_timeout_ms");
	CHECK(!err && p.nr_threads == SMP, "PAUSE: %s, %u threads",
	      strerror(-err), p.nr_threads);
	kp_expect_frozen(&l2, 200, 2, "before the kill");

	start = kt_now_ms();
	CHECK(!kill(qemu, SIGKILL), "kill QEMU: %s", strerror(errno));
	for (;;) {
		pid_t r = waitpid(qemu, &status, WNOHANG);

		CHECK(r >= 0, "waitpid QEMU: %s", strerror(errno));
		if (r == qemu)
			break;
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "QEMU %d not dead %d s after SIGKILL while paused",
		      (int)qemu, KP_RUN_MS / 1000);
		usleep(5000);
	}
	l2.pid = 0;	/* reaped: kt_l2_stop must not wait for it */
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "QEMU ended with status 0x%x", status);
	printf("paused_qemu_reaped_after_ms %llu\n",
	       (unsigned long long)(kt_now_ms() - start));

	/* The module ends the pause first, then says the VM exited. */
	CHECK(!kp_nl_wait_event(&events, KEYHOLE_GENL_CMD_PAUSE_ENDED,
				session_id, KP_EVENT_MS, &ev),
	      "no PAUSE_ENDED event after QEMU died");
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSE_END] == KEYHOLE_PAUSE_END_EXITED,
	      "PAUSE_ENDED says %llu, not EXITED",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSE_END]);
	CHECK(!kp_nl_wait_event(&events, KEYHOLE_GENL_CMD_VM_EXITED,
				session_id, KP_EVENT_MS, &ev),
	      "no VM_EXITED event");
	CHECK(ev.u[KEYHOLE_GENL_A_PID] == (uint64_t)qemu,
	      "VM_EXITED names pid %llu, not %d",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PID], (int)qemu);

	err = kp_pause(vm, 0, 1000, NULL);
	CHECK(err == -ESRCH, "PAUSE after exit: %s, not ESRCH", strerror(-err));
	err = kp_resume(vm, NULL);
	CHECK(err == -ESRCH, "RESUME after exit: %s, not ESRCH",
	      strerror(-err));
	err = kp_vm_info(vm, &info);
	if (!err)
		CHECK((info.flags & KEYHOLE_VM_EXITED) && !info.pause_depth &&
		      !(info.flags & KEYHOLE_VM_PAUSED),
		      "VM_INFO after exit: flags 0x%x, depth %u", info.flags,
		      info.pause_depth);
	else
		CHECK(err == -ESRCH, "VM_INFO after exit: %s", strerror(-err));

	if (map)
		CHECK(!munmap(map, l2.mem_bytes), "munmap: %s", strerror(errno));
	CHECK(!close(vm), "close the per-VM fd: %s", strerror(errno));
	close(dev);
	kt_l2_stop(&l2);
	kp_nl_close(&events);
	return KH_PASS;
}
