// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: every long-lived task the guest reports about itself (through its
 * truth daemon, from its own /proc) appears in `keyhole ps` with the same
 * pid, tgid, ppid, uid, gid, comm, start time (to the clock tick /proc
 * rounds it to) and thread count, through every access technique and
 * every way of naming the VM (pid, QMP socket, -name); with -T every
 * thread appears, without it exactly one entry per process. The state is
 * one of the letters Linux uses for every task, and exactly the guest's
 * ('S') for the workload's processes that only ever sleep.
 *
 * "Long-lived" means present, unchanged, in guest snapshots taken before
 * and after keyhole's walks: the fork churn in the guest may differ.
 * Which state a task that wakes up is in depends on the instant it is
 * read, so only the sleepers' state is compared with the guest's.
 */
#include "ps_views.h"

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	struct truth_task *before, *after;
	struct view views[8];
	int nr_views = 0, nr_before, nr_after, i, j, status, matched = 0;
	int sleepers = 0, distinct_ids = 0;
	char spec[3][4096];
	struct guest g;
	json_t *doc;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	snprintf(spec[0], sizeof(spec[0]), "%d", g.pid);
	snprintf(spec[1], sizeof(spec[1]), "%s", g.qmp_sock);
	snprintf(spec[2], sizeof(spec[2]), "%s", g.name);

	nr_before = guest_truth_ps(&g, &before);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 3; j++) {
			struct view *v = &views[nr_views++];
			char *what = malloc(4200);

			snprintf(what, 4200, "ps -T %s via %s", spec[j],
				 techniques[i]);
			v->what = what;
			/* Its list, of a document kept to the end. */
			doc = keyhole_json_whole(&status,
						 "--technique %s ps -T '%s'",
						 techniques[i], spec[j]);
			CHECK(status == 0, "%s: exit %d: %s", what, status,
			      json_dumps(doc, 0));
			v->doc = doc_list(doc, "ps");
		}
	}
	views[nr_views].what = "ps (processes only)";
	doc = keyhole_json_whole(&status, "ps %d", g.pid);
	CHECK(status == 0, "ps without -T: exit %d", status);
	views[nr_views++].doc = doc_list(doc, "ps");
	nr_after = guest_truth_ps(&g, &after);

	for (i = 0; i < nr_before; i++) {
		if (!stable(&before[i], after, nr_after))
			continue;
		distinct_ids |= before[i].uid != before[i].gid;
		if (sleeper(&before[i])) {
			CHECK(before[i].state == 'S' &&
			      find_truth(after, nr_after, before[i].pid)->state == 'S',
			      "the guest's %s (%d) does not sleep: %c",
			      before[i].comm, before[i].pid, before[i].state);
			sleepers++;
		}
		matched++;
		for (j = 0; j < nr_views; j++)
			compare(&views[j], &before[i], j < nr_views - 1);
	}
	CHECK(matched > 20, "only %d stable tasks to compare", matched);
	/* kh-files: or a uid taken for the gid would pass. */
	CHECK(distinct_ids, "no stable task whose uid and gid differ");
	/* kh-tree, 3 kh-leaf, kh-files, kh-listen, 8 kh-threads, ... */
	CHECK(sleepers >= 16, "only %d sleepers compared", sleepers);

	/* Known shapes of the guest's workload. */
	CHECK(count_comm(views[0].doc, "kh-threads") == 8,
	      "kh-threads has %d threads, expected 8",
	      count_comm(views[0].doc, "kh-threads"));
	CHECK(count_comm(views[nr_views - 1].doc, "kh-threads") == 1,
	      "ps without -T lists kh-threads %d times",
	      count_comm(views[nr_views - 1].doc, "kh-threads"));
	CHECK(count_comm(views[0].doc, "kh-leaf") == 3, "expected 3 kh-leaf");
	{
		size_t k;
		json_t *task;

		json_array_foreach(views[nr_views - 1].doc, k, task)
			CHECK(json_integer_value(json_object_get(task, "pid")) ==
			      json_integer_value(json_object_get(task, "tgid")),
			      "ps without -T lists a thread");
	}
	printf("%d stable tasks matched in %d views\n", matched, nr_views);
	return KH_PASS;
}
