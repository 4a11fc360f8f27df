/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure text parsers behind ram_layout.c (ram_layout_parse.c), exposed
 * so unit tests can feed them replies recorded from a real QEMU. None does
 * I/O.
 */
#ifndef KH_LAYOUT_PARSE_H
#define KH_LAYOUT_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "qemu/ram_layout.h"

#define KH_MEMDEV_MAX	16
#define KH_REGION_NAME	64

/* A guest RAM piece from `info mtree -f`, before its host address is known. */
struct kh_mtree_ram {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;		/* into the memory region */
	char region[KH_REGION_NAME];
};

/* The "id" of every backend in a query-memdev reply. */
int kh_parse_memdev_ids(const json_t *ret, char ids[][KH_REGION_NAME],
			unsigned int max, unsigned int *nr, struct kh_err *err);

/*
 * The RAM ranges of `info mtree -f` text: the FlatView that serves AS
 * "memory", its "ram" entries whose region is one of names[], merged where
 * they are contiguous in both GPA and region offset. Sorted by gpa.
 */
int kh_parse_mtree_ram(const char *text, const char *const *names,
		       unsigned int nr_names, struct kh_mtree_ram *out,
		       unsigned int max, unsigned int *nr, struct kh_err *err);

/* "Host virtual address for 0x1000 (pc.ram) is 0x7f..." -> hva. region
 * may be NULL; otherwise the reply must name that region. */
int kh_parse_gpa2hva(const char *reply, uint64_t gpa, const char *region,
		     uint64_t *hva, struct kh_err *err);

/*
 * The guest RAM split of a pc (i440fx) or q35 machine as QEMU 7.2 does it:
 * below gets the bytes mapped from GPA 0, above those from 4 GiB.
 * max_below_4g is -machine max-ram-below-4g= (0 when not given).
 */
int kh_ram_split(const char *machine, uint64_t ram_size,
		 uint64_t max_below_4g, uint64_t *below, uint64_t *above,
		 struct kh_err *err);

/*
 * Finds the RAM backend mapping in /proc/PID/maps text: name is the
 * pathname column to look for (a memfd shows as
 * "/memfd:memory-backend-memfd (deleted)"; a deleted file gets
 * " (deleted)" appended, accepted too). VMAs of one file that are
 * contiguous in address and file offset are joined. Fails when no mapping
 * or more than one starts at offset 0 with at least min_size bytes.
 */
int kh_parse_maps_backend(const char *maps, size_t len, const char *name,
			  uint64_t min_size, uint64_t *hva, uint64_t *size,
			  struct kh_err *err);

/* Builds the layout of a backend mapped at hva holding below + above. */
int kh_layout_from_split(uint64_t hva, uint64_t below, uint64_t above,
			 struct kh_layout *layout, struct kh_err *err);

/* What an error about an unknown layout tells the user to do. */
#define KH_LAYOUT_HOW_TO \
	"start QEMU with -qmp unix:PATH,server=on,wait=off, or back its RAM with -object memory-backend-memfd,id=mem,size=SIZE,share=on -machine memory-backend=mem"

/* Appends [gpa, gpa + size) at hva to layout (room is the caller's). */
void kh_layout_add_range(struct kh_layout *layout, uint64_t gpa,
			 uint64_t size, uint64_t hva);

#endif
