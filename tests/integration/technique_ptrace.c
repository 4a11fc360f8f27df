// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves the ptrace technique (class VI, guest-halting reads): it is listed
 * as class VI and available; on a paused guest it reads the same bytes as
 * procmem and `keyhole ps -t ptrace` lists exactly the tasks procmem does;
 * on a running guest every QEMU thread is seen in ptrace stop while the
 * walk runs, and afterwards the guest runs (its truth daemon answers) and
 * no QEMU thread is left traced (TracerPid 0 in every thread's status);
 * when a debugger already traces a QEMU thread, ps fails saying so and
 * leaves every other thread untraced and the guest running.
 */
#include <signal.h>
#include <sys/ptrace.h>

#include "technique.h"

/* How many of QEMU's threads are in state c, and how many there are. */
static int threads_in_state(int pid, char c, int *total)
{
	char path[128], buf[512], *p;
	struct dirent *de;
	int n = 0;
	DIR *dir;
	FILE *f;

	*total = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	CHECK(dir, "QEMU pid %d is gone", pid);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		if (p) {
			(*total)++;
			n += p[2] == c;
		}
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* Threads whose TracerPid is not 0; prints them. */
static int traced_threads(int pid)
{
	char path[128], line[256];
	struct dirent *de;
	int n = 0, tracer;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	CHECK(dir, "QEMU pid %d is gone", pid);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "TracerPid: %d", &tracer) == 1) {
				if (tracer) {
					fprintf(stderr, "thread %s traced by %d\n",
						de->d_name, tracer);
					n++;
				}
				break;
			}
		fclose(f);
	}
	closedir(dir);
	return n;
}

/*
 * Runs keyhole ps -t ptrace while watching QEMU's threads; returns how
 * many samples saw every thread in ptrace stop at once.
 */
static int stopped_samples(const struct guest *g, int *samples)
{
	int all_stopped = 0, status, total;
	pid_t child;

	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", g->pid);
		freopen("/dev/null", "w", stdout);
		execl(env_or("KEYHOLE", "build/bin/keyhole"), "keyhole",
		      "--technique", "ptrace", "ps", "-T", pid, (char *)NULL);
		_exit(127);
	}
	while (waitpid(child, &status, WNOHANG) == 0) {
		int stopped = threads_in_state(g->pid, 't', &total);

		(*samples)++;
		all_stopped += stopped == total && total > 0;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "keyhole -t ptrace ps -T failed (status 0x%x)", status);
	return all_stopped;
}

/*
 * The walk is a few milliseconds of keyhole's run: a few runs make sure
 * one sample falls inside it.
 */
static void stopped_during_walk(const struct guest *g)
{
	int runs, seen = 0, samples = 0;

	for (runs = 0; runs < 10 && seen < 3; runs++)
		seen += stopped_samples(g, &samples);
	CHECK(seen > 0,
	      "no sample of %d in %d runs saw every QEMU thread in ptrace stop",
	      samples, runs);
	fprintf(stderr, "%d of %d samples in %d runs saw QEMU stopped\n",
		seen, samples, runs);
}

/* A debugger holds one QEMU thread: ptrace must refuse, cleanly. */
static void already_traced(const struct guest *g)
{
	int status, total;
	char *out;

	CHECK(ptrace(PTRACE_SEIZE, g->pid, 0, 0) == 0,
	      "cannot seize QEMU's main thread: %s", strerror(errno));
	out = run_capture(&status, "%s --technique ptrace ps %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status != 0 && status < 128 && strstr(out, "already traced"),
	      "ps with a thread traced elsewhere: exit %d: %s", status, out);
	free(out);
	/* A seized thread must be stopped to be detached. */
	CHECK(ptrace(PTRACE_INTERRUPT, g->pid, 0, 0) == 0 &&
	      waitpid(g->pid, &status, __WALL) == g->pid &&
	      ptrace(PTRACE_DETACH, g->pid, 0, 0) == 0, "detach: %s",
	      strerror(errno));
	CHECK(traced_threads(g->pid) == 0, "threads left traced");
	CHECK(threads_in_state(g->pid, 't', &total) == 0,
	      "threads left stopped");
}

int main(int argc, char **argv)
{
	json_t *t, *ref, *view;
	struct guest g;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	t = technique_entry(&g, "ptrace", "VI");
	CHECK(json_is_true(json_object_get(t, "available")) &&
	      json_is_true(json_object_get(t, "halting")) &&
	      json_is_false(json_object_get(t, "live")),
	      "ptrace should be an available halting technique: %s",
	      json_string_value(json_object_get(t, "reason")));
	json_decref(t);
	CHECK(vm_running(&g), "the guest should be running at the start");

	vm_qmp(&g, "stop");
	same_bytes(&g, "ptrace");
	ref = keyhole_json(&status, "--technique procmem ps %d", g.pid);
	CHECK(status == 0, "ps -t procmem failed");
	view = keyhole_json(&status, "--technique ptrace ps %d", g.pid);
	CHECK(status == 0, "ps -t ptrace failed");
	same_ps(ref, view, "ptrace vs procmem, paused");
	CHECK(!vm_running(&g), "a guest paused by its owner must stay paused");
	vm_qmp(&g, "cont");

	stopped_during_walk(&g);
	CHECK(traced_threads(g.pid) == 0, "QEMU threads left traced");
	CHECK(vm_running(&g), "the guest should run after the walk");
	guest_answers(&g);

	already_traced(&g);
	guest_answers(&g);
	return KH_PASS;
}
