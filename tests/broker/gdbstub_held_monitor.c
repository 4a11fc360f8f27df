// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed reads through the owner's gdbstub (the guest's gdb.sock)
 * while another client holds QEMU's QMP monitor, as a management stack
 * does: the stub's halt cannot be journalled then (no monitor to ask
 * whether the guest runs, nor one a restarted keyholed could resume it
 * through), and it is taken unjournalled rather than refused. The walk
 * gives the guest's processes, QEMU reports the guest stopped and
 * resumed (on the test's own watch monitor), and it runs afterwards.
 */
#include "broker.h"
#include "guest.h"

int main(int argc, char **argv)
{
	struct guest_events ev, holder;
	struct guest g, held;
	char request[256], *text;
	json_t *reply, *tasks;
	int fd;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	CHECK(access(g.qmp_sock, F_OK) == 0, "%s: no QMP socket", g.rundir);
	snprintf(request, sizeof(request), "%s/gdb.sock", g.rundir);
	CHECK(access(request, F_OK) == 0,
	      "%s: no gdb.sock (the broker's guest is started with --gdb)",
	      g.rundir);
	CHECK(guest_run_state(&g, NULL, 0), "the guest should run at the start");

	/* The holder: connected and greeted, so QEMU serves only it. */
	held = g;
	snprintf(held.watch_sock, sizeof(held.watch_sock), "%s", g.qmp_sock);
	guest_events_open(&held, &holder);
	guest_events_open(&g, &ev);

	fd = broker_connect(broker_socket());
	snprintf(request, sizeof(request),
		 "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"%d\",\"technique\":\"gdbstub\"},\"id\":4}",
		 g.pid);
	reply = broker_call(fd, request);
	text = json_dumps(reply, JSON_COMPACT);
	tasks = json_object_get(json_object_get(reply, "return"), "ps");
	CHECK(json_array_size(tasks) >= 20 &&
	      json_by_pid(tasks, 1) != NULL,
	      "ps through the gdbstub with the monitor held: %.600s", text);
	free(text);
	json_decref(reply);
	close(fd);

	CHECK(guest_events_wait(&ev, "STOP", 60),
	      "QEMU never reported the gdbstub's halt");
	CHECK(guest_events_wait(&ev, "RESUME", 60),
	      "QEMU never reported the guest resumed");
	guest_events_close(&ev);
	guest_events_close(&holder);
	CHECK(guest_run_state(&g, NULL, 0), "the guest should run afterwards");
	return KH_PASS;
}
