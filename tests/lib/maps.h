/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's own /proc/PID/maps (the truth daemon's "maps PID" reply)
 * and its comparison with a map keyhole printed: every column, the device
 * where keyhole's document has one (`keyhole maps` does, a crawl's maps
 * do not). Parsed here, independently of keyhole's code.
 */
#ifndef KH_TEST_MAPS_H
#define KH_TEST_MAPS_H

#include <inttypes.h>

#include "guest.h"

struct maps_line {
	uint64_t start, end, offset, inode;
	char perms[8];
	char dev[24];		/* "MAJOR:MINOR" in decimal, as keyhole's JSON */
	char path[4096];
};

/* Parses /proc/PID/maps text; returns the number of lines. */
static inline int maps_parse(char *text, struct maps_line **linesp)
{
	struct maps_line *lines = NULL;
	char *line, *save = NULL;
	int nr = 0, cap = 0;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct maps_line l = { 0 };
		unsigned int major, minor;
		int off = 0;
		char *path;

		CHECK(sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64
			     " %x:%x %" SCNu64 "%n", &l.start, &l.end, l.perms,
			     &l.offset, &major, &minor, &l.inode, &off) == 7 &&
		      off, "bad maps line from the guest: '%s'", line);
		snprintf(l.dev, sizeof(l.dev), "%u:%u", major, minor);
		for (path = line + off; *path == ' '; path++)
			;
		snprintf(l.path, sizeof(l.path), "%s", path);
		if (nr == cap) {
			cap = cap ? cap * 2 : 64;
			lines = realloc(lines, sizeof(*lines) * cap);
			CHECK(lines, "out of memory");
		}
		lines[nr++] = l;
	}
	*linesp = lines;
	return nr;
}

static inline uint64_t maps_hex_field(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	CHECK(s && !strncmp(s, "0x", 2), "field %s is not a hex string", key);
	return strtoull(s, NULL, 16);
}

/*
 * NULL if keyhole's map (a JSON array of {start, end, perms, offset,
 * inode, path}, as `keyhole maps` and `crawl` print it) equals the
 * guest's, else what differs, in why.
 */
static inline const char *maps_differ(json_t *doc,
				       const struct maps_line *lines, int nr,
				       char *why, size_t size)
{
	size_t i;
	json_t *v;

	if (!json_is_array(doc) || (int)json_array_size(doc) != nr) {
		snprintf(why, size, "%zu entries, guest has %d",
			 json_is_array(doc) ? json_array_size(doc) : 0, nr);
		return why;
	}
	json_array_foreach(doc, i, v) {
		const struct maps_line *l = &lines[i];
		const char *perms, *path, *dev;
		uint64_t offset, inode;

		dev = json_string_value(json_object_get(v, "device"));
		if (dev && strcmp(dev, l->dev)) {
			snprintf(why, size, "line %zu (%" PRIx64 "): device %s, guest %s",
				 i, l->start, dev, l->dev);
			return why;
		}
		perms = json_string_value(json_object_get(v, "perms"));
		path = json_string_value(json_object_get(v, "path"));
		offset = json_integer_value(json_object_get(v, "offset"));
		inode = json_integer_value(json_object_get(v, "inode"));

		if (maps_hex_field(v, "start") != l->start ||
		    maps_hex_field(v, "end") != l->end || !perms || !path ||
		    strcmp(perms, l->perms) || offset != l->offset ||
		    inode != l->inode || strcmp(path, l->path)) {
			snprintf(why, size,
				 "line %zu: keyhole %" PRIx64 "-%" PRIx64
				 " %s %" PRIx64 " %" PRIu64 " '%s', guest %"
				 PRIx64 "-%" PRIx64 " %s %" PRIx64 " %" PRIu64
				 " '%s'", i, maps_hex_field(v, "start"),
				 maps_hex_field(v, "end"), perms ? perms : "?",
				 offset, inode, path ? path : "?", l->start,
				 l->end, l->perms, l->offset, l->inode,
				 l->path);
			return why;
		}
	}
	return NULL;
}

#endif
