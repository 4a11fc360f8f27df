// SPDX-License-Identifier: GPL-2.0-only
/*
 * A mirror inside the very memory it mirrors cannot hang the kernel.
 *
 * Once, zapping a mirror mapping that lay inside a watched range started
 * a nested invalidation of that range, which waited for the lock the
 * outer one held: the process stayed in D state forever, holding its
 * mmap lock. Two ways in, both tried here under a deadline (alarm):
 * - one session: the QEMU-like target maps its own session's per-VM fd
 *   (taken with pidfd_getfd) inside its own RAM. keyhole.ko refuses that
 *   mmap (EINVAL);
 * - two sessions on two targets, each target mapping the other session's
 *   mirror inside its own watched RAM, at offsets that close the loop:
 *   target 1 dropping a page (MADV_DONTNEED) invalidates session A, whose
 *   zap of its mirror in target 2 invalidates session B there, whose zap
 *   of its mirror in target 1 would invalidate session A again. The
 *   madvise must return, and both mirrors still read what the targets
 *   wrote.
 * And the way out must not be too wide: a munmap() of a mirror together
 * with the RAM after it still invalidates that RAM (SIGBUS, not a stale
 * page).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/mirror.h"
#include "target/target.h"
#include "target/vmfd.h"

#define RAM_LEN	(4ULL << 20)
#define PAGE	4096ULL
#define MIB	(1ULL << 20)
#define DEADLINE_S 60

static const char *step = "start";

static void on_alarm(int sig)
{
	static const char msg[] = "deadlock: no progress within the deadline during ";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0 ||
	    write(2, step, strlen(step)) < 0 || write(2, "\n", 1) < 0)
		_exit(1);
	_exit(1);
}

/* A target whose whole RAM is mirrored by a new session; its per-VM fd. */
static int start(int dev, struct kt_target *t)
{
	int vmfd;

	CHECK(kt_target_start(t, RAM_LEN) == 0, "target");
	CHECK(kt_target_cmd(t, KT_TGT_FILL, 0, RAM_LEN, 1) == 0, "fill");
	vmfd = kh_attach(dev, t->pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, t->hva, RAM_LEN) == 0, "range");
	return vmfd;
}

static void one_session(int dev)
{
	struct kt_target t;
	int vmfd, ret;

	vmfd = start(dev, &t);
	step = "the target mapping its own mirror";
	ret = kt_target_map_fd(&t, vmfd, MIB, PAGE, 0);
	CHECK(ret == -EINVAL,
	      "the target mapped its own session's mirror: %s, not EINVAL",
	      strerror(-ret));
	/* its RAM is intact and still mirrored */
	step = "dropping a page of the target";
	CHECK(kt_target_cmd(&t, KT_TGT_DONTNEED, 0, PAGE, 0) == 0, "madvise");
	close(vmfd);
	kt_target_stop(&t);
}

