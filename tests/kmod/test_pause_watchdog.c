// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM is never left frozen by its pauser:
 * - a process that holds a pause (with a 20 s timeout) is SIGKILLed: its
 *   fd closes and the guest runs again, PAUSE_ENDED(CLOSED) is multicast
 *   and the kernel's paused_ns is below the timeout;
 * - a pause with timeout_ms = 300 ends by itself, not before 300 ms, with
 *   PAUSE_ENDED(TIMEOUT) and its paused_ns; RESUME afterwards is EALREADY;
 * - a nested PAUSE with a later timeout moves the watchdog: the threads
 *   stay parked past the first deadline (5 s) and the pause lasts until
 *   the second (12 s);
 * - timeout_ms above the pause_timeout_ms parameter is capped by it, and
 *   the parameter refuses 0.
 * Bounds on lateness are generous (a busy host can hold this emulated L1
 * back for seconds) but far below the cap (60 s) that a watchdog ignoring
 * timeout_ms would fall back to, so each still tells the cases apart.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "test_pause.h"

#define SMP 2
/* the cap while these tests run, and how late a watchdog may be */
#define CAP_MS 60000
#define LATE_MS 20000

/* The child: attach, pause for 20 s, tell the parent, wait to be killed. */
static void pauser(pid_t qemu, int report)
{
	struct keyhole_pause p;
	uint64_t id = 0;
	int dev, vm, err;

	dev = kt_dev_open();
	if (dev < 0)
		_exit(2);
	vm = kp_attach_ret(dev, qemu, &id);
	if (vm < 0)
		_exit(3);
	err = kp_pause(vm, 0, 20000, &p);
	if (err || write(report, &id, sizeof(id)) != sizeof(id))
		_exit(4);
	for (;;)
		pause();
}

static void killed_pauser(struct kt_l2 *l2, struct kp_nl *events)
{
	uint64_t session_id, ms;
	struct kp_msg ev;
	int pipefd[2], status;
	pid_t child;

	CHECK(!pipe(pipefd), "pipe: %s", strerror(errno));
	child = fork();
	CHECK(child >= 0, "fork: %s", strerror(errno));
	if (!child) {
		close(pipefd[0]);
		pauser(l2->pid, pipefd[1]);
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], &session_id, sizeof(session_id)) ==
	      sizeof(session_id), "the pausing child failed before pausing");
	close(pipefd[0]);

	kp_expect_frozen(l2, 300, 3, "held by the child");
	CHECK(!kill(child, SIGKILL), "kill: %s", strerror(errno));
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status),
	      "the child did not die of SIGKILL");
	ms = kp_expect_running(l2, KP_RUN_MS, "after the pauser was killed");
	printf("killed_pauser_resume_ms %llu\n", (unsigned long long)ms);

	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_PAUSE_ENDED,
				session_id, KP_EVENT_MS, &ev),
	      "no PAUSE_ENDED event for session %llu",
	      (unsigned long long)session_id);
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSE_END] == KEYHOLE_PAUSE_END_CLOSED,
	      "PAUSE_ENDED says %llu, not CLOSED",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSE_END]);
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSED_NS] >= 300000000ull &&
	      ev.u[KEYHOLE_GENL_A_PAUSED_NS] < 20000000000ull,
	      "paused_ns %llu, but it was held over 300 ms and ended by the kill, before its 20 s",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSED_NS]);
	CHECK(ev.u[KEYHOLE_GENL_A_PID] == (uint64_t)l2->pid,
	      "event pid %llu, not %d",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PID], (int)l2->pid);
}

/* Waits for PAUSE_ENDED(TIMEOUT) of session_id; its paused_ns, in ms. */
static uint64_t expired_after_ms(struct kp_nl *events, uint64_t session_id,
				 const char *what)
{
	struct kp_msg ev;

	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_PAUSE_ENDED,
				session_id, KP_EVENT_MS + LATE_MS, &ev),
	      "%s: no PAUSE_ENDED event", what);
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSE_END] == KEYHOLE_PAUSE_END_TIMEOUT,
	      "%s: PAUSE_ENDED says %llu, not TIMEOUT", what,
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSE_END]);
	return ev.u[KEYHOLE_GENL_A_PAUSED_NS] / 1000000;
}

