// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole crawl` prints one whole JSON document per iteration
 * (every part of the generic state, its cost and its consistency
 * counters), and what it says of each long-lived process (argv, resident
 * pages, memory map and open files) is what the guest's own /proc says,
 * through memmap and through pvreadv and procmem (a system call per read,
 * so through the crawl's page cache); with --pause
 * the guest is halted throughout, so the extrinsic counters (II.A, II.B)
 * stay zero over many crawls, and the guest is running again afterwards;
 * a guest its owner paused is crawled the same way and stays paused; and
 * SIGINT while crawling with pauses, sent once QMP has seen the guest
 * paused by the crawl, kills keyhole by that signal and leaves the guest
 * running.
 *
 * The run state is watched through the guest's second QMP monitor
 * (qmp-watch.sock): keyhole holds the first one while the guest is paused.
 */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "maps.h"

#define ATTEMPTS 3

static const char *const parts[] = { "info", "mem", "ps", "lsmod",
				     "ifconfig", "lsof", "ss", "proc" };

/*
 * Processes of the guest's workload that sleep once set up, so their
 * argv, map and resident pages hold still (tests/guest/README.md).
 */
static const char *const quiet[] = { "init", "kh-tree", "kh-leaf",
				     "kh-files", "kh-listen", "kh-threads",
				     "kh-sockets", "kh-maps" };

static struct guest guest;
static pid_t crawler;		/* a crawl still running */
static int owner_stopped;	/* the test paused the guest as its owner */

/* A failed CHECK must not leave a crawl pausing the guest, or it paused. */
static void cleanup(void)
{
	int status;

	if (crawler > 0) {
		kill(crawler, SIGINT);
		waitpid(crawler, &status, 0);
	}
	if (owner_stopped)
		free(run_capture(&status, "%s --qmp '%s' '{\"execute\":\"cont\"}'",
				 env_or("TRUTH", "truth"), guest.qmp_sock));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void qmp(const struct guest *g, const char *cmd)
{
	int status;
	char *out = run_capture(&status, "%s --qmp '%s' '{\"execute\":\"%s\"}'",
				env_or("TRUTH", "truth"), g->qmp_sock, cmd);

	CHECK(status == 0, "QMP %s failed: %s", cmd, out);
	free(out);
}

/*
 * Runs a crawl through technique (NULL: the default); returns its
 * documents, one per line, each keeping the rule of keyhole's documents
 * (keyhole_doc_rule()) but that a crawl exits 0 and says in the record
 * whether it is incomplete.
 */
static json_t *crawl_by(const char *technique, const char *args, int pid,
			int want)
{
	char *out, *line, *save = NULL;
	json_t *docs = json_array();
	int status;

	out = run_capture(&status, "%s %s%s crawl %s %d",
			  env_or("KEYHOLE", "keyhole"),
			  technique ? "--technique " : "",
			  technique ? technique : "", args, pid);
	CHECK(status == 0, "keyhole crawl %s: exit %d: %s", args, status, out);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);

		CHECK(doc, "crawl printed a line that is not JSON: %.200s", line);
		keyhole_doc_rule(doc, json_is_true(json_object_get(
					 doc, "incomplete")) ? 3 : 0, "crawl");
		json_array_append_new(docs, doc);
	}
	free(out);
	CHECK((int)json_array_size(docs) == want, "%zu documents, want %d",
	      json_array_size(docs), want);
	return docs;
}

static json_t *crawl(const char *args, int pid, int want)
{
	return crawl_by(NULL, args, pid, want);
}

static long long counter(json_t *doc, const char *name)
{
	return json_integer_value(json_object_get(
		json_object_get(doc, "consistency"), name));
}

/*
 * Every document of a halted crawl (--summary): paused, whole (every part
 * counted, the guest's workload in it), nothing changed.
 */
