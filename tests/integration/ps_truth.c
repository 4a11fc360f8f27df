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
#include "guest.h"

struct view {
	json_t *doc;
	const char *what;
};

static const struct truth_task *find_truth(const struct truth_task *tasks,
					   int nr, int pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

static json_t *find_json(json_t *array, int pid)
{
	size_t i;
	json_t *task;

	json_array_foreach(array, i, task)
		if (json_integer_value(json_object_get(task, "pid")) == pid)
			return task;
	return NULL;
}

static int stable(const struct truth_task *t, const struct truth_task *after,
		  int nr_after)
{
	const struct truth_task *a = find_truth(after, nr_after, t->pid);

	return a && a->tgid == t->tgid && a->ppid == t->ppid &&
	       a->uid == t->uid && a->gid == t->gid &&
	       a->start_ticks == t->start_ticks && a->threads == t->threads &&
	       !strcmp(a->comm, t->comm);
}

/*
 * The workload's processes that sleep for good once set up
 * (tests/guest/README.md); init is not one: every 30 s it runs pidof.
 */
static int sleeper(const struct truth_task *t)
{
	static const char *const comms[] = { "kh-tree", "kh-leaf",
					     "kh-files", "kh-listen",
					     "kh-threads", "kh-sockets",
					     "kh-maps" };
	size_t i;

	for (i = 0; i < sizeof(comms) / sizeof(comms[0]); i++)
		if (!strcmp(t->comm, comms[i]))
			return 1;
	return 0;
}

/*
 * task->comm holds 15 characters; the guest's /proc/PID/comm also appends
 * "-WORKQUEUE" to a busy kworker's name.
 */
static int same_comm(const char *keyhole, const char *guest)
{
	size_t n = strlen(keyhole);

	return !strncmp(keyhole, guest, n) &&
	       (!guest[n] || n == 15 || guest[n] == '-');
}

static void compare(const struct view *v, const struct truth_task *t,
		    int threads)
{
	json_t *k = find_json(v->doc, t->pid);
	const char *state;
	double start;

	if (!threads && t->pid != t->tgid)
		return;
	CHECK(k, "%s: task %d (%s) missing", v->what, t->pid, t->comm);
	CHECK(json_integer_value(json_object_get(k, "tgid")) == t->tgid,
	      "%s: task %d tgid %lld, guest says %d", v->what, t->pid,
	      json_integer_value(json_object_get(k, "tgid")), t->tgid);
	CHECK(json_integer_value(json_object_get(k, "ppid")) == t->ppid,
	      "%s: task %d ppid %lld, guest says %d", v->what, t->pid,
	      json_integer_value(json_object_get(k, "ppid")), t->ppid);
	CHECK(json_integer_value(json_object_get(k, "uid")) == t->uid,
	      "%s: task %d uid %lld, guest says %u", v->what, t->pid,
	      json_integer_value(json_object_get(k, "uid")), t->uid);
	CHECK(same_comm(json_string_value(json_object_get(k, "comm")), t->comm),
	      "%s: task %d comm '%s', guest says '%s'", v->what, t->pid,
	      json_string_value(json_object_get(k, "comm")), t->comm);
	CHECK(json_integer_value(json_object_get(k, "gid")) == t->gid,
	      "%s: task %d gid %lld, guest says %u", v->what, t->pid,
	      json_integer_value(json_object_get(k, "gid")), t->gid);
	CHECK(json_integer_value(json_object_get(k, "threads")) == t->threads,
	      "%s: task %d has %lld threads, guest says %d", v->what, t->pid,
	      json_integer_value(json_object_get(k, "threads")), t->threads);
	/*
	 * /proc prints the start time in whole clock ticks, rounded down;
	 * keyhole prints seconds (from ns): the same tick, bar the last bit
	 * of a double.
	 */
	start = json_real_value(json_object_get(k, "start_time")) *
		GUEST_USER_HZ;
	CHECK(json_is_real(json_object_get(k, "start_time")) &&
	      start >= t->start_ticks - 1e-6 && start < t->start_ticks + 1 + 1e-6,
	      "%s: task %d started at %.9f s, guest says tick %llu", v->what,
	      t->pid, start / GUEST_USER_HZ, t->start_ticks);
	state = json_string_value(json_object_get(k, "state"));
	CHECK(state && strlen(state) == 1 && strchr("RSDTtXZPI", *state),
	      "%s: task %d state '%s' is none of Linux's", v->what, t->pid,
	      state ? state : "(null)");
	if (sleeper(t))
		CHECK(*state == t->state,
		      "%s: task %d (%s) state %s, guest says %c", v->what,
		      t->pid, t->comm, state, t->state);
}

static int count_comm(json_t *array, const char *comm)
{
	size_t i;
	json_t *task;
	int n = 0;

	json_array_foreach(array, i, task)
		n += !strcmp(json_string_value(json_object_get(task, "comm")),
			     comm);
	return n;
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	struct truth_task *before, *after;
	struct view views[8];
	int nr_views = 0, nr_before, nr_after, i, j, status, matched = 0;
	int sleepers = 0, distinct_ids = 0;
	char spec[3][4096];
	struct guest g;

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
			v->doc = keyhole_json_whole(&status,
						    "--technique %s ps -T '%s'",
						    techniques[i], spec[j]);
			CHECK(status == 0 && json_is_array(v->doc),
			      "%s: exit %d: %s", what, status,
			      json_dumps(v->doc, 0));
		}
	}
	views[nr_views].what = "ps (processes only)";
	views[nr_views++].doc = keyhole_json_whole(&status, "ps %d", g.pid);
	CHECK(status == 0, "ps without -T: exit %d", status);
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
