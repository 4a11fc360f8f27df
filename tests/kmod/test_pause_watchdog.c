// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM is never left frozen by its pauser:
 * - a process that holds a pause (with a 20 s timeout) is SIGKILLed: its
 *   fd closes and the guest runs again at once, long before the timeout,
 *   and PAUSE_ENDED(CLOSED) is multicast;
 * - a pause with timeout_ms = 300 ends by itself, not before 300 ms and
 *   within a bound, with PAUSE_ENDED(TIMEOUT) and its paused_ns; RESUME
 *   afterwards is EALREADY;
 * - a nested PAUSE with a later timeout moves the watchdog;
 * - timeout_ms above the pause_timeout_ms parameter is capped by it, and
 *   the parameter refuses 0.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "test_pause.h"

#define SMP 2
/* TCG-nested timing is coarse: how late a watchdog may end a pause */
#define SLACK_MS 1500

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
	ms = kp_expect_running(l2, 5000, "after the pauser was killed");
	printf("killed_pauser_resume_ms %llu\n", (unsigned long long)ms);

	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_PAUSE_ENDED,
				session_id, 5000, &ev),
	      "no PAUSE_ENDED event for session %llu",
	      (unsigned long long)session_id);
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSE_END] == KEYHOLE_PAUSE_END_CLOSED,
	      "PAUSE_ENDED says %llu, not CLOSED",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSE_END]);
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSED_NS] >= 300000000ull,
	      "paused_ns %llu, but it was held over 300 ms",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSED_NS]);
	CHECK(ev.u[KEYHOLE_GENL_A_PID] == (uint64_t)l2->pid,
	      "event pid %llu, not %d",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PID], (int)l2->pid);
}

/*
 * PAUSE with timeout_ms, which should last lasts_ms, then wait for the
 * counters to move again: returns the milliseconds from PAUSE's return to
 * the guest running.
 */
static uint64_t pause_until_expired(struct kt_l2 *l2, int vm,
				    uint32_t timeout_ms, unsigned int lasts_ms)
{
	uint64_t start;
	int err;

	err = kp_pause(vm, 0, timeout_ms, NULL);
	CHECK(!err, "PAUSE %u ms: %s", timeout_ms, strerror(-err));
	start = kt_now_ms();
	kp_expect_frozen(l2, lasts_ms / 2, 3, "before the timeout");
	kp_expect_running(l2, lasts_ms + SLACK_MS + 5000, "the watchdog");
	return kt_now_ms() - start;
}

static void expiry(struct kt_l2 *l2, int vm, uint64_t session_id,
		   struct kp_nl *events)
{
	struct keyhole_pause p;
	struct kp_msg ev;
	uint64_t ms;
	int err;

	ms = pause_until_expired(l2, vm, 300, 300);
	printf("timeout_300_resumed_after_ms %llu\n", (unsigned long long)ms);
	CHECK(ms >= 290 && ms <= 300 + SLACK_MS,
	      "a 300 ms pause ended after %llu ms", (unsigned long long)ms);
	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_PAUSE_ENDED,
				session_id, 5000, &ev),
	      "no PAUSE_ENDED event after the timeout");
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSE_END] == KEYHOLE_PAUSE_END_TIMEOUT,
	      "PAUSE_ENDED says %llu, not TIMEOUT",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSE_END]);
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSED_NS] >= 300000000ull &&
	      ev.u[KEYHOLE_GENL_A_PAUSED_NS] <= (300ull + SLACK_MS) * 1000000,
	      "paused_ns %llu for a 300 ms pause",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSED_NS]);
	err = kp_resume(vm, NULL);
	CHECK(err == -EALREADY, "RESUME after expiry: %s, not EALREADY",
	      strerror(-err));

	/* Nested: the later deadline wins. */
	CHECK(!kp_pause(vm, 0, 300, &p), "PAUSE 300 ms");
	CHECK(!kp_pause(vm, 0, 1200, &p) && p.depth == 2, "nested PAUSE 1200 ms");
	kp_expect_frozen(l2, 800, 4, "a nested pause moved the watchdog");
	kp_expect_running(l2, 400 + SLACK_MS + 5000, "the moved watchdog");
	CHECK(kp_resume(vm, NULL) == -EALREADY, "the whole nest expired");
	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_PAUSE_ENDED,
				session_id, 5000, &ev), "no event for the nest");
}

static void parameter(struct kt_l2 *l2, int vm)
{
	unsigned int saved = kp_param_get();
	uint64_t ms;

	CHECK(kp_param_set("0") == -EINVAL, "pause_timeout_ms accepted 0");
	CHECK(kp_param_set("400") == 0, "set pause_timeout_ms to 400");
	ms = pause_until_expired(l2, vm, 60000, 400);
	printf("capped_60000_to_400_resumed_after_ms %llu\n",
	       (unsigned long long)ms);
	CHECK(ms >= 390 && ms <= 400 + SLACK_MS,
	      "a pause capped at 400 ms lasted %llu ms",
	      (unsigned long long)ms);
	CHECK(kp_param_set_ms(saved) == 0, "restore pause_timeout_ms");
	CHECK(kp_param_get() == saved, "pause_timeout_ms not restored");
	CHECK(kp_resume(vm, NULL) == -EALREADY, "RESUME after the capped pause");
}

int main(void)
{
	struct kt_l2_opts opts = { .smp = SMP, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM };
	unsigned int saved;
	struct kp_nl events;
	uint64_t session_id;
	struct kt_l2 l2;
	int dev, vm, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	err = kp_nl_open(&events, true);
	CHECK(!err, "netlink family %s: %s", KEYHOLE_GENL_NAME, strerror(-err));
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2 must start");

	/* The child's 20 s must not be capped below what the test needs. */
	saved = kp_param_get();
	CHECK(!kp_param_set("20000"), "set pause_timeout_ms to 20000");
	killed_pauser(&l2, &events);
	CHECK(!kp_param_set_ms(saved), "restore pause_timeout_ms");

	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, l2.pid, &session_id);
	expiry(&l2, vm, session_id, &events);
	parameter(&l2, vm);

	close(vm);
	close(dev);
	kt_l2_stop(&l2);
	kp_nl_close(&events);
	return KH_PASS;
}
