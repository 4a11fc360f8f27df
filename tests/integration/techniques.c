// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole techniques` lists every access technique with its class
 * in the paper's taxonomy (all eight classes present) and its
 * properties and availability, which is true exactly for the techniques
 * this guest must have, as it was started (technique.h: memmap only on a
 * memfd backend, gdbstub with a gdbstub socket, agent with an agent
 * channel, keyhole.ko's never on a host without the module, ...), each
 * unavailable one with a reason that says how to enable it; the default
 * technique is the first available live one; every live technique that
 * reads memory (at least pvreadv, procmem and hmp) gives the same
 * long-lived processes; and a
 * RAM image is itself a VM keyhole can read, with the same processes as
 * the live guest, whether an ELF dump (dump-guest-memory), a migration
 * stream keyhole kept (KEYHOLE_KEEP_SNAPSHOT) or raw RAM (pmemsave).
 */
#include <unistd.h>

#include "technique.h"

static const char *const classes[] = { "I", "II", "III", "IV", "V", "VI",
				       "VII", "VIII" };

static int is_class(const char *c)
{
	size_t i;

	for (i = 0; c && i < sizeof(classes) / sizeof(classes[0]); i++)
		if (!strcmp(c, classes[i]))
			return 1;
	return 0;
}

static struct truth_task *before;	/* the guest's ps before any view */
static int nr_before;

static const struct truth_task *find_task(const struct truth_task *tasks,
					  int nr, int pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

/*
 * Every process the guest had throughout (in its ps before the first view
 * and now, with the same start time) is in every view (a ps document),
 * under one comm. The guest's forks (its churn, httpd's children, init's
 * sleep and pidof) come and go between views, rightly.
 */
static void same_processes(const struct guest *g, json_t **views, int nr,
			   const char *what)
{
	struct truth_task *after;
	int nr_after, i, j, common = 0;

	nr_after = guest_truth_ps(g, &after);
	for (i = 0; i < nr_after; i++) {
		const struct truth_task *a = &after[i];
		const struct truth_task *b = find_task(before, nr_before, a->pid);
		const char *comm = NULL;

		if (a->pid != a->tgid || !b || b->start_ticks != a->start_ticks)
			continue;
		for (j = 0; j < nr; j++) {
			json_t *q = task_by_pid(doc_list(views[j], "ps"),
						a->pid);
			const char *c = json_string_value(json_object_get(q, "comm"));

			CHECK(q && c, "%s: pid %d (%s), alive throughout, missing from a view",
			      what, a->pid, a->comm);
			CHECK(!comm || !strcmp(comm, c),
			      "%s: pid %d is '%s' in one view and '%s' in another",
			      what, a->pid, comm, c);
			comm = c;
		}
		common++;
	}
	free(after);
	CHECK(common > 20, "%s: only %d processes compared", what, common);
}

/* Whether the engine would pick it by default: live, reads memory. */
static int is_default(json_t *t)
{
	return json_is_true(json_object_get(t, "live")) &&
	       !json_is_true(json_object_get(t, "snapshot")) &&
	       !json_is_true(json_object_get(t, "agent"));
}

/* `keyhole ps FILE` and `techniques FILE` of a saved image. */
static json_t *image_view(const char *path, const char *format)
{
	json_t *view, *t, *vm;
	int status;

	view = keyhole_json(&status, "ps %s", path);
	CHECK(status == 0, "ps of the %s image failed", format);
	t = keyhole_json(&status, "techniques %s", path);
	CHECK(status == 0 && json_array_size(doc_list(t, "techniques")) == 1 &&
	      !strcmp(json_string_value(json_object_get(
			json_array_get(doc_list(t, "techniques"), 0),
			"name")), "image"),
	      "a %s image is read by the image technique", format);
	json_decref(t);
	vm = keyhole_json(&status, "vm %s", path);
	CHECK(status == 0 && !strcmp(json_string_value(json_object_get(vm,
			"layout_source")) ?: "", format),
	      "the image is not recognised as %s", format);
	json_decref(vm);
	return view;
}

int main(int argc, char **argv)
{
	json_t *doc, *list, *t, *vm, *views[8];
	int status, nr = 0, memfd, klass_seen[8] = { 0 };
	const char *first = NULL;
	struct guest g;
	size_t i, k;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	memfd = !strcmp(g.ram, "memfd");

	nr_before = guest_truth_ps(&g, &before);
	doc = keyhole_json(&status, "techniques %d", g.pid);
	CHECK(status == 0, "techniques: exit %d", status);
	list = doc_list(doc, "techniques");
	json_array_foreach(list, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *klass = json_string_value(json_object_get(t, "class"));

		CHECK(is_class(klass), "%s has no class I-VIII", name);
		for (k = 0; k < 8; k++)
			klass_seen[k] |= !strcmp(klass, classes[k]);
		CHECK(json_is_boolean(json_object_get(t, "live")) &&
		      json_is_boolean(json_object_get(t, "halting")) &&
		      json_is_boolean(json_object_get(t, "snapshot")) &&
		      json_is_boolean(json_object_get(t, "agent")) &&
		      json_is_boolean(json_object_get(t, "interface")),
		      "%s lacks its properties", name);
		CHECK(json_is_true(json_object_get(t, "live")) !=
		      json_is_true(json_object_get(t, "halting")),
		      "%s must be either live or halting", name);
		if (!json_is_true(json_object_get(t, "available")))
			continue;	/* check_techniques: rightly so */
		if (!is_default(t))
			continue;	/* technique_running reads through it */
		if (!first)
			first = name;
		CHECK(nr < 8, "too many techniques");
		views[nr++] = keyhole_json_whole(&status,
						 "--technique %s ps %d", name,
						 g.pid);
		CHECK(status == 0, "ps through %s failed", name);
	}
	for (k = 0; k < 8; k++)
		CHECK(klass_seen[k], "no technique of class %s", classes[k]);
	check_techniques(&g, list, 1);
	CHECK(nr >= 3 + memfd, "only %d live techniques read the guest", nr);

	vm = keyhole_json(&status, "vm %d", g.pid);
	CHECK(status == 0 && first &&
	      !strcmp(json_string_value(json_object_get(vm, "technique")), first),
	      "default technique is %s, first available live one is %s",
	      json_string_value(json_object_get(vm, "technique")), first);
	same_processes(&g, views, nr, "live techniques");

	/*
	 * Images of the small PVH guest are VMs too (1 GiB each on disk):
	 * an ELF dump, a migration stream keyhole kept, raw RAM.
	 */
	if (!strcmp(g.boot, "pvh")) {
		char path[4200], *out;

		snprintf(path, sizeof(path), "%s/ram.elf", g.rundir);
		out = run_capture(&status,
				  "%s -t 300 --qmp '%s' '{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:%s\"}}'",
				  env_or("TRUTH", "truth"), g.qmp_sock, path);
		CHECK(status == 0, "dump-guest-memory failed: %s", out);
		free(out);
		views[1] = image_view(path, "elf");
		unlink(path);
		same_processes(&g, views, 2, "live and ELF dump");

		snprintf(path, sizeof(path), "%s/ram.mig", g.rundir);
		unlink(path);
		out = run_capture(&status,
				  "KEYHOLE_KEEP_SNAPSHOT='%s' %s -t migrate vm %d",
				  path, env_or("KEYHOLE", "build/bin/keyhole"),
				  g.pid);
		CHECK(status == 0, "keeping a migration stream failed: %s", out);
		free(out);
		views[1] = image_view(path, "migration");
		unlink(path);
		same_processes(&g, views, 2, "live and migration stream");

		snprintf(path, sizeof(path), "%s/ram.raw", g.rundir);
		out = run_capture(&status,
				  "%s -t 300 --qmp '%s' '{\"execute\":\"pmemsave\",\"arguments\":{\"val\":0,\"size\":%llu,\"filename\":\"%s\"}}'",
				  env_or("TRUTH", "truth"), g.qmp_sock,
				  1ull << 30, path);
		CHECK(status == 0, "pmemsave failed: %s", out);
		free(out);
		views[1] = image_view(path, "raw");
		unlink(path);
		same_processes(&g, views, 2, "live and raw image");
	}
	return KH_PASS;
}
