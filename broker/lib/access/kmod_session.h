/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine's side of keyhole.ko (uapi/keyhole.h): a per-VM fd attached
 * to the QEMU process with guest RAM ranges set, and the read-only mirror
 * of guest RAM that the kmap and kpause techniques copy from.
 */
#ifndef KH_KMOD_CLIENT_H
#define KH_KMOD_CLIENT_H

#include <stdint.h>

#include "access/technique.h"

#define KH_KMOD_DEVICE "/dev/keyhole"

/*
 * Opens /dev/keyhole, checks with KEYHOLE_API that the module has every
 * KEYHOLE_FEATURE_* bit in features, attaches to acc's QEMU process by
 * its pidfd and gives the module acc->layout's ranges. Returns the per-VM
 * fd (>= 0), or -errno with err saying what is missing and how to get it.
 */
int kh_kmod_attach(struct kh_access *acc, uint64_t features,
		   struct kh_err *err);

/*
 * The attach step alone, on an open and checked device: the per-VM fd,
 * its session id in *session, or -errno. System calls only, so that a
 * forked child of a threaded process may run it.
 */
int kh_kmod_attach_once(int dev, const struct kh_access *acc,
			uint64_t *session);
/* err for an attach that failed with errno r; returns -r. */
int kh_kmod_attach_failed(const struct kh_access *acc, int r,
			  struct kh_err *err);

/*
 * Who attaches, when not the caller: keyholed attaches with its client's
 * credentials, so that the module checks the client's right to read
 * QEMU's memory, not the daemon's. Same contract as kh_kmod_attach_once().
 */
typedef int (*kh_kmod_attach_t)(void *arg, int dev,
				const struct kh_access *acc,
				uint64_t *session);

/* kh_kmod_attach() with attach (if not NULL) doing the attach step. */
int kh_kmod_attach_by(struct kh_access *acc, uint64_t features,
		      kh_kmod_attach_t attach, void *arg, struct kh_err *err);

/* The mirror of guest RAM (access/kmap.c). */
struct kh_kmap;

/* Attaches and maps every range of acc->layout once. */
int kh_kmap_new(struct kh_access *acc, uint64_t features,
		struct kh_kmap **mapp, struct kh_err *err);
void kh_kmap_free(struct kh_kmap *map);
int kh_kmap_vm_fd(const struct kh_kmap *map);
/*
 * Copies a batch from the mirror; returns how many elements failed, or
 * -ESRCH when QEMU has exited (its mirror then raises SIGBUS, which is
 * caught for the copy and turned into that error).
 */
int kh_kmap_copy(struct kh_access *acc, struct kh_kmap *map,
		 struct kh_read *reads, unsigned int nr);
const void *kh_kmap_at(const struct kh_kmap *map, uint64_t gpa,
		       uint64_t len);

#endif
