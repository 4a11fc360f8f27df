/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Comparing `keyhole ps` views with the guest's own process list (its
 * truth daemon's "ps"): a task present and unchanged in guest snapshots
 * taken before and after keyhole's walks must appear in every view with
 * the same ids, comm, start time and thread count; the workload's
 * sleepers also in the same state. Shared by the plain-QEMU and the
 * libvirt ps tests.
 */
#ifndef KH_TEST_PS_VIEWS_H
#define KH_TEST_PS_VIEWS_H

#include "guest.h"

struct view {
	json_t *doc;
	const char *what;
};

static inline const struct truth_task *
find_truth(const struct truth_task *tasks, int nr, int pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

static inline int stable(const struct truth_task *t,
			 const struct truth_task *after, int nr_after)
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
static inline int sleeper(const struct truth_task *t)
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
static inline int same_comm(const char *keyhole, const char *guest)
{
	size_t n = strlen(keyhole);
	const char *dash;

	/*
	 * A kworker's "-WORKQUEUE" is the work it ran last, and changes
	 * between two reads of a running guest (the agent's view reads
	 * /proc too, and so has it): the worker is the name before it.
	 */
	if (!strncmp(keyhole, "kworker/", 8) && (dash = strchr(keyhole, '-')))
		n = dash - keyhole;
	return !strncmp(keyhole, guest, n) &&
	       (!guest[n] || n == 15 || guest[n] == '-');
}

static inline void compare(const struct view *v,
			   const struct truth_task *t, int threads)
{
	json_t *k = json_by_pid(v->doc, t->pid);
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

static inline int count_comm(json_t *array, const char *comm)
{
	size_t i;
	json_t *task;
	int n = 0;

	json_array_foreach(array, i, task)
		n += !strcmp(json_string_value(json_object_get(task, "comm")),
			     comm);
	return n;
}

#endif
