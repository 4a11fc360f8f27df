// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: on a running guest, exactly the access techniques this guest
 * must have are available (technique.h), and `keyhole ps` through each of
 * them (agent excepted: it sees /proc, not memory) succeeds, gives
 * the same long-lived processes, and leaves the guest running; snapshot
 * techniques leave no temporary file in KEYHOLE_TMPDIR; --json results
 * say which technique read them; and SIGINT to `keyhole -t pmemsave ps`
 * once its snapshot file is being written kills keyhole (by that signal)
 * only once the guest is running again and no file is left behind.
 */
#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "technique.h"

#define MAX_VIEWS 16

static struct guest g;
static char tmpdir[] = "/var/tmp/kh-test-running.XXXXXX";

static void cleanup(void)
{
	rmdir(tmpdir);
}

static int guest_running(char *status, size_t size)
{
	json_error_t jerr;
	json_t *doc, *ret;
	int st, running;
	char *out = run_capture(&st, "%s -t 10 --qmp '%s' '{\"execute\":\"query-status\"}'",
				env_or("TRUTH", "truth"), g.qmp_sock);

	doc = json_loads(out, 0, &jerr);
	ret = json_object_get(doc, "return");
	CHECK(st == 0 && ret, "query-status: %s", out);
	snprintf(status, size, "%s",
		 json_string_value(json_object_get(ret, "status")));
	running = json_is_true(json_object_get(ret, "running"));
	json_decref(doc);
	free(out);
	return running;
}

/*
 * Copying all of a 3 GiB guest through QEMU's pmemsave, dump or a
 * background snapshot takes 15-60 s under TCG: on guests above 1 GiB
 * those run in make check only on the 1 GiB guests, which cover them.
 */
static int too_big_to_copy(const char *technique)
{
	char mem[32];
	double gib;

	if (strcmp(technique, "pmemsave") && strcmp(technique, "dump") &&
	    strcmp(technique, "bgsnap"))
		return 0;
	guest_option(g.rundir, "mem", mem, sizeof(mem));
	gib = atof(mem) / (strchr(mem, 'M') || strchr(mem, 'm') ? 1024 : 1);
	if (gib <= 1)
		return 0;
	fprintf(stderr, "%s: not run on this %s guest (see too_big_to_copy)\n",
		technique, mem);
	return 1;
}

static void tmpdir_empty(const char *technique)
{
	struct dirent *d;
	DIR *dir = opendir(tmpdir);

	CHECK(dir, "cannot open %s", tmpdir);
	while ((d = readdir(dir)))
		CHECK(d->d_name[0] == '.', "%s left %s/%s behind", technique,
		      tmpdir, d->d_name);
	closedir(dir);
}

static json_t *find_pid(json_t *view, json_int_t pid)
{
	size_t k;
	json_t *q;

	json_array_foreach(view, k, q)
		if (json_integer_value(json_object_get(q, "pid")) == pid)
			return q;
	return NULL;
}

/*
 * A process in the views (ps documents) taken before and after every
 * technique's, with the same start time and name, lived through all of
 * them: every view must show it, with the same name and parent.
 * Snapshots take seconds, so shorter lived processes may rightly be in
 * some views only; and one that exec'd meanwhile (a child of init caught
 * before it exec'd sleep keeps its pid and start time) has another name
 * in later views.
 */
static void same_processes(json_t *before, json_t *after, json_t **views,
			   const char **names, int nr)
{
	json_t *first = doc_list(before, "ps"), *last = doc_list(after, "ps");
	int j, common = 0;
	json_t *p, *q, *v;
	size_t i;

	json_array_foreach(first, i, p) {
		json_int_t pid = json_integer_value(json_object_get(p, "pid"));
		const char *comm = json_string_value(json_object_get(p, "comm"));

		q = find_pid(last, pid);
		if (!q || json_real_value(json_object_get(q, "start_time")) !=
			  json_real_value(json_object_get(p, "start_time")) ||
		    strcmp(comm, json_string_value(json_object_get(q, "comm"))))
			continue;
		for (j = 0; j < nr; j++) {
			v = find_pid(doc_list(views[j], "ps"), pid);
			CHECK(v, "pid %lld (%s), alive throughout, is missing through %s",
			      (long long)pid, comm, names[j]);
			CHECK(!strcmp(comm, json_string_value(json_object_get(v, "comm"))) &&
			      json_integer_value(json_object_get(v, "ppid")) ==
			      json_integer_value(json_object_get(p, "ppid")),
			      "pid %lld is %s through pvreadv, %s through %s",
			      (long long)pid, comm,
			      json_string_value(json_object_get(v, "comm")),
			      names[j]);
		}
		common++;
	}
	CHECK(common > 20, "only %d processes compared", common);
}

/*
 * SIGINT to `keyhole -t pmemsave ps` while its snapshot is under way: as
 * soon as QEMU has the snapshot file open (polled for, not
 * guessed with a fixed sleep). A keyhole that finished before the file
 * was seen is run again, up to three times.
 */
