// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed sees libvirt's domains: a daemon of the test's own lists the
 * domain with its libvirt name and UUID (as libvirt's pid file and virsh
 * have them), answers a query that names the domain by its libvirt name
 * and by its UUID (through libvirt, whose QMP monitor it is) with the
 * guest's own processes, and leaves libvirt's state of the domain as it
 * was.
 */
#include "broker.h"
#include "domain.h"

static int has_comm(json_t *tasks, const char *comm)
{
	size_t i;
	json_t *t;

	json_array_foreach(tasks, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "comm")) ?: "",
			    comm))
			return 1;
	return 0;
}

static void ps_by(int fd, const char *spec)
{
	char request[512], *text;
	json_t *reply, *tasks;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"%s\"},\"id\":2}",
		 spec);
	reply = broker_call(fd, request);
	tasks = json_object_get(reply, "return");
	text = json_dumps(reply, JSON_COMPACT);
	CHECK(json_is_array(tasks) && has_comm(tasks, "kh-tree") &&
	      has_comm(tasks, "kh-threads"),
	      "ps of %s through keyholed: %.500s", spec, text);
	free(text);
	json_decref(reply);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/kh-lvbroker.XXXXXX", path[256], log[256];
	double end = broker_now() + 30;
	json_t *list, *vm, *lv;
	struct domain d;
	pid_t daemon;
	int fd;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/keyholed.sock", dir);
	snprintf(log, sizeof(log), "%s/keyholed.log", dir);
	daemon = broker_start(path, log);
	fd = broker_connect(path);

	for (;;) {
		list = broker_list(fd);
		vm = broker_list_find(list, d.g.pid);
		if (vm)
			break;
		json_decref(list);
		CHECK(broker_now() < end, "domain %s (pid %d) not listed",
		      d.name, d.g.pid);
		usleep(100000);
	}
	lv = json_object_get(vm, "libvirt");
	CHECK(json_is_object(lv), "no libvirt identity: %s",
	      json_dumps(vm, JSON_COMPACT));
	CHECK(!strcmp(json_string_value(json_object_get(lv, "name")) ?: "",
		      d.name) &&
	      !strcasecmp(json_string_value(json_object_get(lv, "uuid")) ?: "",
			  d.uuid),
	      "libvirt identity %s, not %s %s", json_dumps(lv, JSON_COMPACT),
	      d.name, d.uuid);
	json_decref(list);

	ps_by(fd, d.name);
	ps_by(fd, d.uuid);
	domain_expect(&d, "running", "queries through keyholed");

	close(fd);
	kill(daemon, SIGTERM);
	CHECK(broker_wait_exit(daemon, 120) == 0, "keyholed did not stop; see %s",
	      log);
	unlink(log);
	rmdir(dir);
	return KH_PASS;
}
