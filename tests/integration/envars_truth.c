// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole envars` gives each process's environment as the
 * guest's own /proc/PID/environ has it (through its truth daemon), entry
 * for entry and in order, for every process that lived through the test
 * and kept its environment, and no process that has one is missing;
 * `-p PID` gives that process's alone, and a pid the guest does not have
 * is an error naming it. Through two access techniques.
 *
 * The guest's workload forks and exits all the time (kh-churn): only the
 * processes in the snapshots taken before and after keyhole's reads, with
 * the same environment in both, are compared.
 */
#include "guest.h"

struct truth_env {
	long pid;
	char *entries;		/* "\n"-joined */
};

/* "PID ENTRY" lines, grouped by pid in the order they came. */
static int truth_environs(const struct guest *g, struct truth_env **envp)
{
	char *out = guest_truth(g, "environs"), *line, *save = NULL;
	struct truth_env *env = NULL;
	int nr = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *end, *entry;
		long pid = strtol(line, &end, 10);
		size_t have;

		CHECK(strncmp(line, "error", 5), "the guest's environs: %s",
		      line);
		CHECK(end != line && (!*end || *end == ' '),
		      "unexpected environs line '%s'", line);
		if (!nr || env[nr - 1].pid != pid) {
			env = realloc(env, sizeof(*env) * (nr + 1));
			CHECK(env, "out of memory");
			env[nr].pid = pid;
			env[nr].entries = strdup("");
			nr++;
		}
		if (!*end)
			continue;
		entry = end + 1;
		have = strlen(env[nr - 1].entries);
		env[nr - 1].entries = realloc(env[nr - 1].entries,
					      have + strlen(entry) + 2);
		CHECK(env[nr - 1].entries, "out of memory");
		sprintf(env[nr - 1].entries + have, "%s%s", entry, "\n");
	}
	free(out);
	*envp = env;
	return nr;
}

static const struct truth_env *find_env(const struct truth_env *env, int nr,
					long pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (env[i].pid == pid)
			return &env[i];
	return NULL;
}

/* keyhole's entries of one process, "\n"-joined as the truth's. */
static char *joined(const json_t *proc)
{
	const json_t *vars = json_object_get(proc, "environ"), *v;
	char *s = strdup("");
	size_t i;

	CHECK(json_is_array(vars), "environ is not an array");
	json_array_foreach(vars, i, v) {
		const char *e = json_string_value(v);
		size_t have = strlen(s);

		CHECK(e, "an environ entry is not a string");
		s = realloc(s, have + strlen(e) + 2);
		CHECK(s, "out of memory");
		sprintf(s + have, "%s\n", e);
	}
	return s;
}

static void compare(const char *technique, json_t *doc,
		    const struct truth_env *before, int nr_before,
		    const struct truth_env *after, int nr_after)
{
	json_t *procs = doc_list(doc, "envars"), *proc;
	int i, compared = 0, with_env = 0;
	size_t k;

	json_array_foreach(procs, k, proc) {
		long pid = json_integer_value(json_object_get(proc, "pid"));
		const struct truth_env *b = find_env(before, nr_before, pid);
		const struct truth_env *a = find_env(after, nr_after, pid);
		char *got;

		if (!a || !b || strcmp(a->entries, b->entries))
			continue;
		got = joined(proc);
		CHECK(!strcmp(got, b->entries),
		      "%s: process %ld's environment:\n%s\nthe guest's:\n%s",
		      technique, pid, got, b->entries);
		free(got);
		compared++;
		with_env += !!b->entries[0];
	}
	/* Every process with an environment in both snapshots is there. */
	for (i = 0; i < nr_before; i++) {
		const struct truth_env *a = find_env(after, nr_after,
						     before[i].pid);
		int found = 0;

		/* Kernel threads read as empty, and keyhole leaves them out. */
		if (!a || strcmp(a->entries, before[i].entries) ||
		    !before[i].entries[0])
			continue;
		json_array_foreach(procs, k, proc)
			found |= json_integer_value(json_object_get(proc, "pid")) ==
				 before[i].pid;
		CHECK(found, "%s: process %ld (with an environment) is missing",
		      technique, before[i].pid);
	}
	CHECK(with_env >= 5, "%s: only %d processes with an environment compared (%d in all)",
	      technique, with_env, compared);
	printf("%s: %d environments matched /proc/PID/environ (%d not empty)\n",
	       technique, compared, with_env);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	struct truth_env *before, *after;
	int nr_before, nr_after, i, status;
	json_t *docs[2];
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	nr_before = truth_environs(&g, &before);
	for (i = 0; i < 2; i++) {
		docs[i] = keyhole_json_whole(&status,
					     "--technique %s envars %d",
					     techniques[i], g.pid);
		CHECK(status == 0, "envars via %s: exit %d: %s",
		      techniques[i], status, json_dumps(docs[i], 0));
	}
	nr_after = truth_environs(&g, &after);
	for (i = 0; i < 2; i++)
		compare(techniques[i], docs[i], before, nr_before, after,
			nr_after);

	/* One process: init's, and nothing else. */
	check_pid_filter(&g, "envars");
	return KH_PASS;
}
