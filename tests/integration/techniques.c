// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole techniques` lists every access technique with its class
 * in the paper's taxonomy and its availability, which is true exactly when
 * the technique works (memmap only on a memfd backend, with a reason that
 * says how to get one otherwise); the default technique is the first
 * available one; every available technique gives the same long-lived
 * processes; and a RAM dump taken with QMP dump-guest-memory is itself a
 * VM keyhole can read, with the same processes as the live guest.
 */
#include <unistd.h>

#include "guest.h"

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

static json_t *technique(json_t *list, const char *name)
{
	size_t i;
	json_t *t;

	json_array_foreach(list, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			return t;
	CHECK(0, "technique %s not listed", name);
	return NULL;
}

/* Processes (pid -> comm) present in every listing: the long-lived. */
static void same_processes(json_t **lists, int nr, const char *what)
{
	size_t i;
	json_t *p;
	int j, common = 0;

	json_array_foreach(lists[0], i, p) {
		json_int_t pid = json_integer_value(json_object_get(p, "pid"));
		const char *comm = json_string_value(json_object_get(p, "comm"));
		int everywhere = 1;

		if (!strncmp(comm, "kh-churn", 8) || !strcmp(comm, "httpd"))
			continue;	/* the guest's churn */
		for (j = 1; j < nr && everywhere; j++) {
			size_t k;
			json_t *q;

			everywhere = 0;
			json_array_foreach(lists[j], k, q)
				if (json_integer_value(json_object_get(q, "pid")) == pid) {
					CHECK(!strcmp(comm, json_string_value(
						json_object_get(q, "comm"))),
					      "%s: pid %lld is '%s' in one view and '%s' in another",
					      what, (long long)pid, comm,
					      json_string_value(json_object_get(q, "comm")));
					everywhere = 1;
				}
		}
		CHECK(everywhere, "%s: pid %lld (%s) missing from a view", what,
		      (long long)pid, comm);
		common++;
	}
	CHECK(common > 20, "%s: only %d processes compared", what, common);
}

int main(int argc, char **argv)
{
	json_t *list, *t, *vm, *views[4];
	int status, nr = 0, memfd;
	const char *first = NULL;
	struct guest g;
	size_t i;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	memfd = !strcmp(g.ram, "memfd");

	list = keyhole_json(&status, "techniques %d", g.pid);
	CHECK(status == 0 && json_is_array(list), "techniques: exit %d",
	      status);
	json_array_foreach(list, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));

		CHECK(is_class(json_string_value(json_object_get(t, "class"))),
		      "%s has no class I-VIII", name);
		CHECK(json_is_boolean(json_object_get(t, "live")) &&
		      json_is_boolean(json_object_get(t, "halting")) &&
		      json_is_boolean(json_object_get(t, "snapshot")),
		      "%s lacks its properties", name);
		if (!json_is_true(json_object_get(t, "available"))) {
			CHECK(json_string_value(json_object_get(t, "reason")),
			      "unavailable %s gives no reason", name);
			continue;
		}
		if (!first)
			first = name;
		CHECK(nr < 4, "too many techniques");
		views[nr++] = keyhole_json(&status, "--technique %s ps %d",
					   name, g.pid);
		CHECK(status == 0, "ps through %s failed", name);
	}
	t = technique(list, "memmap");
	CHECK(json_is_true(json_object_get(t, "available")) == memfd,
	      "memmap availability %d on a guest with %s RAM",
	      json_is_true(json_object_get(t, "available")), g.ram);
	if (!memfd)
		CHECK(strstr(json_string_value(json_object_get(t, "reason")),
			     "memory-backend-memfd"),
		      "the reason should say how to make memmap work");
	CHECK(json_is_true(json_object_get(technique(list, "pvreadv"),
					   "available")), "pvreadv");

	vm = keyhole_json(&status, "vm %d", g.pid);
	CHECK(status == 0 && first &&
	      !strcmp(json_string_value(json_object_get(vm, "technique")), first),
	      "default technique is %s, first available is %s",
	      json_string_value(json_object_get(vm, "technique")), first);
	same_processes(views, nr, "live techniques");

	/* A dump of the small PVH guest is a VM too (1 GiB on disk). */
	if (!strcmp(g.boot, "pvh")) {
		char dump[4200], *out;

		snprintf(dump, sizeof(dump), "%s/ram.elf", g.rundir);
		out = run_capture(&status,
				  "%s -t 300 --qmp '%s' '{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:%s\"}}'",
				  env_or("TRUTH", "truth"), g.qmp_sock, dump);
		CHECK(status == 0, "dump-guest-memory failed: %s", out);
		free(out);
		views[1] = keyhole_json(&status, "ps %s", dump);
		CHECK(status == 0, "ps of the dump failed");
		t = keyhole_json(&status, "techniques %s", dump);
		CHECK(status == 0 && json_array_size(t) == 1 &&
		      !strcmp(json_string_value(json_object_get(
				json_array_get(t, 0), "name")), "image"),
		      "a dump is read by the image technique");
		unlink(dump);
		same_processes(views, 2, "live and dump");
	}
	return KH_PASS;
}
