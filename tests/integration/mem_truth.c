// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole mem` reports the guest's MemTotal exactly and its
 * MemFree, MemAvailable, Buffers, Cached and Shmem as the guest's own
 * /proc/meminfo shows them, through both access techniques; the text
 * output carries the same MemTotal line as the guest's.
 *
 * All but MemTotal move with the guest's workload, so keyhole's reading
 * is bracketed by two of the guest's (its truth daemon's `meminfo`) and
 * must lie between them, widened by TOLERANCE_KB. Both sides read the same
 * global counters, so what remains is what moves between the reads: the
 * per-CPU counter deltas the guest folds in once a second (at most its
 * stat threshold, 125 pages, per CPU and counter: 500 KiB) and the
 * workload's own allocations (forks of small static programs, a few
 * hundred KiB each). 4 MiB covers both several times over on the test
 * guests (1 or 2 CPUs), yet is well under 1% of their RAM, far less than
 * any misread counter or wrong formula would be off by.
 */
#include "guest.h"

#define TOLERANCE_KB 4096

static const struct {
	const char *json;	/* struct kh_mem_info field */
	const char *meminfo;	/* /proc/meminfo label */
} fields[] = {
	{ "total_kb", "MemTotal" },
	{ "free_kb", "MemFree" },
	{ "available_kb", "MemAvailable" },
	{ "buffers_kb", "Buffers" },
	{ "cached_kb", "Cached" },
	{ "shmem_kb", "Shmem" },
};
#define NR_MEM_FIELDS (sizeof(fields) / sizeof(fields[0]))

static void truth_meminfo(const struct guest *g, long long *kb)
{
	char *out = guest_truth(g, "meminfo"), *line, *save = NULL;
	unsigned int i, got = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < NR_MEM_FIELDS; i++) {
			size_t n = strlen(fields[i].meminfo);

			if (!strncmp(line, fields[i].meminfo, n) &&
			    line[n] == ':' &&
			    sscanf(line + n + 1, "%lld", &kb[i]) == 1)
				got |= 1u << i;
		}
	}
	free(out);
	CHECK(got == (1u << NR_MEM_FIELDS) - 1,
	      "truth meminfo lacks fields (found 0x%x)", got);
}

static void compare(json_t *doc, const char *what, const long long *before,
		    const long long *after)
{
	unsigned int i;

	for (i = 0; i < NR_MEM_FIELDS; i++) {
		json_t *v = json_object_get(doc, fields[i].json);
		long long k = json_integer_value(v);
		long long lo = before[i] < after[i] ? before[i] : after[i];
		long long hi = before[i] < after[i] ? after[i] : before[i];

		CHECK(json_is_integer(v), "%s: no integer '%s'", what,
		      fields[i].json);
		if (i == 0) {
			CHECK(k == before[i] && k == after[i],
			      "%s: total %lld kB, guest's MemTotal %lld then %lld",
			      what, k, before[i], after[i]);
			continue;
		}
		CHECK(k >= lo - TOLERANCE_KB && k <= hi + TOLERANCE_KB,
		      "%s: %s %lld kB, guest's %s %lld then %lld", what,
		      fields[i].json, k, fields[i].meminfo, before[i],
		      after[i]);
		printf("%s: %-9s %8lld kB (guest %lld..%lld)\n", what,
		       fields[i].json, k, lo, hi);
	}
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	long long before[NR_MEM_FIELDS], after[NR_MEM_FIELDS];
	char *text, expect[128];
	struct guest g;
	json_t *doc;
	int i, status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	for (i = 0; i < 2; i++) {
		char what[64];

		snprintf(what, sizeof(what), "mem via %s", techniques[i]);
		truth_meminfo(&g, before);
		doc = keyhole_json(&status, "--technique %s mem %d",
				   techniques[i], g.pid);
		truth_meminfo(&g, after);
		CHECK(status == 0 && json_is_object(doc), "%s: exit %d: %s",
		      what, status, json_dumps(doc, 0));
		compare(doc, what, before, after);
		json_decref(doc);
	}

	/* The text output names the VM by -name and matches meminfo's. */
	text = run_capture(&status, "%s mem '%s'",
			   env_or("KEYHOLE", "build/bin/keyhole"), g.name);
	CHECK(status == 0, "keyhole mem %s: exit %d: %s", g.name, status,
	      text);
	snprintf(expect, sizeof(expect), "MemTotal:       %8lld kB\n",
		 before[0]);
	CHECK(strstr(text, expect), "text output lacks '%s': %s", expect,
	      text);
	free(text);
	return KH_PASS;
}