/*
 * PAUSE with timeout_ms, which should last lasts_ms: the watchdog ends
 * it, not before lasts_ms and not much later (the kernel's paused_ns:
 * a clock here would see the host's delays), and the guest runs again.
 */
static void pause_until_expired(struct kt_l2 *l2, int vm, uint64_t session_id,
				struct kp_nl *events, uint32_t timeout_ms,
				unsigned int lasts_ms, const char *what)
{
	uint64_t ms;
	int err;

	err = kp_pause(vm, 0, timeout_ms, NULL);
	CHECK(!err, "%s: PAUSE %u ms: %s", what, timeout_ms, strerror(-err));
	ms = expired_after_ms(events, session_id, what);
	printf("%s_paused_ms %llu\n", what, (unsigned long long)ms);
	CHECK(ms >= lasts_ms && ms < lasts_ms + LATE_MS,
	      "%s: a pause of %u ms ended after %llu ms", what, lasts_ms,
	      (unsigned long long)ms);
	kp_expect_running(l2, KP_RUN_MS, what);
	err = kp_resume(vm, NULL);
	CHECK(err == -EALREADY, "%s: RESUME after expiry: %s, not EALREADY",
	      what, strerror(-err));
}

static void expiry(struct kt_l2 *l2, int vm, uint64_t session_id,
		   struct kp_nl *events)
{
	struct keyhole_pause p;
	struct kp_thread parked[64], later;
	unsigned int i, n;
	uint64_t start, ms;

	pause_until_expired(l2, vm, session_id, events, 300, 300, "timeout_300");

	/*
	 * Nested: the later deadline wins. Past the first one the threads
	 * are still parked (not merely starved), and the pause ends only at
	 * the second.
	 */
	CHECK(!kp_pause(vm, 0, 5000, &p), "PAUSE 5000 ms");
	start = kt_now_ms();
	CHECK(!kp_pause(vm, 0, 12000, &p) && p.depth == 2, "nested PAUSE 12000 ms");
	n = kp_wait_parked(l2->pid, SMP, parked, ARRAY_SIZE(parked),
			   "the nested pause");
	while (kt_now_ms() - start < 7000)
		usleep(50000);
	for (i = 0; i < n; i++) {
		CHECK(!kp_thread_read(l2->pid, parked[i].tid, &later) &&
		      later.parked && later.run_ns == parked[i].run_ns,
		      "thread %d ran after the first deadline: the nested PAUSE did not move the watchdog",
		      (int)parked[i].tid);
	}
	ms = expired_after_ms(events, session_id, "nested");
	printf("nested_5000_12000_paused_ms %llu\n", (unsigned long long)ms);
	CHECK(ms >= 12000 && ms < 12000 + LATE_MS,
	      "the nest of 5000 and 12000 ms lasted %llu ms",
	      (unsigned long long)ms);
	kp_expect_running(l2, KP_RUN_MS, "the moved watchdog");
	CHECK(kp_resume(vm, NULL) == -EALREADY, "the whole nest expired");
}

static void parameter(struct kt_l2 *l2, int vm, uint64_t session_id,
		      struct kp_nl *events)
{
	CHECK(kp_param_set("0") == -EINVAL, "pause_timeout_ms accepted 0");
	CHECK(kp_param_set("400") == 0, "set pause_timeout_ms to 400");
	/* 60 s asked, 400 ms given */
	pause_until_expired(l2, vm, session_id, events, 60000, 400,
			    "capped_60000_to_400");
	CHECK(kp_param_set_ms(CAP_MS) == 0, "set pause_timeout_ms back");
}

int main(void)
{
	struct kt_l2_opts opts = { .smp = SMP, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM };
	struct kp_nl events;
	uint64_t session_id;
	struct kt_l2 l2;
	int dev, vm, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = kp_nl_open(&events, true);
	CHECK(!err, "netlink family %s: %s", KEYHOLE_GENL_NAME, strerror(-err));
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2 must start");

	/* put back at exit; no timeout below is capped by it but one */
	kp_param_hold();
	CHECK(kp_param_get() == CAP_MS, "pause_timeout_ms is not %d", CAP_MS);
	killed_pauser(&l2, &events);

	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, l2.pid, &session_id);
	expiry(&l2, vm, session_id, &events);
	parameter(&l2, vm, session_id, &events);

	close(vm);
	close(dev);
	kt_l2_stop(&l2);
	kp_nl_close(&events);
	return KH_PASS;
}
