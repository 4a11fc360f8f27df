/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for integration tests that run against a test guest booted by
 * tests/guest/vm.sh. A test gets the guest's RUNDIR as argv[1] and finds
 * the keyhole binary and the truth client through $KEYHOLE and $TRUTH
 * (tests/run sets both).
 */
#ifndef KH_TEST_GUEST_H
#define KH_TEST_GUEST_H

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

struct guest {
	const char *rundir;
	char qmp_sock[4096];
	char watch_sock[4096];	/* a second QMP monitor, for tests only */
	char truth_sock[4096];
	int pid;		/* QEMU */
	char boot[16];		/* bzimage or pvh */
	char ram[16];		/* memfd or anon */
	char paging[4];		/* 4 or 5 */
	char name[128];
	char machine[16];
};

struct truth_task {
	int pid, tgid, ppid;
	unsigned int uid, gid;
	char state;
	int threads;			/* of its process */
	unsigned long long start_ticks;	/* clock ticks after boot (USER_HZ) */
	char comm[64];
};

/* USER_HZ, the unit of /proc/PID/stat's starttime on x86-64. */
#define GUEST_USER_HZ 100

static inline const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

/* Runs a shell command; returns its stdout (malloc'd) and exit status. */
static inline char *run_capture(int *status, const char *fmt, ...)
{
	char cmd[8192], *out = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	CHECK(p, "popen %s: %s", cmd, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			CHECK(out, "out of memory");
		}
		memcpy(out + len, chunk, n);
		len += n;
	}
	if (!out)
		out = calloc(1, 1);
	out[len] = '\0';
	st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return out;
}

/* Sleeps for ms milliseconds (a poll's pace, never a wait for a state). */
static inline void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * A QEMU of the test's own: qemu-system-x86_64 with args, daemonized,
 * its QMP monitor at sock and its pid in pidfile; its pid, once the
 * socket is there (polled: -daemonize returns once QEMU is set up, and a
 * busy host may lag), or the test fails saying why.
 */
static inline int spawn_qemu_daemon(const char *args, const char *sock,
				    const char *pidfile)
{
	char buf[32];
	int status, i;
	char *out;
	FILE *f;

	unlink(pidfile);
	out = run_capture(&status,
			  "qemu-system-x86_64 %s -qmp unix:%s,server=on,wait=off -pidfile %s -daemonize </dev/null 2>&1",
			  args, sock, pidfile);
	CHECK(status == 0, "cannot start a QEMU: %s", out);
	free(out);
	for (i = 0; i < 60000 && access(sock, F_OK); i++)
		sleep_ms(1);
	f = fopen(pidfile, "r");
	CHECK(f && fgets(buf, sizeof(buf), f), "no %s", pidfile);
	fclose(f);
	return atoi(buf);
}

/* Reads KEY=VALUE (shell-quoted) from RUNDIR/options. */
static inline void guest_option(const char *rundir, const char *key,
				char *val, size_t size)
{
	char path[4096], line[8192];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/options", rundir);
	f = fopen(path, "r");
	CHECK(f, "cannot open %s", path);
	val[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *v = line + klen + 1;
		size_t n;

		if (strncmp(line, key, klen) || line[klen] != '=')
			continue;
		v[strcspn(v, "\n")] = '\0';
		n = strlen(v);
		if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
			v[n - 1] = '\0';
			v++;
		}
		snprintf(val, size, "%s", v);
		break;
	}
	fclose(f);
}

static inline void guest_load(struct guest *g, const char *rundir)
{
	char path[4096], pid[32];
	FILE *f;

	memset(g, 0, sizeof(*g));
	g->rundir = rundir;
	snprintf(g->qmp_sock, sizeof(g->qmp_sock), "%s/qmp.sock", rundir);
	snprintf(g->truth_sock, sizeof(g->truth_sock), "%s/truth.sock", rundir);
	snprintf(g->watch_sock, sizeof(g->watch_sock), "%s/qmp-watch.sock",
		 rundir);
	snprintf(path, sizeof(path), "%s/qemu.pid", rundir);
	f = fopen(path, "r");
	CHECK(f, "no %s: is the guest running?", path);
	CHECK(fgets(pid, sizeof(pid), f), "empty %s", path);
	fclose(f);
	g->pid = atoi(pid);
	guest_option(rundir, "boot", g->boot, sizeof(g->boot));
	guest_option(rundir, "ram", g->ram, sizeof(g->ram));
	guest_option(rundir, "paging", g->paging, sizeof(g->paging));
	guest_option(rundir, "name", g->name, sizeof(g->name));
	guest_option(rundir, "machine", g->machine, sizeof(g->machine));
}

/*
 * A deadline, not a speed: a TCG guest on a loaded 2-core host has taken
 * more than truth's default 20 s to walk its modules.
 */