static void interrupt_pmemsave(void)
{
	struct timespec tick = { .tv_nsec = 1000000L };
	char pid[32], status[32], file[256];
	int st, attempt, seen = 0;
	time_t deadline;
	pid_t child;

	snprintf(pid, sizeof(pid), "%d", g.pid);
	for (attempt = 0; attempt < 3 && !seen; attempt++) {
		child = fork();
		CHECK(child >= 0, "fork");
		if (!child) {
			if (!freopen("/dev/null", "w", stdout))
				_exit(127);
			execl(env_or("KEYHOLE", "build/bin/keyhole"), "keyhole",
			      "-t", "pmemsave", "ps", pid, (char *)NULL);
			_exit(127);
		}
		deadline = time(NULL) + 120;
		while (!(seen = qemu_has_file_in(g.pid, tmpdir, file,
						 sizeof(file))) &&
		       waitpid(child, &st, WNOHANG) == 0) {
			if (time(NULL) > deadline) {
				kill(child, SIGKILL);
				waitpid(child, &st, 0);
				CHECK(0, "no snapshot file in %s within 120 s",
				      tmpdir);
			}
			nanosleep(&tick, NULL);
		}
		if (!seen) {
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "keyhole -t pmemsave ps failed: status 0x%x", st);
			continue;	/* done before a look at the file */
		}
		kill(child, SIGINT);
		CHECK(waitpid(child, &st, 0) == child, "waitpid");
	}
	CHECK(seen, "keyhole -t pmemsave was done before its snapshot file was seen, 3 times");
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT,
	      "keyhole did not die of the SIGINT sent while %s was written: status 0x%x",
	      file, st);
	CHECK(guest_running(status, sizeof(status)),
	      "after SIGINT to keyhole -t pmemsave the guest is %s", status);
	tmpdir_empty("an interrupted pmemsave");
	fprintf(stderr, "SIGINT while %s was written (attempt %d): keyhole died of it, guest running, no file left\n",
		file, attempt);
}

int main(int argc, char **argv)
{
	json_t *techniques, *list, *t, *views[MAX_VIEWS], *doc, *before;
	json_t *after;
	const char *names[MAX_VIEWS];
	char status[32];
	int st, nr = 0, attempt;
	size_t i;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	CHECK(mkdtemp(tmpdir), "mkdtemp");
	setenv("KEYHOLE_TMPDIR", tmpdir, 1);
	atexit(cleanup);
	CHECK(guest_running(status, sizeof(status)), "guest is %s", status);

	techniques = keyhole_json(&st, "techniques %d", g.pid);
	CHECK(st == 0, "techniques: exit %d", st);
	list = doc_list(techniques, "techniques");
	/* Those this guest must have work, and only those. */
	check_techniques(&g, list, 1);
	before = keyhole_json(&st, "--technique pvreadv ps %d", g.pid);
	CHECK(st == 0, "ps through pvreadv failed");
	json_array_foreach(list, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		time_t t0 = time(NULL);

		if (json_is_true(json_object_get(t, "agent")))
			continue;
		if (!json_is_true(json_object_get(t, "available")))
			continue;	/* check_techniques: rightly so */
		if (too_big_to_copy(name))
			continue;
		CHECK(nr < MAX_VIEWS, "too many techniques");
		names[nr] = name;
		/*
		 * A live walk of a guest that forks 30 times a second may
		 * find tasks freed under it and say so (exit 3: incomplete)
		 * rather than guess; through a slow live technique (hmp, a
		 * monitor command per read) it does now and then. Such a
		 * walk is taken again, up to three times. A halting or
		 * snapshot technique has the guest still: no second chance.
		 */
		for (attempt = 0;; attempt++) {
			views[nr] = keyhole_json(&st, "--technique %s ps %d",
						 name, g.pid);
			if (st != 3 || attempt == 2 ||
			    !json_is_true(json_object_get(t, "live")) ||
			    json_is_true(json_object_get(t, "snapshot")))
				break;
			fprintf(stderr, "%s: incomplete live walk, again\n",
				name);
			json_decref(views[nr]);
		}
		CHECK(st == 0 && json_is_array(json_object_get(views[nr], "ps")),
		      "ps through %s failed (%d)", name, st);
		CHECK(guest_running(status, sizeof(status)),
		      "ps through %s left the guest %s", name, status);
		tmpdir_empty(name);
		fprintf(stderr, "%s: ok (%lld s)\n", name,
			(long long)(time(NULL) - t0));
		nr++;
	}
	/* pvreadv, procmem, ptrace, hmp at least, on any guest. */
	CHECK(nr >= 4, "only %d techniques worked", nr);
	after = keyhole_json(&st, "--technique pvreadv ps %d", g.pid);
	CHECK(st == 0, "ps through pvreadv failed");
	same_processes(before, after, views, names, nr);

	doc = keyhole_json(&st, "--technique pvreadv info %d", g.pid);
	CHECK(st == 0 && !strcmp(json_string_value(json_object_get(doc,
			"technique")) ?: "", "pvreadv"),
	      "info --json does not say it used pvreadv");
	json_decref(doc);

	if (!too_big_to_copy("pmemsave"))
		interrupt_pmemsave();
	return KH_PASS;
}
