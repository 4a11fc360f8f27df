// SPDX-License-Identifier: GPL-2.0-only
/*
 * Repeated PAUSEs of a process that cannot park take no memory. A thread
 * that never returns to user mode (here SIGSTOPped; ptrace-stopped or in
 * an uninterruptible sleep alike) cannot run the work a PAUSE queues on
 * it, so once allocated per PAUSE, works piled up with every retry,
 * charged to no one. Now: the first PAUSE times out (ETIMEDOUT), every
 * later one is EBUSY at once while that work is pending, 20,000 of them
 * leave the kernel's unreclaimable slab where it was (within 1 MiB; the
 * old code grew it by about 4 MiB), and so do 2,000 sessions opened,
 * made to PAUSE and closed in turn (the bound is per thread, module-wide);
 * once the thread runs again (SIGCONT) the next PAUSE parks it.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "test_pause.h"
#include "target/target.h"

#define TRIES		20000
#define SESSIONS	2000
#define SLAB_SLACK_KB	1024

/* SUnreclaim of /proc/meminfo, in kB. */
static long long slab_kb(void)
{
	char line[128];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	CHECK(f, "/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SUnreclaim: %lld kB", &kb) == 1)
			break;
	fclose(f);
	CHECK(kb >= 0, "no SUnreclaim in /proc/meminfo");
	return kb;
}

/* Waits until the target's thread is stopped (state T). */
static void wait_stopped(pid_t pid)
{
	struct kp_thread t;
	uint64_t start = kt_now_ms();

	while (kp_thread_read(pid, pid, &t) || t.state != 'T') {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "the target did not stop (state %c)", t.state);
		usleep(1000);
	}
}

int main(void)
{
	unsigned int i, busy = 0;
	struct kt_target t;
	long long before, after;
	uint64_t start;
	int dev, vm, err;

	CHECK(kt_target_start(&t, 1 << 20) == 0, "target");
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, t.pid, NULL);

	CHECK(!kill(t.pid, SIGSTOP), "SIGSTOP: %s", strerror(errno));
	wait_stopped(t.pid);
	err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, 1, NULL);
	CHECK(err == -ETIMEDOUT, "PAUSE of a stopped process: %s, not ETIMEDOUT",
	      strerror(-err));

	before = slab_kb();
	for (i = 0; i < TRIES; i++) {
		err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, 1, NULL);
		CHECK(err == -EBUSY || err == -ETIMEDOUT,
		      "PAUSE %u of a stopped process: %s", i, strerror(-err));
		busy += err == -EBUSY;
	}
	after = slab_kb();
	printf("pauses %u, ebusy %u, slab_kb_before %lld, slab_kb_after %lld\n",
	       TRIES, busy, before, after);
	CHECK(busy == TRIES,
	      "%u of %u PAUSEs were not EBUSY while a work was pending",
	      TRIES - busy, TRIES);
	CHECK(after - before < SLAB_SLACK_KB,
	      "%u PAUSEs grew unreclaimable slab by %lld kB", TRIES,
	      after - before);

	/* nor from fresh sessions: the bound is per thread, not per fd */
	before = slab_kb();
	for (i = 0; i < SESSIONS; i++) {
		int other = kp_attach(dev, t.pid, NULL);

		err = kp_pause(other, KEYHOLE_PAUSE_ALL_THREADS, 1, NULL);
		CHECK(err == -EBUSY, "session %u's PAUSE of the stopped process: %s, not EBUSY",
		      i, strerror(-err));
		close(other);
	}
	after = slab_kb();
	printf("sessions %u, slab_kb_before %lld, slab_kb_after %lld\n",
	       SESSIONS, before, after);
	CHECK(after - before < SLAB_SLACK_KB,
	      "%u sessions' PAUSEs grew unreclaimable slab by %lld kB",
	      SESSIONS, after - before);

	/* the thread runs its pending work, and then can be paused */
	CHECK(!kill(t.pid, SIGCONT), "SIGCONT: %s", strerror(errno));
	start = kt_now_ms();
	while ((err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS,
			       NULL)) == -EBUSY) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "still EBUSY %u ms after SIGCONT", KP_RUN_MS);
		usleep(1000);
	}
	CHECK(!err, "PAUSE after SIGCONT: %s", strerror(-err));
	CHECK(!kp_resume(vm, NULL), "RESUME");

	close(vm);
	close(dev);
	kt_target_stop(&t);
	return KH_PASS;
}
