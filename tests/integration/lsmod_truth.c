// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole lsmod` lists exactly the modules of the guest's own
 * /proc/modules (through its truth daemon), in the same order, each with
 * the same size, use count, users (the modules that use it, in order:
 * the test guest's virtio modules use one another) and state, through
 * both access techniques;
 * and each module's addr, which keyhole documents as the address of its
 * struct module, is where the guest's kallsyms puts that module's
 * __this_module, inside the module's memory as /proc/modules places it
 * (kh-truth is root and kptr_restrict is 0: real addresses).
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
	char users[1024];	/* "a,b", "" for none */
	unsigned long long base;	/* /proc/modules: its memory */
	unsigned long long addr;	/* __this_module: struct module */
};

/* Parses /proc/modules: "name size refcount users state address". */
static int truth_modules(const struct guest *g, struct truth_module **modsp,
			 int structs)
{
	char *out = guest_truth(g, "modules"), *line, *save = NULL;
	struct truth_module *mods = NULL;
	int nr = 0, cap = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct truth_module m = { 0 };
		char refcount[16], users[1024];

		CHECK(sscanf(line, "%63s %llu %15s %1023s %15s %llx", m.name,
			     &m.size, refcount, users, m.state, &m.base) == 6 &&
		      m.base,
		      "unexpected /proc/modules line '%s'", line);
		m.refcount = strcmp(refcount, "-") ? atoi(refcount) : -1;
		/*
		 * "a,b," or "-": as keyhole joins used_by, "a,b" or "".
		 * "[permanent]," (no exit function) names no module.
		 */
		if (!strncmp(users, "[permanent],", 12))
			memmove(users, users + 12, strlen(users + 12) + 1);
		if (strcmp(users, "-") && users[0])
			snprintf(m.users, sizeof(m.users), "%.*s",
				 (int)strlen(users) -
				 (users[strlen(users) - 1] == ','), users);
		if (nr == cap) {
			cap = cap ? cap * 2 : 32;
			mods = realloc(mods, sizeof(*mods) * cap);
			CHECK(mods, "out of memory");
		}
		mods[nr++] = m;
	}
	free(out);
	if (!structs)
		goto out;
	/* Slow (all of kallsyms, under TCG), and fixed while loaded: once. */
	out = guest_truth(g, "module_structs");
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long addr;
		int i;

		CHECK(sscanf(line, "%63s %llx", name, &addr) == 2,
		      "unexpected module_structs line '%s'", line);
		for (i = 0; i < nr; i++)
			if (!strcmp(mods[i].name, name))
				mods[i].addr = addr;
	}
	free(out);
out:
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
	       !strcmp(a->state, b->state) && a->base == b->base &&
	       !strcmp(a->users, b->users);
}

/* A JSON array of names as "a,b". */
static void joined(const json_t *names, char *buf, size_t size)
{
	const json_t *name;
	size_t i, n = 0;

	buf[0] = '\0';
	CHECK(json_is_array(names), "used_by is not an array");
	json_array_foreach(names, i, name)
		n += snprintf(buf + n, n < size ? size - n : 0, "%s%s",
			      i ? "," : "", json_string_value(name) ?: "?");
}

static void compare(const char *what, json_t *doc,
		    const struct truth_module *before, int nr_before,
		    const struct truth_module *after, int nr_after)
{
	int i, compared = 0, users_seen = 0;
	size_t k, pos = 0;
	char users[1024];
	json_t *mods = doc_list(doc, "lsmod"), *m;

	/* Every stable module, in /proc/modules order. */
	for (i = 0; i < nr_before; i++) {
		const struct truth_module *t = &before[i];
		const char *name, *addr;

		if (!same(t, find_truth(after, nr_after, t->name)))
			continue;
		for (; pos < json_array_size(mods); pos++) {
			name = json_string_value(json_object_get(
				json_array_get(mods, pos), "name"));
			if (name && !strcmp(name, t->name))
				break;
		}
		CHECK(pos < json_array_size(mods),
		      "%s: module %s missing or out of /proc/modules order",
		      what, t->name);
		m = json_array_get(mods, pos);
		CHECK((unsigned long long)json_integer_value(
			      json_object_get(m, "size_bytes")) == t->size,
		      "%s: %s size %lld, guest says %llu", what, t->name,
		      json_integer_value(json_object_get(m, "size_bytes")), t->size);
		CHECK(json_integer_value(json_object_get(m, "refcount")) ==
		      t->refcount, "%s: %s refcount %lld, guest says %d", what,
		      t->name, json_integer_value(json_object_get(m, "refcount")),
		      t->refcount);
		CHECK(!strcmp(json_string_value(json_object_get(m, "state")),
			      t->state), "%s: %s state %s, guest says %s", what,
		      t->name, json_string_value(json_object_get(m, "state")),
		      t->state);
		joined(json_object_get(m, "used_by"), users, sizeof(users));
		CHECK(!strcmp(users, t->users),
		      "%s: %s used by '%s', guest says '%s'", what, t->name,
		      users, t->users);
		users_seen += !!t->users[0];
		addr = json_string_value(json_object_get(m, "addr"));
		CHECK(t->addr >= t->base && t->addr < t->base + t->size,
		      "the guest's %s: __this_module 0x%llx outside its memory 0x%llx+%llu",
		      t->name, t->addr, t->base, t->size);
		CHECK(addr && !strncmp(addr, "0x", 2) &&
		      strtoull(addr, NULL, 16) == t->addr,
		      "%s: %s's struct module at %s, guest says 0x%llx", what,
		      t->name, addr ? addr : "(null)", t->addr);
		compared++;
	}
	/* And nothing the guest does not list (in either snapshot). */
	json_array_foreach(mods, k, m) {
		const char *name = json_string_value(json_object_get(m, "name"));

		CHECK(name && (find_truth(before, nr_before, name) ||
			       find_truth(after, nr_after, name)),
		      "%s: module %s is not in the guest's /proc/modules",
		      what, name ? name : "(null)");
	}
	CHECK(compared >= 2, "%s: only %d stable modules compared", what,
	      compared);
	/* The guest's virtio modules use one another: users were compared. */
	CHECK(users_seen >= 2, "%s: only %d modules with users compared", what,
	      users_seen);
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
	nr_before = truth_modules(&g, &before, 1);
	/* The guest's workload loads dummy (for khdummy0) and one more. */
	CHECK(find_truth(before, nr_before, "dummy"),
	      "the guest has no dummy module loaded");
	for (i = 0; i < 2; i++) {
		docs[i] = keyhole_json(&status, "--technique %s lsmod %d",
				       techniques[i], g.pid);
		CHECK(status == 0, "lsmod via %s: exit %d: %s", techniques[i],
		      status, json_dumps(docs[i], 0));
	}
	nr_after = truth_modules(&g, &after, 0);
	for (i = 0; i < 2; i++)
		compare(techniques[i], docs[i], before, nr_before, after,
			nr_after);
	printf("%zu modules matched /proc/modules via %s and %s\n",
	       json_array_size(doc_list(docs[0], "lsmod")), techniques[0],
	       techniques[1]);
	return KH_PASS;
}
