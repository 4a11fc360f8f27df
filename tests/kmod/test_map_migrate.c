// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mirror follows page migration. A QEMU-like target's RAM, read
 * through keyhole (so the mirror maps its frames), is gathered on NUMA
 * node 0 and then moved to node 1 with move_pages(2): the L1 always has
 * two nodes (tests/kmod/run), so a missing node fails the test. Every page
 * must be reported on node 1 and pagemap must show a new frame for every
 * page (pages the kernel refuses for a moment, EBUSY or EAGAIN, are
 * asked again, a bounded number of times). The old contents must read
 * the same through the mirror, and after the target writes a new stamp,
 * every page must show it: a mirror still mapping the old frame would
 * show the old stamp or whatever reused the frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/mirror.h"
#include "target/pagemap.h"
#include "target/target.h"
#include "target/vmfd.h"

/* <numaif.h> is libnuma's: the syscall's flag, from the kernel ABI */
#define MPOL_MF_MOVE_ALL (1 << 2)

#define RAM_LEN (16ULL << 20)
#define PAGE 4096ULL
#define NR_PAGES (RAM_LEN / PAGE)

static uint64_t before[NR_PAGES], after[NR_PAGES];

static unsigned int moved_pages(void)
{
	unsigned int i, moved = 0;

	for (i = 0; i < NR_PAGES; i++)
		if ((before[i] & KT_PM_PRESENT) && (after[i] & KT_PM_PRESENT) &&
		    (before[i] & KT_PM_PFN) != (after[i] & KT_PM_PFN))
			moved++;
	return moved;
}

/* move_pages(2) of nr pages; status[i] is the node or -errno. */
static int move_pages(pid_t pid, unsigned long nr, void **pages,
		      const int *nodes, int *status)
{
	return syscall(SYS_move_pages, pid, nr, pages, nodes, status,
		       nodes ? MPOL_MF_MOVE_ALL : 0) < 0 ? -errno : 0;
}

/*
 * Every page of the target to node to; pages refused for a moment are
 * asked again. Then the kernel must say each one is there.
 */
static void move_all(struct kt_target *t, int to)
{
	static void *pages[NR_PAGES];
	static int nodes[NR_PAGES], status[NR_PAGES];
	unsigned int i, left, round;
	int ret;

	for (i = 0; i < NR_PAGES; i++) {
		pages[i] = (void *)(uintptr_t)(t->hva + i * PAGE);
		nodes[i] = to;
	}
	for (round = 0; ; round++) {
		ret = move_pages(t->pid, NR_PAGES, pages, nodes, status);
		CHECK(!ret, "move_pages to node %d: %s", to, strerror(-ret));
		for (i = 0, left = 0; i < NR_PAGES; i++) {
			if (status[i] == to)
				continue;
			CHECK(status[i] == -EBUSY || status[i] == -EAGAIN,
			      "page %u of the target: status %d (%s), not node %d",
			      i, status[i], strerror(-status[i]), to);
			left++;
		}
		if (!left)
			break;
		CHECK(round < 20, "%u pages still refused (EBUSY/EAGAIN) after %u tries",
		      left, round + 1);
		usleep(10000);
	}
	/* and the kernel says so when asked again */
	ret = move_pages(t->pid, NR_PAGES, pages, NULL, status);
	CHECK(!ret, "move_pages(query): %s", strerror(-ret));
	for (i = 0; i < NR_PAGES; i++)
		CHECK(status[i] == to, "page %u is on node %d after the move to %d",
		      i, status[i], to);
}

int main(void)
{
	struct kt_target t;
	char how[32];
	const uint8_t *map;
	unsigned int moved;
	long long bad;
	int dev, vmfd, to;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	vmfd = kh_attach(dev, t.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));
	CHECK(kh_set_range(vmfd, 0, t.hva, RAM_LEN) == 0, "range");
	map = kh_map(vmfd, 0, RAM_LEN);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, 1) == 0, "fill");
	CHECK(kt_mirror_diff(map, 0, RAM_LEN, 1, false) < 0, "the first fill");

	/*
	 * First touch put the pages on whichever node the target ran on,
	 * maybe both: gather them on node 0, then move every one to node 1.
	 */
	CHECK(!access("/sys/devices/system/node/node1", F_OK),
	      "the L1 has one NUMA node: tests/kmod/run gives it two");
	move_all(&t, 0);
	CHECK(kt_mirror_diff(map, 0, RAM_LEN, 1, false) < 0,
	      "after gathering on node 0");
	CHECK(kt_pagemap(t.pid, t.hva, before, NR_PAGES) == 0, "pagemap");
	to = 1;
	move_all(&t, to);
	CHECK(kt_pagemap(t.pid, t.hva, after, NR_PAGES) == 0, "pagemap");
	moved = moved_pages();
	CHECK(moved == NR_PAGES, "pagemap shows %u of %llu pages in a new frame",
	      moved, NR_PAGES);
	fprintf(stderr, "moved all %llu pages to node %d\n", NR_PAGES, to);
	snprintf(how, sizeof(how), "the move to node %d", to);

	/* the old contents survive the move... */
	bad = kt_mirror_diff(map, 0, RAM_LEN, 1, false);
	CHECK(bad < 0, "after %s: wrong data at 0x%llx", how, bad);
	/* ...and a write after it is seen: the mirror maps the new frames */
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, 2) == 0, "fill");
	bad = kt_mirror_diff(map, 0, RAM_LEN, 2, false);
	CHECK(bad < 0, "after %s: stale read at 0x%llx", how, bad);

	munmap((void *)map, RAM_LEN);
	close(vmfd);
	kt_target_stop(&t);
	close(dev);
	return KH_PASS;
}
