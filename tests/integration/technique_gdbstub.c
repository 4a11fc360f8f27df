// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves the gdbstub technique (class VIII, guest-halting interface
 * access), both on a guest started with a gdbstub socket (vm.sh --gdb,
 * whose gdb.sock must then exist) and on one started without, where
 * keyhole starts a stub of its own through the QMP monitor: on a guest
 * paused by its owner it reads the same bytes as procmem, `keyhole ps -t
 * gdbstub` lists exactly the tasks procmem does, and the guest is still
 * paused afterwards; on a running guest QEMU reports it stopped by the
 * walk and then resumed (its STOP and RESUME events, which no sampling
 * can miss). While another debugger holds the socket's stub, or another
 * keyhole's stub serves the QEMU, keyhole fails at once with "busy" or
 * "another keyhole" instead of hanging. A stub keyhole started leaves no
 * chardev behind.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "technique.h"

/*
 * keyhole ps -t gdbstub on a running guest: QEMU must report the guest
 * stopped (the STOP event, on the watch monitor, which sees every event
 * however briefly the stop lasts) and then running again (RESUME), and
 * the walk must succeed.
 */
static void stopped_during_walk(const struct guest *g)
{
	struct guest_events ev;
	int status;
	char *out;

	guest_events_open(g, &ev);
	out = run_capture(&status, "%s --technique gdbstub ps -T %d 2>&1 >/dev/null",
			  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status == 0, "keyhole -t gdbstub ps -T failed (%d): %s", status,
	      out);
	free(out);
	CHECK(guest_events_wait(&ev, "STOP", 30),
	      "QEMU reported no STOP during the gdbstub walk");
	CHECK(guest_events_wait(&ev, "RESUME", 30),
	      "QEMU reported no RESUME after the gdbstub walk's STOP");
	guest_events_close(&ev);
}

static void busy(const struct guest *g)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, status, tries = 0;
	time_t deadline;
	char *out;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/gdb.sock", g->rundir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)),
	      "cannot connect to %s: %s", sa.sun_path, strerror(errno));
	out = run_capture(&status, "timeout 20 %s --technique gdbstub ps %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status != 0 && status != 124 && status < 128 &&
	      strstr(out, "busy"),
	      "ps while another debugger holds the stub: exit %d: %s",
	      status, out);
	free(out);
	close(fd);
	/*
	 * The stub is free again once QEMU has seen the other debugger
	 * leave: polled for by attaching until keyhole is no longer told
	 * "busy", not guessed with a sleep.
	 */
	deadline = time(NULL) + 120;
	for (;; tries++) {
		out = run_capture(&status, "timeout 60 %s --technique gdbstub vm %d 2>&1",
				  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
		if (!status)
			break;
		CHECK(strstr(out, "busy") && time(NULL) < deadline,
		      "gdbstub after the other debugger left (%d tries): exit %d: %s",
		      tries, status, out);
		free(out);
		usleep(10000);
	}
	free(out);
	/*
	 * The other debugger's connection stopped the guest (QEMU does that
	 * on connect); keyhole found it so and must have left it so. Its
	 * owner lets it go.
	 */
	CHECK(!vm_running(g),
	      "the guest runs after keyhole's attach: it had been stopped by another debugger");
	vm_qmp(g, "cont");
	CHECK(vm_running(g), "the guest should run again");
}

static char *qmp_json(const struct guest *g, const char *json)
{
	int status;
	char *out = run_capture(&status, "%s --qmp '%s' '%s'",
				env_or("TRUTH", "truth"), g->qmp_sock, json);

	CHECK(status == 0, "QMP %s failed: %s", json, out);
	return out;
}

/* A stub keyhole started through the monitor is gone after each use. */
static void no_chardev_left(const struct guest *g, const char *when)
{
	char *out = qmp_run(g, "query-chardev");

	CHECK(!strstr(out, "keyhole-gdbstub"),
	      "%s: keyhole's gdbstub chardev is still there: %s", when, out);
	free(out);
}

/*
 * Another keyhole's stub serves the QEMU (its chardev, here a null one,
 * exists): keyhole says so and leaves the guest as it was.
 */
static void monitor_busy(const struct guest *g)
{
	int status;
	char *out;

	free(qmp_json(g, "{\"execute\":\"chardev-add\",\"arguments\":{\"id\":\"keyhole-gdbstub\",\"backend\":{\"type\":\"null\",\"data\":{}}}}"));
	out = run_capture(&status, "timeout 60 %s --technique gdbstub ps %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status != 0 && status != 124 && status < 128 &&
	      strstr(out, "another keyhole"),
	      "ps while another keyhole's stub serves the QEMU: exit %d: %s",
	      status, out);
	free(out);
	CHECK(vm_running(g), "a refused gdbstub attach left the guest stopped");
	free(qmp_json(g, "{\"execute\":\"chardev-remove\",\"arguments\":{\"id\":\"keyhole-gdbstub\"}}"));
	out = run_capture(&status, "timeout 60 %s --technique gdbstub vm %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status == 0, "gdbstub once the other stub is gone: exit %d: %s",
	      status, out);
	free(out);
	no_chardev_left(g, "after the busy case");
}

int main(int argc, char **argv)
{
	json_t *t, *ref, *view;
	struct guest g;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	t = technique_entry(&g, "gdbstub", "VIII");
	/*
	 * How vm.sh started the guest decides which case this is; a socket
	 * file that should be there and is not is a broken guest, not a
	 * guest without the channel.
	 */
	CHECK(rundir_has(&g, "gdb.sock") == guest_started_with(&g, "gdb"),
	      "the guest was started %s --gdb, but %s/gdb.sock %s",
	      guest_started_with(&g, "gdb") ? "with" : "without", g.rundir,
	      rundir_has(&g, "gdb.sock") ? "exists" : "is missing");
	CHECK(json_is_true(json_object_get(t, "available")) &&
	      json_is_true(json_object_get(t, "halting")),
	      "gdbstub should be an available halting technique: %s",
	      json_string_value(json_object_get(t, "reason")));
	json_decref(t);
	CHECK(vm_running(&g), "the guest should be running at the start");

	vm_qmp(&g, "stop");
	same_bytes(&g, "gdbstub");
	ref = keyhole_json(&status, "--technique procmem ps %d", g.pid);
	CHECK(status == 0, "ps -t procmem failed");
	view = keyhole_json(&status, "--technique gdbstub ps %d", g.pid);
	CHECK(status == 0, "ps -t gdbstub failed");
	same_ps(ref, view, "gdbstub vs procmem, paused");
	CHECK(!vm_running(&g), "a guest paused by its owner must stay paused");
	vm_qmp(&g, "cont");

	stopped_during_walk(&g);
	CHECK(vm_running(&g), "the guest should run after the walk");
	guest_answers(&g);
	if (!guest_started_with(&g, "gdb")) {
		no_chardev_left(&g, "after the walks");
		monitor_busy(&g);
		CHECK(vm_running(&g), "the guest should run after the busy case");
		guest_answers(&g);
		return KH_PASS;
	}

	busy(&g);
	guest_answers(&g);
	return KH_PASS;
}
