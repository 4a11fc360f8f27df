// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed sees libvirt's domains: a daemon of the test's own lists the
 * domain with its libvirt name and UUID (as libvirt's pid file and virsh
 * have them), answers a query that names the domain by its libvirt name
 * and by its UUID (through libvirt, whose QMP monitor it is) with the
 * guest's own processes, and leaves libvirt's state of the domain as it
 * was. Then it acts when libvirt starts and stops a domain: one that
 * `virsh create` starts while the daemon runs (a firmware that finds no
 * disk is enough to be a QEMU) is listed with libvirt's name and UUID,
 * and it is dropped once `virsh destroy` ends it.
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
	tasks = json_object_get(json_object_get(reply, "return"), "ps");
	text = json_dumps(reply, JSON_COMPACT);
	CHECK(json_is_array(tasks) && has_comm(tasks, "kh-tree") &&
	      has_comm(tasks, "kh-threads"),
	      "ps of %s through keyholed: %.500s", spec, text);
	free(text);
	json_decref(reply);
}

static const struct domain *born_of;
static char born[64];

static void destroy_born(void)
{
	char *out;
	int status;

	if (!born[0])
		return;
	out = virsh(born_of, &status, "destroy '%s' 2>&1", born);
	free(out);
	born[0] = '\0';
}

/* The daemon's entry for the domain named name, or NULL. */
static json_t *find_by_libvirt_name(json_t *list, const char *name)
{
	size_t i;
	json_t *vm;

	json_array_foreach(list, i, vm) {
		json_t *lv = json_object_get(vm, "libvirt");

		if (!strcmp(json_string_value(json_object_get(lv, "name")) ?: "",
			    name))
			return vm;
	}
	return NULL;
}

/*
 * What keyholed lists under name's -name, and what libvirt's pid file
 * says: for a failure to show which of the two did not come.
 */
static void explain(json_t *list, const char *name)
{
	char path[256], *out;
	size_t i;
	json_t *vm;
	int status;

	json_array_foreach(list, i, vm)
		if (strstr(json_string_value(json_object_get(vm, "name")) ?: "",
			   name))
			fprintf(stderr, "keyholed lists: %s\n",
				json_dumps(vm, JSON_COMPACT));
	snprintf(path, sizeof(path), "/run/libvirt/qemu/%s.pid", name);
	out = run_capture(&status,
			  "echo \"pid file: $(cat '%s' 2>&1)\"; pgrep -af 'guest=%s'",
			  path, name);
	fprintf(stderr, "%s", out);
	free(out);
}

static json_t *wait_listed(int fd, const char *name, int want, double end)
{
	json_t *list, *vm;
	int late;

	for (;;) {
		late = broker_now() >= end;
		list = broker_list(fd);
		vm = find_by_libvirt_name(list, name);
		if (!!vm == want)
			return list;
		if (late)
			explain(list, name);
		json_decref(list);
		CHECK(!late, "domain %s %s keyholed's list in time",
		      name, want ? "never entered" : "never left");
		usleep(100000);
	}
}

static void born_and_destroyed(int fd, const struct domain *d,
			       const char *dir)
{
	char xml[256], name[64], *out, uuid[64] = "";
	json_t *list, *lv;
	int status;
	FILE *f;

	snprintf(born, sizeof(born), "kh-born-%d", (int)getpid());
	born_of = d;
	atexit(destroy_born);
	snprintf(xml, sizeof(xml), "%s/born.xml", dir);
	f = fopen(xml, "w");
	CHECK(f, "create %s", xml);
	fprintf(f, "<domain type='qemu'><name>%s</name>"
		"<memory unit='MiB'>32</memory>"
		"<os><type arch='x86_64' machine='pc'>hvm</type></os>"
		"<devices/></domain>\n", born);
	CHECK(!fclose(f), "write %s", xml);
	out = virsh(d, &status, "create '%s' 2>&1", xml);
	CHECK(status == 0, "virsh create %s: %s", xml, out);
	free(out);
	out = virsh(d, &status, "domuuid '%s'", born);
	CHECK(status == 0 && sscanf(out, "%63s", uuid) == 1,
	      "virsh domuuid %s: %s", born, out);
	free(out);

	list = wait_listed(fd, born, 1, broker_now() + 60);
	lv = json_object_get(find_by_libvirt_name(list, born), "libvirt");
	CHECK(!strcasecmp(json_string_value(json_object_get(lv, "uuid")) ?: "",
			  uuid),
	      "domain %s listed with %s, not UUID %s", born,
	      json_dumps(lv, JSON_COMPACT), uuid);
	json_decref(list);

	snprintf(name, sizeof(name), "%s", born);
	destroy_born();
	json_decref(wait_listed(fd, name, 0, broker_now() + 60));
	unlink(xml);
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
	born_and_destroyed(fd, &d, dir);

	close(fd);
	kill(daemon, SIGTERM);
	CHECK(broker_wait_exit(daemon, 120) == 0, "keyholed did not stop; see %s",
	      log);
	unlink(log);
	rmdir(dir);
	return KH_PASS;
}
