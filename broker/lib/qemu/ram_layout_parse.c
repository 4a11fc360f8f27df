// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pure parsers behind ram_layout.c (ram_layout_parse.h): QMP's
 * query-memdev, `info mtree -f` and `gpa2hva` replies, QEMU's pc and q35
 * rules for splitting RAM around 4 GiB, and /proc/PID/maps. They do no
 * I/O, so unit tests feed them replies recorded from a real QEMU
 * (tests/unit/data).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/ram_layout.h"
#include "qemu/ram_layout_parse.h"

#define GiB		(1ull << 30)
#define FOUR_GIB	(4 * GiB)
#define LOW_HOLE_START	0xa0000ull	/* VGA window, ROMs, BIOS */
#define LOW_HOLE_END	0x100000ull
/* QEMU moves above-4G RAM past the AMD HyperTransport hole at 1 TiB. */
#define HT_HOLE_START	0xfd00000000ull

int kh_parse_memdev_ids(const json_t *ret, char ids[][KH_REGION_NAME],
			unsigned int max, unsigned int *nr, struct kh_err *err)
{
	size_t i;

	*nr = 0;
	if (!json_is_array(ret))
		return kh_err_set(err, EPROTO,
				  "QEMU's query-memdev reply is not a list");
	for (i = 0; i < json_array_size(ret); i++) {
		const char *id = json_string_value(
			json_object_get(json_array_get(ret, i), "id"));

		/* Backends without an id (QEMU < 4.0) cannot be matched. */
		if (!id)
			continue;
		if (strlen(id) >= KH_REGION_NAME)
			return kh_err_set(err, ENAMETOOLONG,
					  "QEMU memory backend id '%.32s...' is too long",
					  id);
		if (*nr >= max)
			return kh_err_set(err, E2BIG,
					  "QEMU has more than %u memory backends",
					  max);
		strcpy(ids[(*nr)++], id);
	}
	return 0;
}

