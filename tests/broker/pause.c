// SPDX-License-Identifier: GPL-2.0-only
/*
 * "pause" and "resume": a client holds a VM's guest halted across its
 * queries, and never beyond its hold (QEMU's run state is watched
 * through the guest's second monitor, qmp-watch.sock):
 * - pause halts the guest, a ps through the daemon reads it meanwhile,
 *   a second pause of the same client only moves its deadline, and one
 *   resume runs the guest again;
 * - holds of two clients nest: after one resume the guest stays halted;
 *   the other client's end (its socket closed, no resume) runs it;
 * - a hold of 1 second runs out: a pause-expired event, the guest runs;
 * - a guest its owner paused stays paused through a pause and a resume;
 * - resume without a pause, bad "seconds", a technique, an unknown
 *   argument, and a client as nobody are refused by name, and the guest
 *   keeps running.
 */
#include "broker.h"
#include "guest.h"

static struct guest g;
static int owner_stopped;

static void cleanup(void)
{
	int status;

	if (owner_stopped)
		free(run_capture(&status, "%s -t 20 --qmp '%s' '{\"execute\":\"cont\"}'",
				 env_or("TRUTH", "truth"), g.watch_sock));
}

static json_t *command(int fd, const char *execute, const char *args)
{
	char request[512];

	snprintf(request, sizeof(request),
		 "{\"execute\":\"%s\",\"arguments\":{\"vm\":\"%d\"%s%s},\"id\":\"p\"}",
		 execute, g.pid, args[0] ? "," : "", args);
	return broker_call(fd, request);
}

static void ok(int fd, const char *execute, const char *args)
{
	json_t *reply = command(fd, execute, args);

	CHECK(json_object_get(reply, "return"), "%s {%s}: %s", execute, args,
	      json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
}

static void refused(int fd, const char *execute, const char *args,
		    const char *klass, const char *words)
{
	json_t *reply = command(fd, execute, args);
	const char *got = broker_error_class(reply);
	const char *desc = json_string_value(json_object_get(
		json_object_get(reply, "error"), "desc"));

	CHECK(got && !strcmp(got, klass) && desc && strstr(desc, words),
	      "%s {%s}: want %s naming '%s', got %s", execute, args, klass,
	      words, json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
}

/* Until QEMU's run state is running (want 1) or not (0), 120 s at most. */
static void wait_running(int want, const char *what)
{
	double end = guest_now() + 120;

	while (guest_run_state(&g, NULL, 0) != want) {
		CHECK(guest_now() < end, "%s: the guest is %s after 120 s",
		      what, want ? "still halted" : "still running");
		usleep(50000);
	}
}

static void held_and_read(int fd)
{
	json_t *reply;
	char request[256];

	ok(fd, "pause", "\"seconds\":300");
	wait_running(0, "pause");
	snprintf(request, sizeof(request),
		 "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"%d\"},\"id\":1}",
		 g.pid);
	reply = broker_call(fd, request);
	CHECK(json_array_size(json_object_get(json_object_get(reply, "return"),
					      "ps")) > 20,
	      "ps of the held guest: %s", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	reply = command(fd, "pause", "\"seconds\":300");
	CHECK(json_is_true(json_object_get(json_object_get(reply, "return"),
					   "extended")),
	      "a second pause of one client: %s",
	      json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	ok(fd, "resume", "");
	wait_running(1, "resume");
}

static void nested(const char *sock)
{
	int a = broker_connect(sock), b = broker_connect(sock);

	ok(a, "pause", "");
	ok(b, "pause", "");
	wait_running(0, "two pauses");
	ok(a, "resume", "");
	/* b still holds it: give a wrong resume every chance to show. */
	refused(a, "resume", "", "InvalidArgument", "not paused by this client");
	CHECK(!guest_run_state(&g, NULL, 0),
	      "the guest runs while another client holds it");
	close(b);
	wait_running(1, "the holder's socket closed");
	close(a);
}

static void expires(const char *sock)
{
	int fd = broker_connect(sock);
	double end = guest_now() + 120;
	const char *event = NULL;
	json_t *msg;

	ok(fd, "pause", "\"seconds\":1");
	while (guest_now() < end &&
	       (msg = broker_read(fd, end - guest_now(), NULL))) {
		event = json_string_value(json_object_get(msg, "event"));
		if (event && !strcmp(event, "pause-expired")) {
			CHECK(json_integer_value(json_object_get(json_object_get(
				json_object_get(msg, "data"), "vm"), "pid")) ==
			      g.pid, "pause-expired names another VM: %s",
			      json_dumps(msg, JSON_COMPACT));
			json_decref(msg);
			break;
		}
		event = NULL;
		json_decref(msg);
	}
	CHECK(event, "no pause-expired within 120 s of a 1 s pause");
	wait_running(1, "an expired pause");
	refused(fd, "resume", "", "InvalidArgument", "not paused by this client");
	close(fd);
}

static void owner_paused(const char *sock)
{
	int fd = broker_connect(sock), status;
	char *out;

	out = run_capture(&status, "%s -t 20 --qmp '%s' '{\"execute\":\"stop\"}'",
			  env_or("TRUTH", "truth"), g.watch_sock);
	CHECK(status == 0, "QMP stop: %s", out);
	free(out);
	owner_stopped = 1;
	wait_running(0, "the owner's stop");
	ok(fd, "pause", "");
	ok(fd, "resume", "");
	CHECK(!guest_run_state(&g, NULL, 0),
	      "pause and resume ran a guest its owner had paused");
	cleanup();
	owner_stopped = 0;
	wait_running(1, "the owner's cont");
	close(fd);
}

static void bad_requests(const char *sock)
{
	int fd = broker_connect(sock), status;
	pid_t child;

	refused(fd, "resume", "", "InvalidArgument", "not paused by this client");
	refused(fd, "pause", "\"seconds\":0", "InvalidArgument", "'seconds'");
	refused(fd, "pause", "\"seconds\":601", "InvalidArgument", "'seconds'");
	refused(fd, "pause", "\"seconds\":\"ten\"", "InvalidArgument",
		"'seconds'");
	refused(fd, "pause", "\"technique\":\"pvreadv\"", "InvalidArgument",
		"no technique");
	refused(fd, "resume", "\"seconds\":5", "InvalidArgument",
		"unknown argument 'seconds'");
	close(fd);

	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		broker_become_nobody();
		fd = broker_connect(sock);
		refused(fd, "pause", "", "PermissionDenied", "may not ptrace");
		_exit(KH_PASS);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == KH_PASS, "as nobody: status 0x%x", status);
	CHECK(guest_run_state(&g, NULL, 0),
	      "the guest is halted after refused requests");
}

int main(int argc, char **argv)
{
	const char *sock = broker_socket();
	int fd;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	atexit(cleanup);
	CHECK(guest_run_state(&g, NULL, 0), "the guest should run at the start");

	fd = broker_connect(sock);
	held_and_read(fd);
	close(fd);
	nested(sock);
	expires(sock);
	owner_paused(sock);
	bad_requests(sock);
	return KH_PASS;
}