static void halted_docs(json_t *docs, const char *what)
{
	static const char *const counts[] = { "ps", "lsmod", "ifconfig",
					      "lsof", "ss", "proc" };
	json_t *doc, *n;
	size_t i, p;

	json_array_foreach(docs, i, doc) {
		CHECK(json_is_true(json_object_get(doc, "paused")),
		      "%s: document %zu not marked paused", what, i);
		n = json_object_get(doc, "counts");
		for (p = 0; p < sizeof(counts) / sizeof(counts[0]); p++)
			CHECK(json_integer_value(json_object_get(n, counts[p])) > 1,
			      "%s: %s counted %lld", what, counts[p],
			      json_integer_value(json_object_get(n, counts[p])));
		CHECK(json_integer_value(json_object_get(n, "ps")) > 20,
		      "%s: too few tasks", what);
		CHECK(!json_is_true(json_object_get(doc, "incomplete")),
		      "%s: incomplete: %s", what,
		      json_dumps(json_object_get(doc, "problems"), 0));
		CHECK(counter(doc, "II.A_died") == 0 &&
		      counter(doc, "II.B_changed") == 0,
		      "%s: extrinsic inconsistency in a halted crawl: %s", what,
		      json_dumps(json_object_get(doc, "consistency"), 0));
	}
}

static int is_quiet(const char *comm)
{
	size_t i;

	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (!strcmp(comm, quiet[i]))
			return 1;
	return 0;
}

/* argv as the truth daemon prints it: one element per line. */
static int same_argv(json_t *argv, const char *truth)
{
	json_t *arg;
	size_t i, n;

	json_array_foreach(argv, i, arg) {
		const char *s = json_string_value(arg);

		n = strcspn(truth, "\n");
		if (!s || strlen(s) != n || strncmp(s, truth, n) ||
		    truth[n] != '\n')
			return 0;
		truth += n + 1;
	}
	return !*truth;
}

static long rss_of(const char *stat)
{
	const char *p = strstr(stat, "rss_pages ");

	CHECK(p, "no rss_pages in the truth's stat: %s", stat);
	return atol(p + 10);
}

/*
 * One quiet process in a live crawl against the guest's /proc read just
 * before and after it; 0 when its map moved meanwhile (then try again).
 */
static int same_proc(const struct guest *g, json_t *proc, int pid,
		     const char *comm, const char *cmdline, const char *maps0,
		     const char *stat0)
{
	char request[64], why[1024], *maps1, *stat1;
	struct maps_line *lines;
	long rss0, rss1, rss;
	const char *diff;
	int nr, still;

	CHECK(proc, "crawl has no 'proc' entry for %s (pid %d)", comm, pid);
	snprintf(request, sizeof(request), "maps %d", pid);
	maps1 = guest_truth(g, request);
	snprintf(request, sizeof(request), "stat %d", pid);
	stat1 = guest_truth(g, request);
	still = !strcmp(maps0, maps1);
	if (still) {
		CHECK(same_argv(json_object_get(proc, "cmdline"), cmdline),
		      "crawl: argv of %s (pid %d) is %s, the guest's:\n%s",
		      comm, pid, json_dumps(json_object_get(proc, "cmdline"), 0),
		      cmdline);
		nr = maps_parse(maps1, &lines);
		diff = maps_differ(json_object_get(proc, "maps"), lines, nr,
				   why, sizeof(why));
		CHECK(!diff, "crawl: map of %s (pid %d): %s", comm, pid, diff);
		CHECK(nr >= 5, "%s (pid %d) has only %d mappings", comm, pid,
		      nr);
		free(lines);
		/*
		 * The guest counts resident pages per mm; a sleeping
		 * process's count holds still, bar a late fault (a timer, a
		 * signal frame): a page of slack either side.
		 */
		rss0 = rss_of(stat0);
		rss1 = rss_of(stat1);
		rss = json_integer_value(json_object_get(proc, "rss_pages"));
		CHECK(rss >= (rss0 < rss1 ? rss0 : rss1) - 1 &&
		      rss <= (rss0 > rss1 ? rss0 : rss1) + 1,
		      "crawl: %s (pid %d) has %ld resident pages, the guest %ld then %ld",
		      comm, pid, rss, rss0, rss1);
	}
	free(maps1);
	free(stat1);
	return still;
}

