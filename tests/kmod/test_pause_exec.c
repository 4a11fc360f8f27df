// SPDX-License-Identifier: GPL-2.0-only
/*
 * A session never pauses a program the QEMU process exec'd after the
 * attach. The attached process has a CLONE_VM sibling that keeps the old
 * address space alive (so the session does not see an exit), then runs
 * execve() of sleep, possibly a setuid program in real life: PAUSE, for
 * vCPUs or ALL_THREADS, must be ESRCH, and the new program must go on
 * undisturbed (not parked in keyhole_park).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "test_pause.h"

static int keep_mm(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/*
 * The child: a CLONE_VM sibling that shares its memory, its pid sent to
 * the parent, then execve() of sleep when the parent says so.
 */
static void child(int report, int go)
{
	static char stack[64 << 10];
	pid_t sibling;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sibling = clone(keep_mm, stack + sizeof(stack), CLONE_VM | SIGCHLD,
			NULL);
	if (sibling < 0 || write(report, &sibling, sizeof(sibling)) !=
	    sizeof(sibling))
		_exit(2);
	if (read(go, &c, 1) != 1)
		_exit(3);
	execl("/bin/sleep", "sleep", "1000", (char *)NULL);
	_exit(4);
}

/* Waits until process pid runs comm (after its exec). */
static void wait_comm(pid_t pid, const char *comm)
{
	char path[64], line[64] = "";
	uint64_t start = kt_now_ms();
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (;;) {
		f = fopen(path, "r");
		CHECK(f, "%s: %s", path, strerror(errno));
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, comm))
			return;
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "process %d is still \"%s\", not \"%s\"", (int)pid, line,
		      comm);
		usleep(10000);
	}
}

int main(void)
{
	int report[2], go[2], dev, vm, err;
	struct keyhole_vm_info info;
	struct kp_thread parked[8];
	pid_t pid, sibling;

	/* the sibling outlives its parent: it must come back to us to reap */
	CHECK(!prctl(PR_SET_CHILD_SUBREAPER, 1), "PR_SET_CHILD_SUBREAPER");
	CHECK(!pipe(report) && !pipe(go), "pipe: %s", strerror(errno));
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		close(report[0]);
		close(go[1]);
		child(report[1], go[0]);
	}
	close(report[1]);
	close(go[0]);
	CHECK(read(report[0], &sibling, sizeof(sibling)) == sizeof(sibling),
	      "the child did not start its CLONE_VM sibling");

	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, pid, NULL);
	/* before the exec the process is the one attached: it pauses */
	err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, NULL);
	CHECK(!err, "PAUSE before the exec: %s", strerror(-err));
	CHECK(!kp_resume(vm, NULL), "RESUME before the exec");

	CHECK(write(go[1], "x", 1) == 1, "tell the child to exec");
	wait_comm(pid, "sleep");
	/* the old address space lives on in the sibling: no exit seen */
	CHECK(!kp_vm_info(vm, &info) && !(info.flags & KEYHOLE_VM_EXITED),
	      "VM_INFO says exited (flags 0x%x): the test needs the old mm alive",
	      info.flags);

	err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, NULL);
	CHECK(err == -ESRCH,
	      "PAUSE ALL_THREADS after the exec: %s, not ESRCH (it parked the new program)",
	      strerror(-err));
	err = kp_pause(vm, 0, KP_HOLD_MS, NULL);
	CHECK(err == -ESRCH, "PAUSE of vCPUs after the exec: %s, not ESRCH",
	      strerror(-err));
	CHECK(kp_parked_threads(pid, parked, ARRAY_SIZE(parked)) == 0,
	      "a thread of the new program is parked in keyhole_park");
	CHECK(kp_resume(vm, NULL) == -EALREADY, "no pause may be held");

	close(vm);
	close(dev);
	kill(sibling, SIGKILL);
	kill(pid, SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return KH_PASS;
}