#define GUEST_TRUTH_SECS 120

static inline char *guest_truth_reply(const struct guest *g,
				      const char *request)
{
	int status;
	char *out = run_capture(&status, "%s -t %d '%s' '%s'",
				env_or("TRUTH", "build/guest/truth"),
				GUEST_TRUTH_SECS, g->truth_sock, request);

	CHECK(status == 0, "truth %s failed (%d): %s", request, status, out);
	return out;
}

/*
 * The truth daemon's answer to request (without the END line). The daemon
 * implements every request (tests/guest/README.md), so an "error" reply
 * means the guest is broken, and the test fails: it must never be read
 * as "cannot check" and skipped.
 */
static inline char *guest_truth(const struct guest *g, const char *request)
{
	char *out = guest_truth_reply(g, request);

	CHECK(strncmp(out, "error", 5), "the guest's truth daemon failed '%s': %s",
	      request, out);
	return out;
}

/*
 * The same for a request about one process ("cmdline PID", "stat PID",
 * ...), which may have exited: NULL when the guest has no such process
 * (any other error still fails the test).
 */
static inline char *guest_truth_pid(const struct guest *g, const char *request)
{
	char *out = guest_truth_reply(g, request);

	if (!strcmp(out, "error no such process\n")) {
		free(out);
		return NULL;
	}
	CHECK(strncmp(out, "error", 5), "the guest's truth daemon failed '%s': %s",
	      request, out);
	return out;
}

/*
 * QEMU's run state ("running", "paused", ...) through qmp-watch.sock, the
 * monitor vm.sh adds for tests: keyhole holds qmp.sock while it has the
 * guest paused, so only this one can watch it meanwhile. Returns 1 when
 * the vCPUs run.
 */
static inline int guest_run_state(const struct guest *g, char *state,
				  size_t size)
{
	json_t *doc, *ret;
	int status, running;
	char *out = run_capture(&status, "%s -t 20 --qmp '%s' '{\"execute\":\"query-status\"}'",
				env_or("TRUTH", "build/guest/truth"),
				g->watch_sock);

	doc = json_loads(out, 0, NULL);
	ret = json_object_get(doc, "return");
	CHECK(status == 0 && json_is_string(json_object_get(ret, "status")),
	      "query-status on %s: %s", g->watch_sock, out);
	if (state)
		snprintf(state, size, "%s",
			 json_string_value(json_object_get(ret, "status")));
	running = json_is_true(json_object_get(ret, "running"));
	json_decref(doc);
	free(out);
	return running;
}

/*
 * QEMU's run-state events (STOP, RESUME, ...) as they happen, through
 * qmp-watch.sock: every monitor gets every event, so a change of state is
 * seen however briefly it lasts, where sampling query-status can miss it.
 */
struct guest_events {
	int fd;
	size_t len;
	char buf[65536];
};

static inline double guest_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The next line from the monitor into line; 0 on timeout. */
static inline int guest_events_line(struct guest_events *ev, char *line,
				    size_t size, double deadline)
{
	struct pollfd pfd = { .fd = ev->fd, .events = POLLIN };
	char *nl;
	ssize_t n;

	while (!(nl = memchr(ev->buf, '\n', ev->len))) {
		int ms = (int)((deadline - guest_now()) * 1000);

		CHECK(ev->len < sizeof(ev->buf), "QMP line too long");
		if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
			return 0;
		n = read(ev->fd, ev->buf + ev->len, sizeof(ev->buf) - ev->len);
		CHECK(n > 0, "the watch monitor closed: %s",
		      n < 0 ? strerror(errno) : "EOF");
		ev->len += n;
	}
	*nl = '\0';
	snprintf(line, size, "%s", ev->buf);
	ev->len -= nl + 1 - ev->buf;
	memmove(ev->buf, nl + 1, ev->len);
	return 1;
}

/* Connects to qmp-watch.sock; events from now on are kept for reading. */
static inline void guest_events_open(const struct guest *g,
				     struct guest_events *ev)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double deadline = guest_now() + 30;
	char line[4096];

	ev->len = 0;
	ev->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g->watch_sock);
	CHECK(ev->fd >= 0 && !connect(ev->fd, (struct sockaddr *)&sa,
				      sizeof(sa)),
	      "cannot connect to %s: %s", g->watch_sock, strerror(errno));
	CHECK(guest_events_line(ev, line, sizeof(line), deadline) &&
	      strstr(line, "\"QMP\""), "no QMP greeting on %s", g->watch_sock);
	CHECK(write(ev->fd, caps, sizeof(caps) - 1) == sizeof(caps) - 1,
	      "cannot write to %s", g->watch_sock);
	do
		CHECK(guest_events_line(ev, line, sizeof(line), deadline),
		      "no reply to qmp_capabilities on %s", g->watch_sock);
	while (!strstr(line, "\"return\""));
}

