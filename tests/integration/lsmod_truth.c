// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole lsmod` lists exactly the modules of the guest's own
 * /proc/modules (through its truth daemon), in the same order, each with
 * the same size, use count and state, through both access techniques.
 *
 * Modules are long-lived: the guest loads its modules at boot and never
 * unloads them, so any difference is a failure. A module that appears or
 * changes between the snapshots taken before and after keyhole's reads is
 * left out of the comparison all the same, so a guest that does load
 * modules later cannot make the test flaky.
 */
#include "guest.h"

struct truth_module {
	char name[64];
	unsigned long long size;
	int refcount;		/* -1 for "-" (no CONFIG_MODULE_UNLOAD) */
	char state[16];
};

/* Parses /proc/modules: "name size refcount users state address". */
static int truth_modules(const struct guest *g, struct truth_module **modsp)
{
	char *out = guest_truth(g, "modules"), *line, *save = NULL;
	struct truth_module *mods = NULL;
	int nr = 0, cap = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct truth_module m = { 0 };
		char refcount[16], users[1024];

		CHECK(sscanf(line, "%63s %llu %15s %1023s %15s", m.name,
			     &m.size, refcount, users, m.state) == 5,
		      "unexpected /proc/modules line '%s'", line);
		m.refcount = strcmp(refcount, "-") ? atoi(refcount) : -1;
		if (nr == cap) {
			cap = cap ? cap * 2 : 32;
			mods = realloc(mods, sizeof(*mods) * cap);
			CHECK(mods, "out of memory");
		}
		mods[nr++] = m;
	}
	free(out);
	*modsp = mods;
	return nr;
}

static const struct truth_module *find_truth(const struct truth_module *mods,
					     int nr, const char *name)
{
	int i;

	for (i = 0; i < nr; i++)
		if (!strcmp(mods[i].name, name))
			return &mods[i];
	return NULL;
}

static int same(const struct truth_module *a, const struct truth_module *b)
{
	return a && b && a->size == b->size && a->refcount == b->refcount &&
	       !strcmp(a->state, b->state);
}

static void compare(const char *what, json_t *doc,
		    const struct truth_module *before, int nr_before,
		    const struct truth_module *after, int nr_after)
{
	int i, compared = 0;
	size_t k, pos = 0;
	json_t *m;

	CHECK(json_is_array(doc), "%s: not a JSON array", what);
	/* Every stable module, in /proc/modules order. */
	for (i = 0; i < nr_before; i++) {
		const struct truth_module *t = &before[i];
		const char *name;

		if (!same(t, find_truth(after, nr_after, t->name)))
			continue;
		for (; pos < json_array_size(doc); pos++) {
			name = json_string_value(json_object_get(
				json_array_get(doc, pos), "name"));
			if (name && !strcmp(name, t->name))
				break;
		}
		CHECK(pos < json_array_size(doc),
		      "%s: module %s missing or out of /proc/modules order",
		      what, t->name);
		m = json_array_get(doc, pos);
		CHECK((unsigned long long)json_integer_value(
			      json_object_get(m, "size")) == t->size,
		      "%s: %s size %lld, guest says %llu", what, t->name,
		      json_integer_value(json_object_get(m, "size")), t->size);
		CHECK(json_integer_value(json_object_get(m, "refcount")) ==
		      t->refcount, "%s: %s refcount %lld, guest says %d", what,
		      t->name, json_integer_value(json_object_get(m, "refcount")),
		      t->refcount);
		CHECK(!strcmp(json_string_value(json_object_get(m, "state")),
			      t->state), "%s: %s state %s, guest says %s", what,
		      t->name, json_string_value(json_object_get(m, "state")),
		      t->state);
		CHECK(!strncmp(json_string_value(json_object_get(m, "addr")),
			       "0xffff", 6), "%s: %s at %s", what, t->name,
		      json_string_value(json_object_get(m, "addr")));
		compared++;
	}
	/* And nothing the guest does not list (in either snapshot). */
	json_array_foreach(doc, k, m) {
		const char *name = json_string_value(json_object_get(m, "name"));

		CHECK(name && (find_truth(before, nr_before, name) ||
			       find_truth(after, nr_after, name)),
		      "%s: module %s is not in the guest's /proc/modules",
		      what, name ? name : "(null)");
	}
	CHECK(compared >= 2, "%s: only %d stable modules compared", what,
	      compared);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	struct truth_module *before, *after;
	int nr_before, nr_after, i, status;
	json_t *docs[2];
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	nr_before = truth_modules(&g, &before);
	/* The guest's workload loads dummy (for khdummy0) and one more. */
	CHECK(find_truth(before, nr_before, "dummy"),
	      "the guest has no dummy module loaded");
	for (i = 0; i < 2; i++) {
		docs[i] = keyhole_json(&status, "--technique %s lsmod %d",
				       techniques[i], g.pid);
		CHECK(status == 0, "lsmod via %s: exit %d: %s", techniques[i],
		      status, json_dumps(docs[i], 0));
	}
	nr_after = truth_modules(&g, &after);
	for (i = 0; i < 2; i++)
		compare(techniques[i], docs[i], before, nr_before, after,
			nr_after);
	printf("%zu modules matched /proc/modules via %s and %s\n",
	       json_array_size(docs[0]), techniques[0], techniques[1]);
	return KH_PASS;
}
