// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed kill -9ed while it holds a guest halted: the guest stays halted
 * (no handler runs), and the next keyholed on the same --state-dir resumes
 * it from the halt journal before it serves anyone. A guest its owner had
 * paused before keyholed touched it stays paused through the same crash
 * and restart: recovery resumes only halts keyhole made.
 *
 * The guest is the test's own (vm.sh, qmp-watch.sock watched), so that a
 * guest other tests share is never halted by a dead daemon; the daemons
 * are the test's own, with a state directory of their own.
 */
#include <dirent.h>
#include <sys/inotify.h>

#include "broker.h"
#include "guest.h"

static char dir[] = "/tmp/kh-recover.XXXXXX";
static char rundir[300], sock[300], state[300], journal[320], logs[3][300];
static pid_t daemon_pid;

static const char *vm_sh(void)
{
	return env_or("KH_VM_SH", "tests/guest/vm.sh");
}

static void cleanup(void)
{
	int status;
	char *out;

	if (daemon_pid > 0) {
		kill(daemon_pid, SIGCONT);
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	if (rundir[0])
		free(run_capture(&status, "'%s' stop '%s' 2>&1", vm_sh(),
				 rundir));
	out = run_capture(&status, "rm -rf '%s'", dir);
	free(out);
}

/* QMP on the guest's watch monitor, as its owner would. */
static void owner_qmp(const struct guest *g, const char *cmd)
{
	int status;
	char *out = run_capture(&status, "%s -t 20 --qmp '%s' '{\"execute\":\"%s\"}'",
				env_or("TRUTH", "build/guest/truth"),
				g->watch_sock, cmd);

	CHECK(status == 0 && strstr(out, "\"return\""),
	      "QMP %s on %s: %s", cmd, g->watch_sock, out);
	free(out);
}

static int journal_entries(char *first, size_t size)
{
	struct dirent *de;
	DIR *d = opendir(journal);
	int n = 0;

	CHECK(d, "no halt journal %s: %s", journal, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!n++ && first)
			snprintf(first, size, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static void watch_paused(int fd, const struct guest *g)
{
	char request[256];

	snprintf(request, sizeof(request),
		 "{\"execute\":\"watch\",\"arguments\":{\"vm\":\"%d\",\"hz\":20,\"records\":\"summary\",\"pause\":true},\"id\":1}",
		 g->pid);
	json_decref(broker_call_ok(fd, request));
}

/*
 * The run state through the events connection itself: the watch monitor
 * serves one client at a time, so guest_run_state() would wait for it.
 */
static void events_state(struct guest_events *ev, char *st, size_t size)
{
	static const char q[] = "{\"execute\":\"query-status\"}\n";
	double end = guest_now() + 30;
	char line[4096];
	json_t *doc;

	CHECK(write(ev->fd, q, sizeof(q) - 1) == sizeof(q) - 1,
	      "cannot write to the watch monitor");
	for (;;) {
		CHECK(guest_events_line(ev, line, sizeof(line), end),
		      "no reply to query-status on the watch monitor");
		doc = json_loads(line, 0, NULL);
		if (json_object_get(doc, "return"))
			break;
		json_decref(doc);
	}
	snprintf(st, size, "%s", json_string_value(json_object_get(
		json_object_get(doc, "return"), "status")) ?: "?");
	json_decref(doc);
}

/* Kills the daemon the hard way: no handler of its runs. */
static void crash(void)
{
	CHECK(!kill(daemon_pid, SIGKILL), "kill -9 keyholed: %s",
	      strerror(errno));
	CHECK(waitpid(daemon_pid, NULL, 0) == daemon_pid, "waitpid");
	daemon_pid = 0;
}

/* Starts keyholed on the state directory; once it greets, it recovered. */
static int restart(int n)
{
	daemon_pid = broker_start_state(sock, logs[n], state);
	return broker_connect(sock);
}

static int log_has(int n, const char *what)
{
	int status, found;
	char *out = run_capture(&status, "cat '%s'", logs[n]);

	found = strstr(out, what) != NULL;
	free(out);
	return found;
}

/*
 * A halt of keyhole's own: caught while it lasts (STOP on the watch
 * monitor, then keyholed frozen with SIGSTOP so that it cannot end the
 * halt, then the guest seen paused), then the daemon killed.
 */
static void crash_while_halting(const struct guest *g)
{
	char st[32], entry[64], want[64];
	struct guest_events ev;
	double end = guest_now() + 300;
	unsigned long long start;
	int fd, caught = 0;
	FILE *f;

	fd = restart(0);
	guest_events_open(g, &ev);
	watch_paused(fd, g);
	while (!caught && guest_now() < end) {
		CHECK(guest_events_wait(&ev, "STOP", end - guest_now()),
		      "keyholed did not halt the guest within 300 s; see %s",
		      logs[0]);
		CHECK(!kill(daemon_pid, SIGSTOP), "SIGSTOP keyholed");
		events_state(&ev, st, sizeof(st));
		caught = !strcmp(st, "paused");
		if (!caught)
			CHECK(!kill(daemon_pid, SIGCONT), "SIGCONT keyholed");
	}
	CHECK(caught, "never caught keyholed holding the guest halted");
	guest_events_close(&ev);

	/* The halt is in the journal, under the QEMU process's identity. */
	snprintf(want, sizeof(want), "/proc/%d/stat", g->pid);
	f = fopen(want, "r");
	CHECK(f && fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			  &start) == 1, "cannot read %s", want);
	fclose(f);
	snprintf(want, sizeof(want), "%d-%llu", g->pid, start);
	CHECK(journal_entries(entry, sizeof(entry)) == 1 &&
	      !strcmp(entry, want),
	      "the halt journal %s does not hold exactly %s", journal, want);

	crash();
	close(fd);
	/* Proves the test can fail: nothing else would resume it. */
	CHECK(!guest_run_state(g, st, sizeof(st)) && !strcmp(st, "paused"),
	      "the guest is '%s' right after keyholed was killed", st);
}

int main(int argc, char **argv)
{
	struct guest g;
	char st[32];
	double end;
	char ev[sizeof(struct inotify_event) + 256]
		__attribute__((aligned(8)));
	int status, fd, ino;
	char *out;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	CHECK(geteuid() == 0, "keyholed's halt journal is root's");
	CHECK(mkdtemp(dir), "mkdtemp");
	atexit(cleanup);
	snprintf(sock, sizeof(sock), "%s/keyholed.sock", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(journal, sizeof(journal), "%s/paused", state);
	for (int i = 0; i < 3; i++)
		snprintf(logs[i], sizeof(logs[i]), "%s/keyholed.%d.log", dir,
			 i);

	snprintf(rundir, sizeof(rundir), "%s/guest", dir);
	out = run_capture(&status, "'%s' start '%s' --boot pvh --ram memfd --mem 256M --name kh-recover-%d 2>&1",
			  vm_sh(), rundir, (int)getpid());
	CHECK(status == 0, "vm.sh start: %s", out);
	free(out);
	guest_load(&g, rundir);

	/* 1: keyhole's own halt, undone by the next keyholed. */
	crash_while_halting(&g);
	fd = restart(1);
	end = guest_now() + 120;
	while (!guest_run_state(&g, st, sizeof(st)) && guest_now() < end)
		usleep(100000);
	CHECK(!strcmp(st, "running"),
	      "the guest is still '%s' 120 s after keyholed restarted; see %s",
	      st, logs[1]);
	CHECK(log_has(1, "resumed QEMU pid"),
	      "keyholed did not say it resumed the guest; see %s", logs[1]);
	CHECK(journal_entries(NULL, 0) == 0, "the halt journal %s is not empty",
	      journal);

	/*
	 * 2: paused by its owner first, then crawled with pause (which must
	 * not halt it again, so journals nothing), crashed and restarted.
	 */
	owner_qmp(&g, "stop");
	/* Every entry made, however briefly it lasts, is seen. */
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(ino >= 0 && inotify_add_watch(ino, journal,
					    IN_CREATE | IN_MOVED_TO) >= 0,
	      "inotify on %s: %s", journal, strerror(errno));
	watch_paused(fd, &g);
	for (int records = 0; records < 3;) {
		json_t *msg = broker_read(fd, 300, NULL);
		const char *event;

		CHECK(msg, "no record from keyholed within 300 s; see %s",
		      logs[1]);
		event = json_string_value(json_object_get(msg, "event"));
		records += event && !strcmp(event, "record");
		json_decref(msg);
	}
	CHECK(read(ino, ev, sizeof(ev)) < 0 && errno == EAGAIN,
	      "keyholed journalled a halt of a guest its owner paused (%s)",
	      ((struct inotify_event *)ev)->name);
	close(ino);
	crash();
	close(fd);
	fd = restart(2);
	CHECK(!guest_run_state(&g, st, sizeof(st)) && !strcmp(st, "paused"),
	      "recovery resumed a guest its owner paused (it is '%s'); see %s",
	      st, logs[2]);
	CHECK(!log_has(2, "resumed QEMU pid"), "keyholed claims it resumed a guest; see %s",
	      logs[2]);
	close(fd);

	owner_qmp(&g, "cont");
	CHECK(!kill(daemon_pid, SIGTERM), "SIGTERM keyholed");
	CHECK(broker_wait_exit(daemon_pid, 120) != -1,
	      "keyholed still runs 120 s after SIGTERM; see %s", logs[2]);
	daemon_pid = 0;
	return KH_PASS;
}
