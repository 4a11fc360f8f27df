// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mirror follows page migration. A QEMU-like target's RAM, read
 * through keyhole (so the mirror maps its frames), is migrated: to
 * the other NUMA node with move_pages(2) when the kernel has two, else by
 * memory compaction (/proc/sys/vm/compact_memory), else by offlining a
 * memory block that holds some of its frames, as memory hot-unplug does
 * (then onlining it again) - pagemap shows which frames really moved. The target then writes a new stamp, and every
 * moved page must show it through the mirror: a mirror still mapping the
 * old frame would show the old stamp or whatever reused the frame. SKIP
 * when neither way moved a page.
 */
#include <errno.h>
#include <fcntl.h>
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

/* move_pages(2) from the node the first page is on to the other one */
static int move_to_other_node(struct kt_target *t)
{
	static void *pages[NR_PAGES];
	static int nodes[NR_PAGES], status[NR_PAGES];
	unsigned int i;
	int to;

	if (access("/sys/devices/system/node/node1", F_OK))
		return -ENODEV;
	for (i = 0; i < NR_PAGES; i++)
		pages[i] = (void *)(uintptr_t)(t->hva + i * PAGE);
	/* no nodes: only ask where each page is */
	if (syscall(SYS_move_pages, t->pid, NR_PAGES, pages, NULL, status, 0))
		return -errno;
	to = status[0] == 0 ? 1 : 0;
	for (i = 0; i < NR_PAGES; i++)
		nodes[i] = to;
	if (syscall(SYS_move_pages, t->pid, NR_PAGES, pages, nodes, status,
		    MPOL_MF_MOVE_ALL) < 0)
		return -errno;
	return 0;
}

static int compact(void)
{
	int fd = open("/proc/sys/vm/compact_memory", O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Offline a memory block that holds some of the target's frames, which
 * migrates every movable page out of it, then online it again. Blocks
 * that span two zones or hold unmovable pages refuse: try the next one.
 */
static int offline_block(void)
{
	unsigned long long block = 0, nr, tried[8];
	unsigned int i, j, n = 0;
	char path[128], buf[32] = "";
	int fd, ret = -ENODEV;

	fd = open("/sys/devices/system/memory/block_size_bytes", O_RDONLY);
	if (fd < 0)
		return -errno;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		block = strtoull(buf, NULL, 16);
	close(fd);
	if (!block)
		return -ENODEV;
	for (i = 0; i < NR_PAGES && n < 8; i++) {
		if (!(before[i] & KT_PM_PRESENT))
			continue;
		nr = (before[i] & KT_PM_PFN) * PAGE / block;
		for (j = 0; j < n && tried[j] != nr; j++)
			;
		if (j < n)
			continue;
		tried[n++] = nr;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/memory/memory%llu/state", nr);
		fd = open(path, O_WRONLY);
		if (fd < 0) {
			ret = -errno;
			continue;
		}
		ret = write(fd, "offline", 7) == 7 ? 0 : -errno;
		if (!ret && write(fd, "online", 6) != 6)
			ret = -errno;
		close(fd);
		if (!ret)
			return 0;
	}
	return ret;
}

int main(void)
{
	struct kt_target t;
	const char *how;
	const uint8_t *map;
	unsigned int moved;
	long long bad;
	int dev, vmfd, ret;

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
	CHECK(kt_pagemap(t.pid, t.hva, before, NR_PAGES) == 0, "pagemap");

	ret = move_to_other_node(&t);
	how = "move_pages(2) to the other NUMA node";
	if (ret == -ENODEV) {
		how = "compaction (one NUMA node)";
		ret = compact();
	}
	CHECK(ret == 0, "%s: %s", how, strerror(-ret));
	CHECK(kt_pagemap(t.pid, t.hva, after, NR_PAGES) == 0, "pagemap");
	moved = moved_pages();
	if (!moved && !strncmp(how, "compaction", 10)) {
		how = "offlining a memory block (one NUMA node)";
		ret = offline_block();
		if (ret)
			SKIP("one NUMA node, compaction moved nothing, offlining failed: %s",
			     strerror(-ret));
		CHECK(kt_pagemap(t.pid, t.hva, after, NR_PAGES) == 0, "pagemap");
		moved = moved_pages();
	}
	if (!moved)
		SKIP("%s moved none of the target's %llu pages", how, NR_PAGES);
	fprintf(stderr, "%s moved %u of %llu pages\n", how, moved, NR_PAGES);

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
