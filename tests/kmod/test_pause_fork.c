// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pause belongs to the process that took it, not to whoever inherited
 * its fd. A child forked by the pauser holds the same file, so the file
 * alone would keep the VM paused as long as the child lives:
 * - the pauser closes its fd while its child still has it: the pause ends
 *   (the target's thread leaves keyhole_park) and PAUSE_ENDED(CLOSED) is
 *   multicast;
 * - the pauser is SIGKILLed while its child still has the fd: the same;
 * - the child closing its copy does not end the pauser's pause;
 * - the pauser closing its fd while its PAUSE is still parking ends that
 *   PAUSE with EBADF, and nothing stays paused;
 * and the mirror mapping stays out of children: madvise(MADV_DOFORK) on
 * it is refused (VM_IO), so a fork never shares it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "test_pause.h"
#include "target/target.h"
#include "target/vmfd.h"

#define RAM_LEN (1ULL << 20)

static pid_t target_pid;

/* The target's one thread is parked, or (want false) runs free again. */
static void expect_parked(bool want, const char *what)
{
	struct kp_thread parked[4];
	uint64_t start = kt_now_ms();

	while ((kp_parked_threads(target_pid, parked, 4) > 0) != want) {
		CHECK(kt_now_ms() - start < KP_RUN_MS, "%s: the target is %s",
		      what, want ? "not parked" : "still parked");
		usleep(1000);
	}
}

/* A child that holds the inherited fd until killed; its pid. */
static pid_t holder(void)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void wait_closed_event(struct kp_nl *events, uint64_t id,
			      const char *what)
{
	struct kp_msg ev;

	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_PAUSE_ENDED, id,
				KP_EVENT_MS, &ev), "%s: no PAUSE_ENDED", what);
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSE_END] == KEYHOLE_PAUSE_END_CLOSED,
	      "%s: PAUSE_ENDED says %llu, not CLOSED", what,
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSE_END]);
}

static void pauser_closes(int dev, struct kp_nl *events)
{
	uint64_t id;
	pid_t child;
	int vm;

	vm = kp_attach(dev, target_pid, &id);
	CHECK(!kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, NULL),
	      "PAUSE");
	expect_parked(true, "after PAUSE");
	child = holder();
	CHECK(!close(vm), "close");
	wait_closed_event(events, id, "the pauser closed its fd");
	expect_parked(false, "the pauser closed its fd, its child has it");
	reap(child);
}

static void child_closes(int dev)
{
	struct keyhole_vm_info info;
	int vm, status;
	pid_t child;

	vm = kp_attach(dev, target_pid, NULL);
	CHECK(!kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, NULL),
	      "PAUSE");
	child = fork();
	CHECK(child >= 0, "fork: %s", strerror(errno));
	if (!child)
		_exit(close(vm) ? 1 : 0);
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "the child could not close its fd");
	CHECK(!kp_vm_info(vm, &info) && info.pause_depth == 1,
	      "the child's close ended the parent's pause (depth %u)",
	      info.pause_depth);
	expect_parked(true, "the child closed its copy");
	CHECK(!kp_resume(vm, NULL), "RESUME");
	expect_parked(false, "after RESUME");
	close(vm);
}

static void pauser_killed(struct kp_nl *events)
{
	struct {
		uint64_t id;
		pid_t holder;
	} msg;
	int report[2], status;
	pid_t pauser;

	CHECK(!pipe(report), "pipe");
	pauser = fork();
	CHECK(pauser >= 0, "fork: %s", strerror(errno));
	if (!pauser) {
		int dev = kt_dev_open(), vm;

		if (dev < 0)
			_exit(2);
		vm = kp_attach_ret(dev, target_pid, &msg.id);
		if (vm < 0 ||
		    kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, NULL))
			_exit(3);
		msg.holder = holder();	/* a child with the fd, left running */
		if (write(report[1], &msg, sizeof(msg)) != sizeof(msg))
			_exit(4);
		for (;;)
			pause();
	}
	close(report[1]);
	CHECK(read(report[0], &msg, sizeof(msg)) == sizeof(msg),
	      "the pauser failed before pausing");
	close(report[0]);
	expect_parked(true, "held by the pauser");
	CHECK(!kill(pauser, SIGKILL), "kill");
	CHECK(waitpid(pauser, &status, 0) == pauser, "waitpid");
	wait_closed_event(events, msg.id, "the pauser was killed");
	expect_parked(false, "the pauser was killed, its child has the fd");
	/* orphaned to us, the subreaper */
	reap(msg.holder);
}

struct closer {
	pid_t tid;		/* the thread in PAUSE */
	int vm;
};

/* Closes the fd once the PAUSE thread waits in the module for parking. */
static void *close_while_parking(void *arg)
{
	struct closer *c = arg;
	char path[64], wchan[64] = "";
	uint64_t start = kt_now_ms();
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)c->tid);
	while (strncmp(wchan, "keyhole_", 8)) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "PAUSE never waited for the stopped target (wchan %s)",
		      wchan);
		usleep(1000);
		f = fopen(path, "r");
		if (!f || !fgets(wchan, sizeof(wchan), f))
			wchan[0] = 0;
		if (f)
			fclose(f);
	}
	CHECK(!close(c->vm), "close: %s", strerror(errno));
	return NULL;
}

/*
 * The pauser closes its fd while its PAUSE is still parking (here: the
 * target is stopped and cannot park): the PAUSE ends with EBADF and
 * nothing stays paused once the target runs again.
 */
static void closed_while_parking(int dev)
{
	struct closer c = { .tid = gettid() };
	pthread_t thread;
	int err;
	struct kp_thread t;
	uint64_t start = kt_now_ms();

	c.vm = kp_attach(dev, target_pid, NULL);
	CHECK(!kill(target_pid, SIGSTOP), "SIGSTOP");
	while (kp_thread_read(target_pid, target_pid, &t) || t.state != 'T') {
		CHECK(kt_now_ms() - start < KP_RUN_MS, "the target did not stop");
		usleep(1000);
	}
	CHECK(!pthread_create(&thread, NULL, close_while_parking, &c),
	      "pthread_create");
	err = kp_pause(c.vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, NULL);
	pthread_join(thread, NULL);
	CHECK(err == -EBADF, "PAUSE whose fd its process closed: %s, not EBADF",
	      strerror(-err));
	CHECK(!kill(target_pid, SIGCONT), "SIGCONT");
	expect_parked(false, "the PAUSE was closed while parking");
}

int main(void)
{
	struct kp_nl events;
	struct kt_target t;
	uint8_t *map;
	int dev, vm, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(!prctl(PR_SET_CHILD_SUBREAPER, 1), "PR_SET_CHILD_SUBREAPER");
	err = kp_nl_open(&events, true);
	CHECK(!err, "netlink family %s: %s", KEYHOLE_GENL_NAME, strerror(-err));
	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	target_pid = t.pid;
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");

	vm = kp_attach(dev, t.pid, NULL);
	CHECK(kh_set_range(vm, 0, t.hva, RAM_LEN) == 0, "range");
	map = kh_map(vm, 0, RAM_LEN);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(madvise(map, RAM_LEN, MADV_DOFORK) == -1 && errno == EINVAL,
	      "MADV_DOFORK on the mirror: %s, not EINVAL", strerror(errno));
	munmap(map, RAM_LEN);
	close(vm);

	pauser_closes(dev, &events);
	child_closes(dev);
	pauser_killed(&events);
	closed_while_parking(dev);

	close(dev);
	kt_target_stop(&t);
	kp_nl_close(&events);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return KH_PASS;
}
