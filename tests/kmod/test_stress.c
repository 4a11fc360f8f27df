// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sessions survive each other and the target's death. Four threads
 * attach, set ranges, map, read through the mapping and KEYHOLE_READ,
 * pause and resume (when the module has pause), and detach - in varying
 * order - as fast as they can, while the main thread SIGKILLs the
 * QEMU-like target and starts a new one, for a bounded number of rounds.
 * Every call either works or fails with the errno the ABI gives for a
 * target that is gone (ESRCH; SIGBUS on the mapping; -EIO for a READ
 * entry whose page vanished); every successful read shows the target's
 * current contents. The runner fails the test on any kernel warning, and
 * rmmod after it proves no session leaked. KT_TEST_STRESS_ROUNDS (from
 * the host: tests/kmod/run passes KT_TEST_* on) makes it run longer.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/target.h"
#include "target/vmfd.h"

#define THREADS 4
#define ROUNDS 30
#define ROUND_MS 700
#define RAM_LEN (4ULL << 20)
#define PAGE 4096ULL

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kt_target target;		/* under lock */
static uint64_t generation;		/* under lock: the target's stamp */
static atomic_bool stop;
static atomic_ulong ops, gone, reads;
static int dev;

static __thread sigjmp_buf *bus_jmp;

static void on_sigbus(int sig)
{
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	abort();
}

/* A failure that a target that just died explains. */
static bool gone_errno(int err)
{
	return err == -ESRCH;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(-err));
	exit(KH_FAIL);
}

/* Read a few words through the mapping: the current stamp, or SIGBUS. */
static void touch(const uint8_t *map, uint64_t stamp, unsigned int *seed)
{
	sigjmp_buf jb;
	uint64_t o, v;
	int i;

	bus_jmp = &jb;
	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		atomic_fetch_add(&gone, 1);
		return;
	}
	for (i = 0; i < 16; i++) {
		o = (rand_r(seed) % (RAM_LEN / 8)) * 8;
		v = *(volatile const uint64_t *)(map + o);
		if (v != kt_tgt_word(stamp, o)) {
			fprintf(stderr, "stale or wrong read at 0x%llx: 0x%llx\n",
				(unsigned long long)o, (unsigned long long)v);
			exit(KH_FAIL);
		}
	}
	bus_jmp = NULL;
	atomic_fetch_add(&reads, 1);
}

static void batch_read(int vmfd, uint64_t stamp, unsigned int *seed)
{
	struct keyhole_read_entry e[8];
	struct keyhole_read rd = { .size = sizeof(rd), .entry_size = sizeof(struct keyhole_read_entry), .nr = 8,
				   .entries = (uintptr_t)e };
	uint64_t words[8];
	int i, ret;

	for (i = 0; i < 8; i++)
		e[i] = (struct keyhole_read_entry){
			.gpa = (rand_r(seed) % (RAM_LEN / 8)) * 8,
			.buf = (uintptr_t)&words[i], .len = 8 };
	ret = kh_ioctl(vmfd, KEYHOLE_READ, &rd);
	if (ret) {
		if (!gone_errno(ret))
			fail("READ", ret);
		atomic_fetch_add(&gone, 1);
		return;
	}
	for (i = 0; i < 8; i++) {
		if (e[i].result == -EIO || e[i].result == -ESRCH) {
			atomic_fetch_add(&gone, 1);
			continue;
		}
		if (e[i].result != 8)
			fail("READ entry", e[i].result);
		if (words[i] != kt_tgt_word(stamp, e[i].gpa)) {
			fprintf(stderr, "READ: wrong data at 0x%llx\n",
				(unsigned long long)e[i].gpa);
			exit(KH_FAIL);
		}
	}
}

