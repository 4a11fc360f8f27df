// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "bgsnap" (the paper's class III, live snapshot): a
 * migration with QEMU's background-snapshot capability (QEMU 6.0+). QEMU
 * write-protects guest RAM with userfaultfd and copies each page before
 * the guest first writes it, so the stream is RAM as it was at the start
 * while the guest keeps running; only the device state is saved with the
 * vCPUs stopped. The host kernel must offer userfaultfd write-protection
 * for anonymous or shmem memory, which the probe asks QEMU about.
 *
 * Like migrate, it refuses a guest that is not running: QEMU would leave
 * it in "postmigrate" (see access/migrate.c).
 */
#include "qemu/migration_stream.h"

static int bgsnap_open(struct kh_access *acc, struct kh_err *err)
{
	acc->priv = NULL;
	return kh_migrate_take(acc, 1, err);
}

static int bgsnap_take(struct kh_access *acc, struct kh_err *err)
{
	return kh_migrate_take(acc, 1, err);
}

static int bgsnap_probe(struct kh_access *acc, struct kh_err *err)
{
	return kh_migrate_probe(acc, 1, err);
}

const struct kh_access_ops kh_access_bgsnap = {
	.name = "bgsnap",
	.klass = "III",
	.props = KH_TECHNIQUE_LIVE | KH_TECHNIQUE_SNAPSHOT |
		 KH_TECHNIQUE_INTERFACE,
	.description = "QMP migrate with background-snapshot: a copy-on-write copy of RAM while the guest runs (needs QMP, QEMU 6.0+, userfaultfd-wp)",
	.open = bgsnap_open,
	.read = kh_snap_access_read,
	.close = kh_migrate_release,
	.map = kh_snap_access_map,
	.snapshot_take = bgsnap_take,
	.snapshot_release = kh_migrate_release,
	.probe = bgsnap_probe,
};
