// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole maps PID VM` gives, for kh-maps (private file, shared
 * file and anonymous mappings), init and kh-files, exactly the lines of
 * the guest's own /proc/PID/maps: start, end, perms, offset, inode and
 * path (heap, stack, vdso and vvar included), in the same order; so
 * does kh-threads, whose thread stacks make its maple tree more than a
 * single leaf. The device column is not compared: keyhole does not
 * resolve devices (its text output prints 00:00, its JSON has no such
 * field). A kernel thread has an empty map; an unknown pid is a JSON
 * error.
 *
 * These processes sleep once ready, so their maps do not change; a guest
 * snapshot taken after keyhole's must equal the one before, else the
 * comparison is retried.
 */
#include <inttypes.h>

#include "guest.h"

#define ATTEMPTS 3

struct line {
	uint64_t start, end, offset, inode;
	char perms[8];
	char path[4096];
};

/* Parses /proc/PID/maps text; returns the number of lines. */
static int parse_maps(char *text, struct line **linesp)
{
	struct line *lines = NULL;
	char *line, *save = NULL;
	int nr = 0, cap = 0;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct line l = { 0 };
		int off = 0;
		char *path;

		CHECK(sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64
			     " %*s %" SCNu64 "%n", &l.start, &l.end, l.perms,
			     &l.offset, &l.inode, &off) == 5 && off,
		      "bad maps line from the guest: '%s'", line);
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

static uint64_t hex_field(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	CHECK(s && !strncmp(s, "0x", 2), "field %s is not a hex string", key);
	return strtoull(s, NULL, 16);
}

/* NULL if keyhole's map equals the guest's, else what differs. */
static const char *compare(json_t *doc, const struct line *lines, int nr,
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
		const struct line *l = &lines[i];
		const char *perms, *path;
		uint64_t offset, inode;

		perms = json_string_value(json_object_get(v, "perms"));
		path = json_string_value(json_object_get(v, "path"));
		offset = json_integer_value(json_object_get(v, "offset"));
		inode = json_integer_value(json_object_get(v, "inode"));

		if (hex_field(v, "start") != l->start ||
		    hex_field(v, "end") != l->end || !perms || !path ||
		    strcmp(perms, l->perms) || offset != l->offset ||
		    inode != l->inode || strcmp(path, l->path)) {
			snprintf(why, size,
				 "line %zu: keyhole %" PRIx64 "-%" PRIx64
				 " %s %" PRIx64 " %" PRIu64 " '%s', guest %"
				 PRIx64 "-%" PRIx64 " %s %" PRIx64 " %" PRIu64
				 " '%s'", i, hex_field(v, "start"),
				 hex_field(v, "end"), perms ? perms : "?",
				 offset, inode, path ? path : "?", l->start,
				 l->end, l->perms, l->offset, l->inode,
				 l->path);
			return why;
		}
	}
	return NULL;
}

static void check_process(const struct guest *g, int pid, const char *what,
			  const char *must_have, int min_lines)
{
	char request[64], why[1024];
	const char *diff = "not compared";
	int attempt, status, i, nr = 0, found = !must_have;

	snprintf(request, sizeof(request), "maps %d", pid);
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		char *before = guest_truth(g, request), *after;
		struct line *lines;
		json_t *doc;

		doc = keyhole_json(&status, "maps %d %d", pid, g->pid);
		CHECK(status == 0, "keyhole maps %d: exit %d", pid, status);
		after = guest_truth(g, request);
		if (strcmp(before, after)) {
			free(before);
			free(after);
			json_decref(doc);
			continue;
		}
		nr = parse_maps(before, &lines);
		diff = compare(doc, lines, nr, why, sizeof(why));
		for (i = 0; must_have && i < nr; i++)
			found |= !strcmp(lines[i].path, must_have);
		free(lines);
		free(before);
		free(after);
		json_decref(doc);
		if (!diff)
			break;
	}
	CHECK(!diff, "%s (pid %d): %s", what, pid, diff);
	CHECK(nr >= min_lines, "%s (pid %d): only %d mappings", what, pid,
	      nr);
	CHECK(found, "%s (pid %d): the guest's map has no %s", what, pid,
	      must_have);
	printf("%s (pid %d): %d mappings match\n", what, pid, nr);
}

int main(int argc, char **argv)
{
	struct guest g;
	json_t *doc;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	check_process(&g, guest_pid_of(&g, "kh-maps"), "kh-maps", "/tmp/kh-maps.dat",
		      5);
	check_process(&g, 1, "init", "[stack]", 5);
	check_process(&g, guest_pid_of(&g, "kh-files"), "kh-files", "[vdso]", 5);
	/*
	 * Thread stacks give kh-threads more VMAs than a leaf holds (16):
	 * its tree has internal nodes, the others' is a single leaf.
	 */
	check_process(&g, guest_pid_of(&g, "kh-threads"), "kh-threads", NULL, 17);

	/* kthreadd (pid 2) has no mm: an empty map, as /proc shows it. */
	doc = keyhole_json(&status, "maps 2 %d", g.pid);
	CHECK(status == 0 && json_is_array(doc) && !json_array_size(doc),
	      "kernel thread: exit %d, not an empty array", status);
	json_decref(doc);

	doc = keyhole_json(&status, "maps 4000000 %d", g.pid);
	CHECK(status == 1 && json_is_string(json_object_get(doc, "error")),
	      "unknown pid: exit %d, no JSON error", status);
	json_decref(doc);
	return KH_PASS;
}