static int name_listed(const char *name, const char *const *names,
		       unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

/*
 * Which FlatView entries are guest RAM. The rule: an entry of type "ram"
 * (not "rom", "romd", "i/o" or "ram device") whose memory region is one of
 * the memory backends QEMU lists in query-memdev. Since QEMU 5.0 the
 * machine's RAM is always a backend (named "pc.ram" on x86 when none is
 * given, or the id of -machine memory-backend= or of each -numa memdev),
 * and pc-dimm/virtio-mem RAM is a backend too. Device memory that is also
 * "ram" (vga.vram, option ROM RAM) and firmware (pc.bios, pflash) are
 * regions owned by devices, not backends, so they are left out. An ivshmem
 * BAR, once the guest programs it, does show its backend and is counted:
 * it is memory the guest sees, so reading it is harmless. Only the
 * FlatView that serves AS "memory" counts: the SMM view ("cpu-smm-0") and
 * the I/O port space are not what the guest's normal accesses see.
 */
int kh_parse_mtree_ram(const char *text, const char *const *names,
		       unsigned int nr_names, struct kh_mtree_ram *out,
		       unsigned int max, unsigned int *nr, struct kh_err *err)
{
	int in_view = 0, found = 0;
	const char *line, *eol;

	*nr = 0;
	for (line = text; *line; line = *eol ? eol + 1 : eol) {
		uint64_t start, end, offset = 0;
		char type[16], name[KH_REGION_NAME];
		struct kh_mtree_ram *prev;
		int prio, n = 0;
		const char *rest;

		eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		if (!strncmp(line, "FlatView #", 10)) {
			if (found)
				break;	/* the view of "memory" is done */
			in_view = 1;
			continue;
		}
		if (in_view && !strncmp(line, " AS \"memory\",", 13)) {
			found = 1;
			continue;
		}
		if (!found || strncmp(line, "  ", 2))
			continue;
		if (sscanf(line, " %" SCNx64 "-%" SCNx64 " (prio %d, %15[^)]): "
			   "%63s%n", &start, &end, &prio, type, name, &n) != 5 ||
		    !n)
			continue;
		rest = line + n;
		if (rest < eol && !isspace((unsigned char)*rest))
			continue;	/* a name longer than we keep */
		if (strcmp(type, "ram") || !name_listed(name, names, nr_names))
			continue;
		while (rest < eol && *rest == ' ')
			rest++;
		if (*rest == '@' &&
		    sscanf(rest + 1, "%" SCNx64, &offset) != 1)
			return kh_err_set(err, EPROTO,
					  "cannot parse the region offset in QEMU's 'info mtree -f' line '%.*s'",
					  (int)(eol - line), line);
		if (end < start || end - start == UINT64_MAX)
			return kh_err_set(err, EPROTO,
					  "QEMU's 'info mtree -f' has an impossible range %" PRIx64 "-%" PRIx64,
					  start, end);

		prev = *nr ? &out[*nr - 1] : NULL;
		if (prev && start < prev->gpa + prev->size)
			return kh_err_set(err, EPROTO,
					  "QEMU's 'info mtree -f' ranges overlap or are unsorted at %" PRIx64,
					  start);
		if (prev && !strcmp(prev->region, name) &&
		    prev->gpa + prev->size == start &&
		    prev->offset + prev->size == offset) {
			prev->size += end - start + 1;
			continue;
		}
		if (*nr >= max)
			return kh_err_set(err, E2BIG,
					  "guest RAM is split into more than %u ranges",
					  max);
		out[*nr].gpa = start;
		out[*nr].size = end - start + 1;
		out[*nr].offset = offset;
		strcpy(out[*nr].region, name);
		(*nr)++;
	}
	if (!found)
		return kh_err_set(err, EPROTO,
				  "QEMU's 'info mtree -f' has no FlatView for address space \"memory\"");
	return 0;
}

int kh_parse_gpa2hva(const char *reply, uint64_t gpa, const char *region,
		     uint64_t *hva, struct kh_err *err)
{
	char name[KH_REGION_NAME];
	uint64_t rgpa, rhva;
	int n = 0;

	if (sscanf(reply, "Host virtual address for %" SCNx64 " (%63[^)]) is "
		   "%" SCNx64 "%n", &rgpa, name, &rhva, &n) != 3 || !n) {
		size_t len = strcspn(reply, "\r\n");

		return kh_err_set(err, EPROTO,
				  "QEMU's gpa2hva 0x%" PRIx64 " said '%.*s'",
				  gpa, (int)(len > 200 ? 200 : len), reply);
	}
	if (rgpa != gpa || (region && strcmp(name, region)))
		return kh_err_set(err, EPROTO,
				  "QEMU's gpa2hva 0x%" PRIx64 " answered for 0x%" PRIx64 " in '%s', expected region '%s'",
				  gpa, rgpa, name, region ? region : "?");
	*hva = rhva;
	return 0;
}

int kh_ram_split(const char *machine, uint64_t ram_size,
		 uint64_t max_below_4g, uint64_t *below, uint64_t *above,
		 struct kh_err *err)
{
	uint64_t lowmem;

	if (!ram_size)
		return kh_err_set(err, EINVAL,
				  "the guest RAM size is unknown");
	if (!machine[0] || !strcmp(machine, "pc") ||
	    !strncmp(machine, "pc-i440fx-", 10)) {
		/* hw/i386/pc_piix.c: 3.5 GiB, lowered to 3 GiB to keep
		 * 1 GiB alignment once RAM has to be split at all. */
		int gigabyte_align = strncmp(machine, "pc-i440fx-1.", 12);

		lowmem = max_below_4g ? max_below_4g : 0xe0000000;
		if (ram_size >= lowmem && gigabyte_align &&
		    lowmem > 0xc0000000)
			lowmem = 0xc0000000;
	} else if (!strcmp(machine, "q35") ||
		   !strncmp(machine, "pc-q35-", 7)) {
		/* hw/i386/pc_q35.c: 2 GiB once RAM reaches 2.75 GiB, else
		 * up to 2.75 GiB; max-ram-below-4g can only lower it. */
		lowmem = ram_size >= 0xb0000000 ? 0x80000000 : 0xb0000000;
		if (max_below_4g && lowmem > max_below_4g)
			lowmem = max_below_4g;
	} else {
		return kh_err_set(err, ENOTSUP,
				  "cannot compute the guest RAM layout of machine type '%s' from the command line; %s",
				  machine, KH_LAYOUT_HOW_TO);
	}
	if (ram_size >= lowmem) {
		*below = lowmem;
		*above = ram_size - lowmem;
	} else {
		*below = ram_size;
		*above = 0;
	}
	if (*above > HT_HOLE_START - FOUR_GIB)
		return kh_err_set(err, ENOTSUP,
				  "guests with more than 1000 GiB of RAM may have it moved past the AMD HyperTransport hole; start QEMU with -qmp unix:PATH,server=on,wait=off");
	return 0;
}

int kh_parse_maps_backend(const char *maps, size_t len, const char *name,
			  uint64_t min_size, uint64_t *hva, uint64_t *size,
			  struct kh_err *err)
{
	uint64_t cur_start = 0, cur_end = 0, cur_off = 0;
	unsigned int found = 0;
	int have = 0;
	size_t nlen = strlen(name);
	const char *line = maps, *end = maps + len, *eol;

	for (;;) {
		uint64_t start = 0, stop = 0, off = 0;
		const char *path = NULL;
		int n = 0, match = 0;
		size_t plen = 0;

		eol = NULL;
		if (line < end) {
			eol = memchr(line, '\n', end - line);
			if (!eol)
				eol = end;
		}
		if (eol) {
			char perms[8];

			if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64
				   " %*s %*u %n", &start, &stop, perms, &off,
				   &n) == 4 && n && line + n <= eol) {
				path = line + n;
				plen = eol - path;
			}
			match = path && stop > start &&
				((plen == nlen && !memcmp(path, name, nlen)) ||
				 (plen == nlen + 10 &&
				  !memcmp(path, name, nlen) &&
				  !memcmp(path + nlen, " (deleted)", 10)));
		}
		/* Join VMAs split by mprotect/madvise into one mapping. */
		if (match && have && start == cur_end &&
		    off == cur_off + (cur_end - cur_start)) {
			cur_end = stop;
			continue;
		}
		if (have && cur_off == 0 && cur_end - cur_start >= min_size) {
			if (found++ == 0) {
				*hva = cur_start;
				*size = cur_end - cur_start;
			}
		}
		have = match;
		if (match) {
			cur_start = start;
			cur_end = stop;
			cur_off = off;
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	if (!found)
		return kh_err_set(err, ENOENT,
				  "QEMU has no mapping of '%s' with at least %" PRIu64 " MiB",
				  name, min_size >> 20);
	if (found > 1)
		return kh_err_set(err, ENOTUNIQ,
				  "QEMU maps %u copies of '%s' large enough to be guest RAM; cannot tell which is",
				  found, name);
	return 0;
}

void kh_layout_add_range(struct kh_layout *layout, uint64_t gpa,
			 uint64_t size, uint64_t hva)
{
	struct kh_ram_range *r = &layout->range[layout->nr++];

	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
}

/*
 * The part of low RAM between 640 KiB and 1 MiB is left out: the guest sees
 * the VGA window and option ROM/BIOS shadows there (what QMP shows once a
 * display is configured), and no kernel keeps data in it.
 */
int kh_layout_from_split(uint64_t hva, uint64_t below, uint64_t above,
			 struct kh_layout *layout, struct kh_err *err)
{
	memset(layout, 0, sizeof(*layout));
	layout->source = "maps";
	if (below > FOUR_GIB)
		return kh_err_set(err, EINVAL,
				  "%" PRIu64 " MiB of guest RAM below 4 GiB is impossible",
				  below >> 20);
	kh_layout_add_range(layout, 0, below < LOW_HOLE_START ? below : LOW_HOLE_START,
		  hva);
	if (below > LOW_HOLE_END)
		kh_layout_add_range(layout, LOW_HOLE_END, below - LOW_HOLE_END,
			  hva + LOW_HOLE_END);
	if (above)
		kh_layout_add_range(layout, FOUR_GIB, above, hva + below);
	return 0;
}
