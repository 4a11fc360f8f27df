// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves the agent technique (class I, qemu-ga in the guest): on a guest
 * started without an agent channel (vm.sh --agent) it is unavailable and
 * the reason says how to add one. On one started with it (whose qga.sock
 * must then exist): `keyhole --json ps -t agent` gives the guest's own process
 * list (every long-lived process of the truth daemon's ps with the same
 * comm, parent and uid, and nothing the guest does not have, bar the
 * guest's churn), and the memory-only commands (`lsmod -t agent`, dmesg,
 * kallsyms, envars, creds, bash, elfs, libs, check, kprobes, ftrace,
 * netfilter, mounts, ebpf) fail with a clear reason instead of crashing or
 * printing nothing.
 */
#include "technique.h"

/* Processes that live for a second or less (tests/guest/README.md). */
static int churn(const char *comm)
{
	return !strncmp(comm, "kh-churn", 8) || !strcmp(comm, "httpd") ||
	       !strcmp(comm, "cat") || !strcmp(comm, "ls");
}

static const struct truth_task *find_task(const struct truth_task *tasks,
					  int nr, int pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const memory_only[] = {
		"lsmod", "dmesg", "kallsyms", "envars", "creds", "bash", "elfs", "libs", "check", "kprobes",
		"ftrace", "netfilter",
		"mounts", "ebpf",
	};
	struct truth_task *truth, *before;
	json_t *t, *doc, *view, *p;
	int status, nr, nr_before, i, compared = 0;
	struct guest g;
	char *out;
	size_t k;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	t = technique_entry(&g, "agent", "I");
	/*
	 * How vm.sh started the guest decides which case this is; a socket
	 * file that should be there and is not is a broken guest, not a
	 * guest without the channel.
	 */
	CHECK(rundir_has(&g, "qga.sock") == guest_started_with(&g, "agent"),
	      "the guest was started %s --agent, but %s/qga.sock %s",
	      guest_started_with(&g, "agent") ? "with" : "without", g.rundir,
	      rundir_has(&g, "qga.sock") ? "exists" : "is missing");
	if (!guest_started_with(&g, "agent")) {
		const char *why = json_string_value(json_object_get(t, "reason"));

		CHECK(!json_is_true(json_object_get(t, "available")) && why &&
		      strstr(why, "org.qemu.guest_agent.0"),
		      "without an agent channel the reason must say how to add one: %s",
		      why);
		return KH_PASS;
	}
	CHECK(json_is_true(json_object_get(t, "available")) &&
	      json_is_true(json_object_get(t, "agent")),
	      "agent should be available: %s",
	      json_string_value(json_object_get(t, "reason")));
	json_decref(t);

	/*
	 * The guest's own list before and after the agent's: a process in
	 * both, with the same start time, lived through the agent's walk
	 * and must be in it (init's `sleep 30` and the workload's forks come
	 * and go meanwhile).
	 */
	nr_before = guest_truth_ps(&g, &before);
	doc = keyhole_json(&status, "--technique agent ps %d", g.pid);
	CHECK(status == 0, "ps -t agent failed: exit %d", status);
	view = doc_list(doc, "ps");
	nr = guest_truth_ps(&g, &truth);
	for (i = 0; i < nr; i++) {
		const struct truth_task *b = find_task(before, nr_before,
						       truth[i].pid);

		if (truth[i].pid != truth[i].tgid || truth[i].ppid == 2 ||
		    truth[i].pid == 2)
			continue;	/* threads, kernel threads */
		if (!b || b->start_ticks != truth[i].start_ticks)
			continue;	/* not alive throughout */
		p = task_by_pid(view, truth[i].pid);
		CHECK(p, "pid %d (%s) missing from the agent's view",
		      truth[i].pid, truth[i].comm);
		CHECK(!strcmp(json_string_value(json_object_get(p, "comm")),
			      truth[i].comm) &&
		      json_integer_value(json_object_get(p, "ppid")) ==
		      truth[i].ppid &&
		      json_integer_value(json_object_get(p, "uid")) ==
		      truth[i].uid,
		      "pid %d: agent says %s ppid %lld uid %lld, the guest %s ppid %d uid %u",
		      truth[i].pid,
		      json_string_value(json_object_get(p, "comm")),
		      (long long)json_integer_value(json_object_get(p, "ppid")),
		      (long long)json_integer_value(json_object_get(p, "uid")),
		      truth[i].comm, truth[i].ppid, truth[i].uid);
		compared++;
	}
	CHECK(compared > 8, "only %d processes compared", compared);
	/*
	 * Nothing made up: every process the agent lists is in one of the
	 * guest's lists, or is of the kinds that live too briefly to be
	 * (the agent's own ls and cat among them).
	 */
	json_array_foreach(view, k, p) {
		json_int_t pid = json_integer_value(json_object_get(p, "pid"));
		const char *comm = json_string_value(json_object_get(p, "comm"));

		CHECK(find_task(before, nr_before, pid) ||
		      find_task(truth, nr, pid) || churn(comm) ||
		      !strcmp(comm, "sh"),
		      "the agent lists pid %lld (%s), the guest does not",
		      (long long)pid, comm);
	}
	json_decref(doc);
	free(truth);
	free(before);

	for (k = 0; k < sizeof(memory_only) / sizeof(memory_only[0]); k++) {
		out = run_capture(&status, "%s --technique agent %s %d 2>&1",
				  env_or("KEYHOLE", "build/bin/keyhole"),
				  memory_only[k], g.pid);
		CHECK(status != 0 && status < 128 && strstr(out, "agent"),
		      "%s -t agent should fail saying why: exit %d: %s",
		      memory_only[k], status, out);
		free(out);
	}
	return KH_PASS;
}