static void pause_resume(int vmfd)
{
	struct keyhole_pause p = { .size = sizeof(p),
				   .flags = KEYHOLE_PAUSE_ALL_THREADS,
				   .timeout_ms = 1000 };
	struct keyhole_resume r = { .size = sizeof(r) };
	int ret = kh_ioctl(vmfd, KEYHOLE_PAUSE, &p);

	/* not built yet, or the target died or never parked */
	if (ret == -ENOTTY || ret == -ENOENT || ret == -ETIMEDOUT ||
	    ret == -EBUSY || gone_errno(ret))
		return;
	if (ret)
		fail("PAUSE", ret);
	ret = kh_ioctl(vmfd, KEYHOLE_RESUME, &r);
	if (ret && !gone_errno(ret) && ret != -EALREADY)
		fail("RESUME", ret);
}

static void one_session(unsigned int *seed)
{
	const uint8_t *map = MAP_FAILED;
	uint64_t hva, stamp;
	int vmfd, ret;
	bool closed;
	pid_t pid;

	pthread_mutex_lock(&lock);
	pid = target.pid;
	hva = target.hva;
	stamp = generation;
	pthread_mutex_unlock(&lock);
	if (!pid)
		return;

	vmfd = kh_attach(dev, pid);
	if (vmfd < 0) {
		if (!gone_errno(vmfd))
			fail("ATTACH", vmfd);
		atomic_fetch_add(&gone, 1);
		return;
	}
	ret = kh_set_range(vmfd, 0, hva, RAM_LEN);
	if (ret && !gone_errno(ret))
		fail("SET_RANGES", ret);
	if (!ret) {
		map = kh_map(vmfd, 0, RAM_LEN);
		if (map == MAP_FAILED && errno != ESRCH)
			fail("mmap", -errno);
	}
	if (map != MAP_FAILED)
		touch(map, stamp, seed);
	if (!ret)
		batch_read(vmfd, stamp, seed);
	if (rand_r(seed) % 4 == 0)
		pause_resume(vmfd);
	/* half the time the fd goes first and the mapping keeps the file */
	closed = rand_r(seed) % 2;
	if (closed)
		close(vmfd);
	if (map != MAP_FAILED) {
		touch(map, stamp, seed);
		munmap((void *)map, RAM_LEN);
	}
	if (!closed)
		close(vmfd);
	atomic_fetch_add(&ops, 1);
}

static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!atomic_load(&stop))
		one_session(&seed);
	return NULL;
}

static void new_target(void)
{
	struct kt_target t;
	uint64_t stamp = generation + 1;

	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, stamp) == 0, "fill");
	pthread_mutex_lock(&lock);
	target = t;
	generation = stamp;
	pthread_mutex_unlock(&lock);
}

static void kill_target(void)
{
	struct kt_target t;

	/* sessions of the dying target keep running: that is the point */
	pthread_mutex_lock(&lock);
	t = target;
	target.pid = 0;
	pthread_mutex_unlock(&lock);
	kt_target_stop(&t);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	pthread_t threads[THREADS];
	const char *env = getenv("KT_TEST_STRESS_ROUNDS");
	unsigned int i, round, rounds = env ? strtoul(env, NULL, 0) : ROUNDS;
	uint64_t t0;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(sigaction(SIGBUS, &sa, NULL) == 0, "sigaction");
	new_target();
	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, worker,
				     (void *)(uintptr_t)(i + 1)) == 0, "thread");
	for (round = 0; round < rounds; round++) {
		for (t0 = kt_now_ms(); kt_now_ms() - t0 < ROUND_MS;)
			usleep(10000);
		/* kill while sessions are mid-flight, then a new QEMU */
		kill_target();
		usleep(20000);
		new_target();
	}
	atomic_store(&stop, true);
	for (i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	kill_target();
	fprintf(stderr, "%lu sessions, %lu mapped reads, %lu calls met a dead target\n",
		atomic_load(&ops), atomic_load(&reads), atomic_load(&gone));
	CHECK(atomic_load(&ops) >= rounds, "only %lu sessions ran", atomic_load(&ops));
	CHECK(atomic_load(&reads) > 0, "no mapped read succeeded");
	close(dev);
	return KH_PASS;
}
