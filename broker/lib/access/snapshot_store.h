/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest RAM held in this process rather than read from QEMU: a RAM image file
 * given as the VM (access/snapshot_store.c), or a snapshot a copying technique
 * made (classes II and III). Both are a struct kh_snap: GPA ranges, each backed
 * by a private mapping.
 */
#ifndef KH_ACCESS_IMAGE_H
#define KH_ACCESS_IMAGE_H

#include "access/technique.h"

#define KH_SNAP_MAX_MAPS KH_LAYOUT_MAX_RANGES

struct kh_snap_range {
	uint64_t gpa, size;
	uint8_t *ptr;		/* private copy, writable */
	uint64_t offset;	/* in the file, for reports; 0 if none */
};

struct kh_snap {
	unsigned int nr;	/* sorted by gpa, non-overlapping */
	struct kh_snap_range range[KH_LAYOUT_MAX_RANGES];
	unsigned int nr_maps;
	struct {
		void *base;
		size_t len;
	} map[KH_SNAP_MAX_MAPS];
	const char *format;	/* "elf", "raw", "migration" */
};

/*
 * Loads the file open on fd: an ELF core (dump-guest-memory), a QEMU
 * migration stream ("QEVM") or else raw RAM from GPA 0. live is the VM's
 * layout when the file was just made from it (NULL for a file given by a
 * user): a migration stream then places RAM exactly where live has it.
 * name is for messages. On failure nothing stays mapped.
 */
int kh_snap_load(struct kh_snap *snap, int fd, const char *name,
		 const struct kh_layout *live, struct kh_err *err);
/* Maps size bytes of fd from offset 0 as the RAM at gpa. */
int kh_snap_add_file(struct kh_snap *snap, int fd, uint64_t gpa,
		     uint64_t size, const char *name, struct kh_err *err);
/* Adds a range that points into a mapping already held by snap. */
int kh_snap_add_range(struct kh_snap *snap, uint64_t gpa, uint64_t size,
		      uint8_t *ptr, uint64_t offset);
/* Records a mapping for kh_snap_free; -E2BIG when too many. */
int kh_snap_add_map(struct kh_snap *snap, void *base, size_t len);
/* The copy of [gpa, gpa + len), or NULL when not all of it is there. */
uint8_t *kh_snap_ptr(const struct kh_snap *snap, uint64_t gpa, uint64_t len);
/* A technique's read from snap, with the handle's counters. */
int kh_snap_read(struct kh_access *acc, const struct kh_snap *snap,
		 struct kh_read *reads, unsigned int nr);
void kh_snap_free(struct kh_snap *snap);

/*
 * The read, map and probe of every technique that copies guest RAM
 * (acc->priv is its struct kh_snap). kh_snap_probe_space: availability of
 * a copy made through QMP into KEYHOLE_TMPDIR by the QMP command what.
 */
int kh_snap_access_read(struct kh_access *acc, struct kh_read *reads,
			unsigned int nr);
const void *kh_snap_access_map(struct kh_access *acc, uint64_t gpa,
			       uint64_t len);
/*
 * The end of a copying technique's snapshot_take, begun at start (ns) and
 * ending with ret: on success snap becomes acc->priv and its cost is
 * counted; on failure it is freed, and a QEMU that exited meanwhile is
 * called that, during what.
 */
int kh_snap_take_end(struct kh_access *acc, struct kh_snap *snap,
		     uint64_t start, int ret, const char *what,
		     struct kh_err *err);
int kh_snap_probe_space(struct kh_access *acc, const char *what,
			struct kh_err *err);

extern const struct kh_access_ops kh_access_image;

/* Maps path and fills layout and acc (ops, priv) for it. */
int kh_image_open(const char *path, struct kh_layout *layout,
		  struct kh_access *acc, struct kh_err *err);

/* The private copy of [gpa, gpa + len), writable; NULL if not in RAM. */
uint8_t *kh_image_ptr(struct kh_access *acc, uint64_t gpa, uint64_t len);

#endif