static void two_sessions(int dev)
{
	struct kt_target t1, t2;
	const uint8_t *map_a, *map_b;
	int a, b, ret;

	a = start(dev, &t1);	/* A mirrors target 1 */
	b = start(dev, &t2);	/* B mirrors target 2 */
	map_a = kh_map(a, 0, RAM_LEN);
	map_b = kh_map(b, 0, RAM_LEN);
	CHECK(map_a != MAP_FAILED && map_b != MAP_FAILED, "mmap: %s",
	      strerror(errno));

	/*
	 * Target 2 maps A's GPA 0 at its own offset 1 MiB (GPA 1 MiB of B);
	 * target 1 maps B's GPA 1 MiB at its own offset 2 MiB (inside A).
	 * Either mmap is another session's mirror: allowed.
	 */
	step = "the targets mapping each other's mirrors";
	ret = kt_target_map_fd(&t2, a, MIB, PAGE, 0);
	CHECK(!ret, "target 2 maps session A's mirror: %s", strerror(-ret));
	ret = kt_target_map_fd(&t1, b, 2 * MIB, PAGE, MIB);
	CHECK(!ret, "target 1 maps session B's mirror: %s", strerror(-ret));

	/* A's page 0 gone in target 1: A zaps, B is told, the loop ends */
	step = "target 1 dropping the page that closes the loop";
	CHECK(kt_target_cmd(&t1, KT_TGT_DONTNEED, 0, PAGE, 0) == 0,
	      "madvise in target 1");
	step = "target 2 dropping a page";
	CHECK(kt_target_cmd(&t2, KT_TGT_DONTNEED, 3 * MIB, PAGE, 0) == 0,
	      "madvise in target 2");

	/* both mirrors still show the targets' RAM (page 0 of 1 now zero) */
	step = "reading the mirrors";
	CHECK(kt_mirror_zero(map_a, 0, PAGE), "A's dropped page is not zero");
	CHECK(kt_mirror_diff(map_a, PAGE, MIB - PAGE, 1, false) < 0,
	      "session A's mirror differs from target 1");
	CHECK(kt_mirror_diff(map_b, 0, MIB, 1, false) < 0,
	      "session B's mirror differs from target 2");
	/* the mirror mapped inside a watched range is no guest RAM of it */
	CHECK(kt_mirror_sigbus((const uint64_t *)(map_b + MIB)),
	      "B's mirror of target 2's mapping of A's mirror");

	munmap((void *)map_a, RAM_LEN);
	munmap((void *)map_b, RAM_LEN);
	close(a);
	close(b);
	kt_target_stop(&t1);
	kt_target_stop(&t2);
}

/*
 * Only an invalidation of nothing but a mirror may be ignored: munmap()
 * of another session's mirror together with the RAM after it is one
 * invalidation whose VMA is the mirror, and the RAM's pages are freed.
 * The session watching that RAM must zap it: its mirror then raises
 * SIGBUS there, never shows the freed page.
 */
static void mirror_and_ram(int dev)
{
	struct kt_target t1, t2;
	struct keyhole_range r;
	const uint8_t *map_a;
	int a, b, ret;

	CHECK(kt_target_start(&t1, RAM_LEN) == 0, "target 1");
	CHECK(kt_target_cmd(&t1, KT_TGT_FILL, 0, RAM_LEN, 1) == 0, "fill");
	a = kh_attach(dev, t1.pid);
	CHECK(a >= 0, "attach: %s", strerror(-a));
	/* A mirrors target 1's RAM from its second page on */
	r = (struct keyhole_range){ .gpa = 0, .hva = t1.hva + PAGE,
				    .len = RAM_LEN - PAGE };
	CHECK(kh_set_ranges(a, &r, 1) == 0, "range");
	b = start(dev, &t2);
	step = "target 1 mapping another session's mirror before its RAM";
	ret = kt_target_map_fd(&t1, b, 0, PAGE, 0);
	CHECK(!ret, "target 1 maps session B's mirror: %s", strerror(-ret));

	map_a = kh_map(a, 0, RAM_LEN - PAGE);
	CHECK(map_a != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(*(volatile const uint64_t *)map_a == kt_tgt_word(1, PAGE),
	      "A's mirror of target 1's second page");
	step = "target 1 unmapping the mirror and a page of RAM in one call";
	CHECK(kt_target_cmd(&t1, KT_TGT_UNMAP, 0, 2 * PAGE, 0) == 0, "munmap");
	CHECK(kt_mirror_sigbus((const uint64_t *)map_a),
	      "A's mirror still maps the page target 1 unmapped");
	CHECK(kt_mirror_diff(map_a - PAGE, 2 * PAGE, PAGE, 1, false) < 0,
	      "A's mirror of the RAM after it");

	munmap((void *)map_a, RAM_LEN - PAGE);
	close(a);
	close(b);
	kt_target_stop(&t1);
	kt_target_stop(&t2);
}

int main(void)
{
	int dev;

	signal(SIGALRM, on_alarm);
	alarm(DEADLINE_S);
	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	one_session(dev);
	two_sessions(dev);
	mirror_and_ram(dev);
	close(dev);
	return KH_PASS;
}