/*
 * The open files of a quiet process in a crawl's "lsof": each fd the
 * guest lists, with the path readlink gives; no other (a thread's own
 * table, kh-files's, is lsof_truth's to check).
 */
static void same_fds(const struct guest *g, json_t *files, int pid,
		     const char *comm)
{
	char request[64], *out, *line, *save = NULL;
	int nr_truth = 0, nr_crawl = 0;
	json_t *f;
	size_t i;

	json_array_foreach(files, i, f)
		nr_crawl += json_integer_value(json_object_get(f, "pid")) ==
			    pid &&
			    !json_integer_value(json_object_get(f, "tid"));
	snprintf(request, sizeof(request), "fds %d", pid);
	out = guest_truth(g, request);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long inode;
		int fd, off = 0, found = 0;

		CHECK(sscanf(line, "%d %llu %n", &fd, &inode, &off) >= 2 && off,
		      "unexpected truth fds line '%s'", line);
		json_array_foreach(files, i, f)
			if (json_integer_value(json_object_get(f, "pid")) ==
			    pid &&
			    !json_integer_value(json_object_get(f, "tid")) &&
			    json_integer_value(json_object_get(f, "fd")) == fd) {
				CHECK(!strcmp(json_string_value(json_object_get(
					      f, "path")), line + off),
				      "crawl: fd %d of %s (pid %d) is %s, the guest's %s",
				      fd, comm, pid,
				      json_string_value(json_object_get(f,
									"path")),
				      line + off);
				found = 1;
			}
		CHECK(found, "crawl: fd %d of %s (pid %d) (%s) is missing", fd,
		      comm, pid, line + off);
		nr_truth++;
	}
	CHECK(nr_crawl == nr_truth, "crawl: %s (pid %d) has %d open files, the guest %d",
	      comm, pid, nr_crawl, nr_truth);
	free(out);
}

/*
 * argv, resident pages and maps of every quiet process, as the guest's,
 * through technique (NULL: the default, memmap for these guests).
 */
static void crawl_contents(const struct guest *g, const char *technique)
{
	struct truth_task *tasks;
	int nr, i, attempt, compared = 0;

	nr = guest_truth_ps(g, &tasks);
	for (i = 0; i < nr; i++) {
		const struct truth_task *t = &tasks[i];
		char request[64], *cmdline, *maps0, *stat0;
		int same = 0;

		/*
		 * PID 1's forks are "init" too: the subshell it runs every
		 * 30 s, gone a moment later. Only PID 1 is the quiet init.
		 */
		if (t->pid != t->tgid || !is_quiet(t->comm) ||
		    (!strcmp(t->comm, "init") && t->pid != 1))
			continue;
		snprintf(request, sizeof(request), "cmdline %d", t->pid);
		cmdline = guest_truth(g, request);
		for (attempt = 0; attempt < ATTEMPTS && !same; attempt++) {
			char pid[16];
			json_t *docs;

			snprintf(request, sizeof(request), "maps %d", t->pid);
			maps0 = guest_truth(g, request);
			snprintf(request, sizeof(request), "stat %d", t->pid);
			stat0 = guest_truth(g, request);
			docs = crawl_by(technique, "--count 1", g->pid, 1);
			snprintf(pid, sizeof(pid), "%d", t->pid);
			same = same_proc(g, json_object_get(json_object_get(
					 json_array_get(docs, 0), "proc"), pid),
					 t->pid, t->comm, cmdline, maps0, stat0);
			if (same)
				same_fds(g, json_object_get(json_array_get(
					 docs, 0), "lsof"), t->pid, t->comm);
			json_decref(docs);
			free(maps0);
			free(stat0);
		}
		CHECK(same, "the map of %s (pid %d) changed under every crawl",
		      t->comm, t->pid);
		free(cmdline);
		compared++;
	}
	/* init, kh-tree, 3 kh-leaf, kh-files, ...: the whole quiet set. */
	CHECK(compared >= 10, "only %d quiet processes compared", compared);
	printf("crawl (%s): argv, rss, maps and open files of %d processes match the guest\n",
	       technique ? technique : "default technique", compared);
	free(tasks);
}

