/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest RAM out of a QEMU migration stream (qemu/migration_stream.c): what the
 * migrate and bgsnap techniques save, and what `keyhole ps FILE` opens.
 */
#ifndef KH_MIGSTREAM_H
#define KH_MIGSTREAM_H

#include "access/snapshot_store.h"

#define KH_MIGSTREAM_MAGIC "QEVM"

/*
 * Reads the stream on fd (from offset 0) into snap: the main RAM block's
 * pages, placed where live says when given, else by the pc/q35 split of
 * the machine type the stream names. Everything after the RAM is ignored.
 */
int kh_migstream_load(struct kh_snap *snap, int fd, const char *name,
		      const struct kh_layout *live, struct kh_err *err);

/*
 * The same from a connection QEMU is migrating into: read to its end (so
 * QEMU can complete), with every byte also written to copy_fd unless it
 * is -1, telling acc's progress (kh_access_progress) every 64 MiB of RAM
 * received. A read that waits KH_MIGSTREAM_IDLE_S seconds (SO_RCVTIMEO
 * set by the caller) fails.
 */
#define KH_MIGSTREAM_IDLE_S 30
int kh_migstream_receive(struct kh_snap *snap, int fd, const char *name,
			 const struct kh_layout *live, int copy_fd,
			 const char *copy_name, const struct kh_access *acc,
			 struct kh_err *err);

/*
 * A snapshot by migration (access/migrate.c), for migrate and bgsnap:
 * background selects QEMU's background-snapshot capability.
 */
int kh_migrate_take(struct kh_access *acc, int background,
		    struct kh_err *err);
void kh_migrate_release(struct kh_access *acc);
int kh_migrate_probe(struct kh_access *acc, int background,
		     struct kh_err *err);

#endif
