// SPDX-License-Identifier: GPL-2.0-only
/*
 * Secret memory (memfd_secret) of the target is never readable through
 * keyhole, as get_user_pages() refuses it: SET_RANGES over it is ENXIO;
 * when it replaces RAM a range already covers, the mirror raises SIGBUS
 * there and KEYHOLE_READ fails with EIO, while the rest of the range still
 * reads what the target wrote. The L1 boots with secretmem.enable=1
 * (tests/kmod/run), so memfd_secret() failing fails the test.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/mirror.h"
#include "target/target.h"
#include "target/vmfd.h"

#define MIB	(1ULL << 20)
#define RAM_LEN	(4 * MIB)

int main(void)
{
	struct kt_target t;
	const uint8_t *map;
	uint8_t buf[64];
	int dev, vmfd, ret;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	CHECK(kt_target_cmd(&t, KT_TGT_FILL, 0, RAM_LEN, 3) == 0, "fill");
	ret = kt_target_cmd(&t, KT_TGT_SECRET, MIB, MIB, 0);
	CHECK(!ret, "memfd_secret in the target: %s (the L1 has secretmem.enable=1)",
	      strerror(-ret));
	vmfd = kh_attach(dev, t.pid);
	CHECK(vmfd >= 0, "attach: %s", strerror(-vmfd));

	ret = kh_set_range(vmfd, 0, t.hva, RAM_LEN);
	CHECK(ret == -ENXIO, "a range over secret memory: %s, not ENXIO",
	      strerror(-ret));
	ret = kh_set_range(vmfd, MIB, t.hva + MIB, MIB);
	CHECK(ret == -ENXIO, "a range of secret memory only: %s, not ENXIO",
	      strerror(-ret));

	/* a range over RAM, whose second MiB then turns secret */
	CHECK(kh_set_range(vmfd, 0, t.hva + 2 * MIB, 2 * MIB) == 0, "range");
	map = kh_map(vmfd, 0, 2 * MIB);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	/* map + o is the target's RAM at 2 MiB + o */
	CHECK(kt_mirror_diff(map - 2 * MIB, 2 * MIB, 2 * MIB, 3, false) < 0,
	      "the mirror of the range before the change");
	ret = kt_target_cmd(&t, KT_TGT_SECRET, 3 * MIB, MIB, 0);
	CHECK(!ret, "memfd_secret over mirrored RAM: %s", strerror(-ret));
	CHECK(kt_mirror_sigbus((const uint64_t *)(map + MIB)),
	      "the mirror of secret memory");
	CHECK(kt_mirror_sigbus((const uint64_t *)(map + 2 * MIB - 8)),
	      "the end of the mirror of secret memory");
	ret = kh_read1(vmfd, MIB, buf, sizeof(buf));
	CHECK(ret == -EIO, "KEYHOLE_READ of secret memory: %d, not -EIO", ret);
	/* the RAM before it is still there, as the target wrote it */
	CHECK(kh_read1(vmfd, 0, buf, sizeof(buf)) == sizeof(buf),
	      "KEYHOLE_READ of RAM");
	CHECK(kt_mirror_diff(map - 2 * MIB, 2 * MIB, MIB, 3, false) < 0,
	      "the mirror of the RAM before the secret memory");

	munmap((void *)map, 2 * MIB);
	close(vmfd);
	kt_target_stop(&t);
	close(dev);
	return KH_PASS;
}