/*
 * Waits for the event named (e.g. "STOP"), skipping others; 1 if it came
 * within timeout seconds.
 */
static inline int guest_events_wait(struct guest_events *ev, const char *name,
				    double timeout)
{
	double deadline = guest_now() + timeout;
	char line[4096], want[64];

	snprintf(want, sizeof(want), "\"event\": \"%s\"", name);
	while (guest_events_line(ev, line, sizeof(line), deadline))
		if (strstr(line, want))
			return 1;
	return 0;
}

static inline void guest_events_close(struct guest_events *ev)
{
	close(ev->fd);
}

/* Parses a truth "ps" reply; returns the number of tasks. */
static inline int guest_truth_ps(const struct guest *g,
				 struct truth_task **tasksp)
{
	char *out = guest_truth(g, "ps"), *line, *save = NULL;
	struct truth_task *tasks = NULL;
	int nr = 0, cap = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct truth_task t = { 0 };
		int off = 0;

		if (sscanf(line, "%d %d %d %u %u %c %d %llu %n", &t.pid,
			   &t.tgid, &t.ppid, &t.uid, &t.gid, &t.state,
			   &t.threads, &t.start_ticks, &off) < 8 || !off)
			CHECK(0, "unexpected truth ps line '%s'", line);
		snprintf(t.comm, sizeof(t.comm), "%s", line + off);
		if (nr == cap) {
			cap = cap ? cap * 2 : 128;
			tasks = realloc(tasks, sizeof(*tasks) * cap);
			CHECK(tasks, "out of memory");
		}
		tasks[nr++] = t;
	}
	free(out);
	CHECK(nr > 10, "truth ps returned only %d tasks", nr);
	*tasksp = tasks;
	return nr;
}

/* The tgid of the (first) guest process called comm. */
static inline int guest_pid_of(const struct guest *g, const char *comm)
{
	char request[128], *out;
	int pid = 0;

	snprintf(request, sizeof(request), "pids %s", comm);
	out = guest_truth(g, request);
	CHECK(sscanf(out, "%d", &pid) == 1 && pid > 0,
	      "no process %s in the guest: '%s'", comm, out);
	free(out);
	return pid;
}

/* QMP cmd (without arguments) on the guest's monitor: its reply. */
static inline char *guest_qmp_reply(const struct guest *g, const char *cmd,
				    int *status)
{
	return run_capture(status, "%s --qmp '%s' '{\"execute\":\"%s\"}'",
			   env_or("TRUTH", "truth"), g->qmp_sock, cmd);
}

/* The guest the test paused as its owner would, until it resumes it. */
static const struct guest *guest_held;

static inline void guest_held_resume(void)
{
	int status;

	/* Also at exit, after a failed CHECK: no CHECK here. */
	if (guest_held)
		free(guest_qmp_reply(guest_held, "cont", &status));
	guest_held = NULL;
}

/*
 * Pauses g (QMP stop), so that every view a test takes is of the same
 * guest; it runs again on guest_held_resume() or when the test exits,
 * whether it passed or not.
 */
static inline void guest_hold(const struct guest *g)
{
	static int registered;
	int status;
	char *out;

	if (!registered++)
		atexit(guest_held_resume);
	guest_held = g;
	out = guest_qmp_reply(g, "stop", &status);
	CHECK(status == 0, "QMP stop failed: %s", out);
	free(out);
}

/* The document keyhole ARGS printed as out, which it frees. */
static inline json_t *keyhole_doc(char *out, const char *args)
{
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);

	CHECK(doc, "keyhole %s printed no JSON (%s): %s", args, jerr.text,
	      out);
	free(out);
	return doc;
}

/*
 * keyhole ARGS for a walk of the whole running guest,
 * which forks about 30 times a second: a walk that finds a process dying
 * under it (its files or parent freed meanwhile) says the result is
 * incomplete (exit 3) rather than guess, now and then. Such a walk is
 * taken again, up to three times; one still incomplete is returned as it
 * is, for the test to fail on like any other error. Its stdout.
 */
static inline char *keyhole_whole(int *status, const char *args)
{
	char *out = NULL;
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		free(out);
		out = run_capture(status, "%s %s",
				  env_or("KEYHOLE", "build/bin/keyhole"), args);
		if (*status != 3)
			break;
		fprintf(stderr, "keyhole %s: incomplete, walking again\n",
			args);
	}
	return out;
}

/*
 * The rule every document keyhole prints keeps (keyhole.1, JSON): an
 * object; an error is {"error": TEXT}; any other says whether it is
 * complete, "incomplete" true exactly when keyhole exits 3, and lists
 * what the reads met in "problems" (none when it is complete and
 * consistent).
 */