/*
 * SIGINT to `crawl --pause` once QMP has seen the guest paused by it: the
 * crawl holds signals while the guest is halted, so keyhole must die of
 * that SIGINT with the guest running again.
 */
static void interrupt_paused_crawl(const struct guest *g)
{
	double deadline = now() + 120;
	char pid[16], state[32], at_sigint[32];
	int status, samples = 0;
	pid_t child;

	snprintf(pid, sizeof(pid), "%d", g->pid);
	child = fork();
	CHECK(child >= 0, "fork");
	crawler = child;
	if (!child) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(env_or("KEYHOLE", "keyhole"), "keyhole", "crawl",
		      "--pause", "--summary", "--count", "100000", "--hz",
		      "200", pid, (char *)NULL);
		_exit(127);
	}
	while (guest_run_state(g, state, sizeof(state))) {
		samples++;
		if (waitpid(child, &status, WNOHANG) == child) {
			crawler = 0;
			CHECK(0, "crawl --pause ended (status 0x%x) before QMP saw the guest paused, %d samples",
			      status, samples);
		}
		CHECK(now() < deadline,
		      "QMP never saw the guest paused in %d samples", samples);
	}
	kill(child, SIGINT);
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	crawler = 0;
	snprintf(at_sigint, sizeof(at_sigint), "%s", state);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
	      "keyhole crawl --pause did not die of the SIGINT (sent with the guest %s): status 0x%x",
	      at_sigint, status);
	CHECK(guest_run_state(g, state, sizeof(state)),
	      "SIGINT left the guest %s", state);
	/* And the vCPUs really run: the guest answers. */
	free(guest_truth(g, "ping"));
	printf("crawl: SIGINT with the guest %s after %d samples: guest runs\n",
	       at_sigint, samples);
}

int main(int argc, char **argv)
{
	json_t *docs, *doc, *cost;
	char state[32];
	size_t i, p;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&guest, argv[1]);
	atexit(cleanup);

	/* Whole documents, live. */
	docs = crawl("--count 3 --hz 20", guest.pid, 3);
	json_array_foreach(docs, i, doc) {
		CHECK(json_integer_value(json_object_get(doc, "iteration")) ==
		      (json_int_t)i, "iteration numbers");
		for (p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
			CHECK(json_object_get(doc, parts[p]), "no '%s' part",
			      parts[p]);
		cost = json_object_get(doc, "cost");
		CHECK(json_real_value(json_object_get(cost, "wall_ms")) > 0 &&
		      json_integer_value(json_object_get(cost, "read_bytes")) > 0,
		      "cost not accounted");
		CHECK(json_array_size(json_object_get(doc, "ps")) > 20,
		      "too few processes");
		CHECK(!json_is_true(json_object_get(doc, "paused")), "not paused");
	}
	json_decref(docs);

	/* The default maps guest RAM; these read it a system call at a time. */
	crawl_contents(&guest, NULL);
	crawl_contents(&guest, "pvreadv");
	crawl_contents(&guest, "procmem");

	/* Halted: nothing can change under the crawl. */
	CHECK(guest_run_state(&guest, state, sizeof(state)),
	      "guest should be running before, is %s", state);
	docs = crawl("--pause --summary --count 30", guest.pid, 30);
	halted_docs(docs, "crawl --pause");
	json_decref(docs);
	docs = crawl_by("pvreadv", "--pause --summary --count 10", guest.pid,
			10);
	halted_docs(docs, "crawl --pause through pvreadv");
	json_decref(docs);
	CHECK(guest_run_state(&guest, state, sizeof(state)),
	      "guest left %s after --pause", state);

	/* A guest its owner paused is crawled alike and stays paused. */
	qmp(&guest, "stop");
	owner_stopped = 1;
	docs = crawl("--pause --summary --count 2", guest.pid, 2);
	halted_docs(docs, "crawl --pause of a guest its owner paused");
	json_decref(docs);
	CHECK(!guest_run_state(&guest, state, sizeof(state)),
	      "crawl --pause resumed a guest its owner paused");
	qmp(&guest, "cont");
	owner_stopped = 0;

	interrupt_paused_crawl(&guest);
	return KH_PASS;
}
