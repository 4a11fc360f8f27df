// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU dies while pauses are being taken and released. Two sessions on a
 * 4-vCPU KVM L2, one pausing vCPUs and one all threads, each PAUSE/RESUME
 * in a loop from its own thread, and QEMU is SIGKILLed at a varying
 * moment: QEMU is reaped promptly, every loop ends with ESRCH (or a
 * clean ETIMEDOUT/EALREADY from contention) without hanging, and the
 * sessions close cleanly (the runner checks dmesg). Several rounds.
 *
 * It once froze the whole L1 about one run in four: QEMU 7.2's
 * multi-threaded TCG livelocked on the L1 kernel's code patching when KVM
 * flipped a static key, which the harness now prevents
 * (Documentation/kmod-testing.md, "Why the L1 holds KVM's static keys").
 *
 * The deadlines are for hangs, not for speed: a busy host can hold this
 * emulated L1 back for seconds.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "test_pause.h"

#define ROUNDS 4
#define SMP 4
/* a PAUSE or RESUME that takes longer than this has hung */
#define CALL_MAX_MS 30000
/* QEMU reaped, and the loopers ended, this long after the kill */
#define EXIT_MAX_MS 60000

/* the test proves nothing if no PAUSE ever succeeded before a kill */
static unsigned int total_pauses;

struct looper {
	pthread_t thread;
	pid_t tid;
	const char *volatile op;	/* the call it is in, for a report */
	int vm;
	uint32_t flags;
	unsigned int pauses;
	int last_err;
	uint64_t slowest_ms;
};

static void *loop(void *arg)
{
	struct looper *l = arg;
	uint64_t t;
	int err;

	l->tid = gettid();
	for (;;) {
		t = kt_now_ms();
		l->op = "PAUSE";
		err = kp_pause(l->vm, l->flags, 1000, NULL);
		l->op = "user space";
		if (kt_now_ms() - t > l->slowest_ms)
			l->slowest_ms = kt_now_ms() - t;
		if (err == -ESRCH)
			break;
		/* ETIMEDOUT, EBUSY: the other session holds the threads */
		if (err && err != -ETIMEDOUT && err != -EBUSY) {
			l->last_err = err;
			break;
		}
		if (!err)
			l->pauses++;
		usleep(1000);
		l->op = "RESUME";
		err = kp_resume(l->vm, NULL);
		l->op = "user space";
		if (err == -ESRCH)
			break;
		/* EALREADY: the watchdog or the other session's contention */
		if (err && err != -EALREADY) {
			l->last_err = err;
			break;
		}
		usleep(2000);
	}
	l->op = "done";
	return NULL;
}

/* Prints a file of /proc, for the report of a stuck thread. */
static void show(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		printf("%s:\n%s\n", path, buf);
	}
}

/* Joins a looper, or reports where it is stuck and fails. */
static void join(struct looper *l, unsigned int r, int i)
{
	struct timespec deadline;
	char path[64];

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += EXIT_MAX_MS / 1000;
	if (!pthread_timedjoin_np(l->thread, NULL, &deadline))
		return;
	printf("round %u, looper %d stuck in %s\n", r, i, l->op);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", (int)l->tid);
	show(path);
	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)l->tid);
	show(path);
	CHECK(0, "round %u: looper %d did not end %d s after QEMU died", r, i,
	      EXIT_MAX_MS / 1000);
}

static void round_once(unsigned int r, int dev)
{
	struct kt_l2_opts opts = { .smp = SMP, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM };
	struct looper loopers[2] = {
		{ .flags = 0 }, { .flags = KEYHOLE_PAUSE_ALL_THREADS },
	};
	uint64_t start;
	struct kt_l2 l2;
	int i, status;
	pid_t qemu;

	CHECK(kt_l2_start(&l2, &opts) == 0, "round %u: a KVM L2 must start", r);
	qemu = l2.pid;
	for (i = 0; i < 2; i++) {
		loopers[i].vm = kp_attach(dev, qemu, NULL);
		CHECK(!pthread_create(&loopers[i].thread, NULL, loop,
				      &loopers[i]), "pthread_create");
	}
	/* kill at a different phase each round */
	usleep(100000 + (r % 8) * 137000);
	printf("round %u: killing QEMU %d\n", r, (int)qemu);
	CHECK(!kill(qemu, SIGKILL), "kill QEMU: %s", strerror(errno));
	start = kt_now_ms();
	while (waitpid(qemu, &status, WNOHANG) != qemu) {
		if (kt_now_ms() - start >= EXIT_MAX_MS) {
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/stack", (int)qemu);
			show(path);
			CHECK(0, "round %u: QEMU not reaped %d s after SIGKILL",
			      r, EXIT_MAX_MS / 1000);
		}
		usleep(5000);
	}
	printf("round %u: QEMU reaped after %llu ms\n", r,
	       (unsigned long long)(kt_now_ms() - start));
	l2.pid = 0;
	for (i = 0; i < 2; i++) {
		join(&loopers[i], r, i);
		CHECK(!loopers[i].last_err, "round %u, looper %d: %s", r, i,
		      strerror(-loopers[i].last_err));
		CHECK(loopers[i].slowest_ms < CALL_MAX_MS,
		      "round %u, looper %d: a call took %llu ms", r, i,
		      (unsigned long long)loopers[i].slowest_ms);
		CHECK(!close(loopers[i].vm), "close: %s", strerror(errno));
	}
	printf("round %u: %u + %u pauses before the kill\n", r,
	       loopers[0].pauses, loopers[1].pauses);
	total_pauses += loopers[0].pauses + loopers[1].pauses;
	kt_l2_stop(&l2);
}

int main(void)
{
	const char *env = getenv("KP_RACE_ROUNDS");	/* to hunt a race */
	unsigned int r, rounds = env ? strtoul(env, NULL, 0) : ROUNDS;
	int dev;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	for (r = 0; r < rounds && r < 100; r++)
		round_once(r, dev);
	close(dev);
	CHECK(total_pauses > 0, "no PAUSE succeeded in %u rounds", rounds);
	return KH_PASS;
}