static inline void keyhole_doc_rule(const json_t *doc, int status,
				    const char *args)
{
	const json_t *problems = json_object_get(doc, "problems");
	int incomplete = json_is_true(json_object_get(doc, "incomplete"));

	CHECK(json_is_object(doc), "keyhole %s: the document is not an object",
	      args);
	if (json_object_get(doc, "error"))
		return;
	CHECK(json_is_boolean(json_object_get(doc, "incomplete")) &&
	      json_is_array(problems),
	      "keyhole %s: the document lacks \"incomplete\" or \"problems\"",
	      args);
	/* keyhole check exits 4 for a finding, incomplete or not. */
	CHECK(incomplete == (status == 3) || status == 4,
	      "keyhole %s: \"incomplete\" is %s, the exit status %d", args,
	      incomplete ? "true" : "false", status);
	CHECK(!incomplete || json_array_size(problems),
	      "keyhole %s: incomplete, and no problem named", args);
}

/* The list a listing command's document holds under key (borrowed). */
static inline json_t *doc_list(const json_t *doc, const char *key)
{
	json_t *list = json_object_get(doc, key);

	CHECK(json_is_array(list), "the document has no list \"%s\"", key);
	return list;
}

/*
 * keyhole --json ARGS: the parsed document, and the exit status; taken
 * again while incomplete (whole) as keyhole_whole() does. The document
 * keeps the rule (keyhole_doc_rule()).
 */
static inline json_t *keyhole_json_as(int *status, int whole,
				      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline json_t *keyhole_json_as(int *status, int whole,
				      const char *fmt, ...)
{
	char args[4096];
	int n = snprintf(args, sizeof(args), "--json ");
	json_t *doc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args + n, sizeof(args) - n, fmt, ap);
	va_end(ap);
	if (whole)
		doc = keyhole_doc(keyhole_whole(status, args), args);
	else
		doc = keyhole_doc(run_capture(status, "%s %s",
					      env_or("KEYHOLE",
						     "build/bin/keyhole"),
					      args), args);
	keyhole_doc_rule(doc, *status, args);
	return doc;
}

#define keyhole_json(status, ...) keyhole_json_as(status, 0, __VA_ARGS__)
#define keyhole_json_whole(status, ...) \
	keyhole_json_as(status, 1, __VA_ARGS__)

/*
 * A per-process view's -p (lsof's kind: the list under the command's
 * name): `CMD -p 1` lists init alone, and a pid the guest does not have
 * is an error (exit 1) naming it.
 */
static inline void check_pid_filter(const struct guest *g, const char *cmd)
{
	json_t *one, *list;
	int status;
	char *out;

	one = keyhole_json(&status, "%s -p 1 %d", cmd, g->pid);
	list = doc_list(one, cmd);
	CHECK(status == 0 && json_array_size(list) == 1 &&
	      json_integer_value(json_object_get(json_array_get(list, 0),
						 "pid")) == 1,
	      "%s -p 1: exit %d: %s", cmd, status, json_dumps(one, 0));
	json_decref(one);
	out = run_capture(&status, "%s %s -p 99999 %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), cmd, g->pid);
	CHECK(status == 1 && strstr(out, "no process 99999"),
	      "%s -p 99999: exit %d: %s", cmd, status, out);
	free(out);
}

/* The object of a JSON array whose integer key is value, or NULL. */
static inline json_t *json_by_int(json_t *array, const char *key,
				  json_int_t value)
{
	size_t i;
	json_t *obj;

	json_array_foreach(array, i, obj)
		if (json_integer_value(json_object_get(obj, key)) == value)
			return obj;
	return NULL;
}

/* The object of a JSON array whose "pid" is pid, or NULL. */
static inline json_t *json_by_pid(json_t *array, int pid)
{
	return json_by_int(array, "pid", pid);
}

/* A string member that must be there. */
static inline const char *json_need_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	CHECK(s, "no string '%s' in %s", key, json_dumps(obj, 0));
	return s;
}

/*
 * Waits (60 s at most) until process pid's command line starts with
 * prefix: its exec is done, and it looks the part.
 */
static inline void wait_cmdline(pid_t pid, const char *prefix)
{
	char path[64], buf[64];
	FILE *f;
	int i;

	for (i = 0; i < 600; i++) {
		buf[0] = '\0';
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		f = fopen(path, "r");
		if (f) {
			CHECK(fread(buf, 1, sizeof(buf) - 1, f) || 1, "read");
			fclose(f);
		}
		if (!strncmp(buf, prefix, strlen(prefix)))
			return;
		usleep(100000);
	}
	CHECK(0, "pid %d never ran %s", (int)pid, prefix);
}

#endif
