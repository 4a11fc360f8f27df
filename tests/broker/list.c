// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed finds VMs by itself: the test guest is in "list" with its pid
 * and -name; a QEMU started after the daemon appears in the list (the
 * rescan) with its -name and -uuid, and is gone from it soon after it is
 * killed (its pidfd). The new QEMU is a real one, held at -S: its RAM
 * need not hold a kernel to be listed. It takes the guest's -name, as
 * anyone may: while both run, the name is refused as ambiguous rather
 * than resolved to either, and the pid still names the guest.
 * `keyhole --broker list` prints keyholed's list (the same JSON, while
 * nothing changed), and fails, saying so, when no keyholed answers.
 */
#include "broker.h"
#include "guest.h"

#define UUID "6b1c2f3e-0d4a-4b7e-9a55-1f2e3d4c5b6a"

static pid_t qemu;

/* The QEMU of the test's own goes with it, whatever failed. */
static void kill_qemu(void)
{
	if (qemu > 0)
		kill(qemu, SIGKILL);
}

static json_t *wait_listed(int fd, int pid, int present, double timeout)
{
	double end = broker_now() + timeout;
	json_t *list, *vm;

	for (;;) {
		list = broker_list(fd);
		vm = broker_list_find(list, pid);
		if (!!vm == present)
			return list;
		json_decref(list);
		CHECK(broker_now() < end, "pid %d %s the list after %.0f s",
		      pid, present ? "not in" : "still in", timeout);
		usleep(100000);
	}
}

static void ambiguous_name(int fd, const struct guest *g)
{
	char request[512];
	json_t *reply;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"mem\",\"arguments\":{\"vm\":\"%s\"}}",
		 g->name);
	reply = broker_call(fd, request);
	CHECK(!strcmp(broker_error_class(reply) ?: "", "InvalidArgument") &&
	      strstr(json_string_value(json_object_get(json_object_get(reply,
			"error"), "desc")) ?: "", "pid"),
	      "a -name two QEMUs claim: %s", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	snprintf(request, sizeof(request),
		 "{\"execute\":\"mem\",\"arguments\":{\"vm\":\"%d\"}}",
		 g->pid);
	reply = broker_call(fd, request);
	CHECK(json_integer_value(json_object_get(json_object_get(reply,
			"return"), "total_kb")) > 0, "mem by pid: %s",
	      json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
}

/* `keyhole --broker --json list` holds the daemon's list. */
static void cli_list(int fd, int pid)
{
	double end = broker_now() + 60;
	json_t *before, *after, *doc, *cli;
	json_error_t jerr;
	int status, same;
	char *out;

	for (;;) {
		before = broker_list(fd);
		out = run_capture(&status, "%s --broker=%s --json list",
				  env_or("KEYHOLE", "build/bin/keyhole"),
				  broker_socket());
		after = broker_list(fd);
		doc = json_loads(out, 0, &jerr);
		CHECK(status == 0 && doc, "keyhole --broker list: exit %d: %s",
		      status, out);
		keyhole_doc_rule(doc, status, "--broker --json list");
		cli = doc_list(doc, "list");
		/* QEMUs of other tests may come or go meanwhile: again. */
		same = json_equal(before, after);
		if (same) {
			CHECK(json_equal(cli, before),
			      "keyhole --broker list printed %s, keyholed lists %s",
			      out, json_dumps(before, JSON_COMPACT));
			CHECK(broker_list_find(cli, pid),
			      "keyhole --broker list has no pid %d", pid);
		}
		json_decref(before);
		json_decref(after);
		json_decref(doc);
		free(out);
		if (same)
			break;
		CHECK(broker_now() < end,
		      "keyholed's list changed on every look for 60 s");
	}
	out = run_capture(&status, "%s --broker=/nonexistent/keyholed.sock list 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"));
	CHECK(status == 1 && strstr(out, "cannot reach keyholed"),
	      "keyhole --broker list with no keyholed: exit %d: %s", status,
	      out);
	free(out);
}

int main(int argc, char **argv)
{
	char name[64];
	struct guest g;
	json_t *list, *vm;
	int fd, gone;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	fd = broker_connect(broker_socket());

	list = wait_listed(fd, g.pid, 1, 30);
	vm = broker_list_find(list, g.pid);
	CHECK(!strcmp(json_string_value(json_object_get(vm, "name")), g.name),
	      "name %s, not %s", json_string_value(json_object_get(vm, "name")),
	      g.name);
	json_decref(list);

	snprintf(name, sizeof(name), "%s", g.name);
	qemu = broker_spawn_qemu((const char *[]){ "-name", name, "-uuid",
						   UUID, NULL });
	atexit(kill_qemu);
	list = wait_listed(fd, qemu, 1, 30);
	vm = broker_list_find(list, qemu);
	CHECK(!strcmp(json_string_value(json_object_get(vm, "name")), name),
	      "new QEMU listed as '%s', not '%s'",
	      json_string_value(json_object_get(vm, "name")), name);
	CHECK(!strcmp(json_string_value(json_object_get(vm, "uuid")), UUID),
	      "new QEMU's uuid '%s'",
	      json_string_value(json_object_get(vm, "uuid")));
	json_decref(list);
	ambiguous_name(fd, &g);
	cli_list(fd, qemu);

	gone = qemu;
	kill(qemu, SIGKILL);
	waitpid(qemu, NULL, 0);
	qemu = 0;
	json_decref(wait_listed(fd, gone, 0, 10));
	close(fd);
	return KH_PASS;
}
