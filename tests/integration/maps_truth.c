// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole maps PID VM` gives, for kh-maps (private file, shared
 * file and anonymous mappings), init and kh-files, exactly the lines of
 * the guest's own /proc/PID/maps: start, end, perms, offset, inode and
 * path (heap, stack, vdso and vvar included), in the same order; so
 * does kh-threads, whose thread stacks make its maple tree more than a
 * single leaf; the device column too (every line's, each a string in
 * the JSON), and the text is the guest's own, byte for byte. A kernel
 * thread has an empty map; an unknown pid is a JSON error. maps --all
 * gives every process with a map once (no kernel thread), the sleepers'
 * maps the guest's, its text each line after its pid.
 *
 * These processes sleep once ready, so their maps do not change; a guest
 * snapshot taken after keyhole's must equal the one before, else the
 * comparison is retried.
 */
#include "maps.h"

#define ATTEMPTS 3

static void check_process(const struct guest *g, int pid, const char *what,
			  const char *must_have, int min_lines)
{
	char request[64], why[1024];
	const char *diff = "not compared";
	int attempt, status, i, nr = 0, found = !must_have;

	snprintf(request, sizeof(request), "maps %d", pid);
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		char *before = guest_truth(g, request), *after, *text;
		struct maps_line *lines;
		json_t *doc, *map;

		doc = keyhole_json(&status, "maps %d %d", pid, g->pid);
		CHECK(status == 0, "keyhole maps %d: exit %d", pid, status);
		map = doc_list(doc, "maps");
		after = guest_truth(g, request);
		if (strcmp(before, after)) {
			free(before);
			free(after);
			json_decref(doc);
			continue;
		}
		nr = maps_parse(before, &lines);
		diff = maps_differ(map, lines, nr, why, sizeof(why));
		for (i = 0; !diff && i < nr; i++)
			if (!json_is_string(json_object_get(
				    json_array_get(map, i), "device")))
				diff = "a line without its device";
		/* The text: the guest's own lines, byte for byte. */
		if (!diff) {
			text = run_capture(&status, "%s maps %d %d",
					   env_or("KEYHOLE", "build/bin/keyhole"),
					   pid, g->pid);
			if (status || strcmp(text, after))
				diff = "the text is not the guest's";
			free(text);
		}
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

/*
 * maps --all: the sleepers' maps are the guest's, each process once, no
 * kernel thread, and the text is each process's lines after its pid.
 */
static void check_all(const struct guest *g)
{
	/* Sleepers: init runs a loop that may change its heap. */
	static const char *const comms[] = { "kh-maps", "kh-files" };
	char request[64], why[1024], prefix[4200], *truth, *text;
	struct maps_line *lines;
	json_t *doc, *all, *proc, *seen_pids = json_object();
	int status, pid, nr;
	const char *diff;
	size_t i, procs;

	doc = keyhole_json_whole(&status, "maps --all %d", g->pid);
	CHECK(status == 0, "maps --all: exit %d", status);
	all = doc_list(doc, "maps");
	procs = json_array_size(all);
	CHECK(procs >= 10, "maps --all: %zu processes", procs);
	json_array_foreach(all, i, proc) {
		snprintf(request, sizeof(request), "%lld",
			 json_integer_value(json_object_get(proc, "pid")));
		CHECK(!json_object_get(seen_pids, request),
		      "maps --all: process %s twice", request);
		json_object_set_new(seen_pids, request, json_true());
		CHECK(strcmp(request, "2"), "maps --all: kthreadd has a map");
	}
	for (i = 0; i < 2; i++) {
		pid = guest_pid_of(g, comms[i]);
		proc = json_by_pid(all, pid);
		CHECK(proc, "maps --all: no %s (%d)", comms[i], pid);
		CHECK(!strcmp(json_string_value(json_object_get(proc, "comm")) ?: "",
			      comms[i]), "maps --all: %d is not %s", pid,
		      comms[i]);
		snprintf(request, sizeof(request), "maps %d", pid);
		truth = guest_truth(g, request);
		nr = maps_parse(truth, &lines);
		diff = maps_differ(json_object_get(proc, "maps"), lines, nr,
				   why, sizeof(why));
		CHECK(!diff, "maps --all: %s: %s", comms[i], diff);
		free(lines);
		free(truth);
	}
	/* The text: kh-maps's first line after its pid. */
	snprintf(request, sizeof(request), "maps --all %d", g->pid);
	text = keyhole_whole(&status, request);
	pid = guest_pid_of(g, "kh-maps");
	snprintf(request, sizeof(request), "maps %d", pid);
	truth = guest_truth(g, request);
	snprintf(prefix, sizeof(prefix), "\n%d %.*s\n", pid,
		 (int)strcspn(truth, "\n"), truth);
	CHECK(status == 0 && strstr(text, prefix),
	      "maps --all: no line '%s' in the text", prefix + 1);
	free(text);
	free(truth);
	json_decref(seen_pids);
	json_decref(doc);
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
	check_all(&g);

	/* kthreadd (pid 2) has no mm: an empty map, as /proc shows it. */
	doc = keyhole_json(&status, "maps 2 %d", g.pid);
	CHECK(status == 0 && !json_array_size(doc_list(doc, "maps")),
	      "kernel thread: exit %d, not an empty map", status);
	json_decref(doc);

	doc = keyhole_json(&status, "maps 4000000 %d", g.pid);
	CHECK(status == 1 && json_is_string(json_object_get(doc, "error")),
	      "unknown pid: exit %d, no JSON error", status);
	json_decref(doc);
	return KH_PASS;
}
