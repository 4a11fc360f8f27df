// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole list` shows a libvirt domain's QEMU as that domain:
 * libvirt.name is the domain's name and libvirt.uuid the UUID `virsh
 * domuuid` gives, libvirt.uri the instance that runs it, RAM the size it
 * was started with, and the text's LIBVIRT column names it. The identity
 * comes from libvirt's own files, no libvirt call: a keyhole built
 * without libvirt (make check builds one, check-without-libvirt) says
 * the same, and it is checked too when it is there. A process that copies
 * the domain's name and UUID (with an executable named like QEMU) is
 * listed as what it is: a QEMU, not the domain. Asking changes nothing:
 * the domain runs after.
 */
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "domain.h"

/* What virsh says the domain's UUID is. */
static void virsh_uuid(const struct domain *d, char *uuid, size_t size)
{
	int status;
	char *out = virsh(d, &status, "domuuid '%s'", d->name);

	CHECK(status == 0, "virsh domuuid %s: %s", d->name, out);
	out[strcspn(out, "\n")] = '\0';
	snprintf(uuid, size, "%s", out);
	free(out);
}

static void check(const char *keyhole, const struct domain *d,
		  const char *uuid)
{
	char mem[32], cmd[4200], *out, *line, *save = NULL;
	json_t *doc, *list, *vm, *lv;
	int status, seen = 0;

	out = run_capture(&status, "'%s' --json list", keyhole);
	doc = json_loads(out, 0, NULL);
	CHECK(status == 0 && doc, "%s --json list: exit %d: %s", keyhole,
	      status, out);
	free(out);
	keyhole_doc_rule(doc, status, "--json list");
	list = doc_list(doc, "list");
	vm = json_by_pid(list, d->g.pid);
	CHECK(vm, "%s list does not show QEMU %d of domain %s", keyhole,
	      d->g.pid, d->name);
	lv = json_object_get(vm, "libvirt");
	CHECK(json_is_object(lv), "%s: QEMU %d is no libvirt domain: %s",
	      keyhole, d->g.pid, json_dumps(vm, 0));
	CHECK(!strcmp(json_need_str(lv, "name"), d->name),
	      "libvirt.name '%s', the domain is '%s'", json_need_str(lv, "name"),
	      d->name);
	CHECK(!strcasecmp(json_need_str(lv, "uuid"), uuid),
	      "libvirt.uuid '%s', virsh domuuid says '%s'", json_need_str(lv, "uuid"),
	      uuid);
	if (!strcmp(d->uri, "qemu:///system") ||
	    !strcmp(d->uri, "qemu:///session"))
		CHECK(!strcmp(json_need_str(lv, "uri"), d->uri), "libvirt.uri '%s', not %s",
		      json_need_str(lv, "uri"), d->uri);
	CHECK(!strcmp(json_need_str(vm, "name"), d->name) &&
	      !strcasecmp(json_need_str(vm, "uuid"), uuid),
	      "-name '%s' -uuid '%s'", json_need_str(vm, "name"), json_need_str(vm, "uuid"));
	guest_option(d->g.rundir, "mem", mem, sizeof(mem));
	CHECK(json_integer_value(json_object_get(vm, "ram_bytes")) ==
	      (json_int_t)strtoull(mem, NULL, 10) <<
	      (strchr("gG", mem[strlen(mem) - 1]) ? 30 : 20),
	      "ram_bytes %lld for %s", (long long)json_integer_value(
		      json_object_get(vm, "ram_bytes")), mem);
	json_decref(doc);

	snprintf(cmd, sizeof(cmd), "'%s' list", keyhole);
	out = run_capture(&status, "%s", cmd);
	CHECK(status == 0, "%s: exit %d: %s", cmd, status, out);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char pid[32], name[256], libvirt[256];

		if (sscanf(line, "%31s %255s %255s", pid, name, libvirt) == 3 &&
		    atoi(pid) == d->g.pid) {
			CHECK(!strcmp(libvirt, d->name),
			      "text LIBVIRT column '%s', not %s", libvirt,
			      d->name);
			seen = 1;
		}
	}
	CHECK(seen, "%s shows no line for pid %d", cmd, d->g.pid);
	free(out);
	printf("ok: %s: pid %d is libvirt domain %s %s\n", keyhole, d->g.pid,
	       d->name, uuid);
}

/*
 * A shell under QEMU's name with the domain's -name and -uuid, sleeping
 * (see impostor.c); exe gets the copy, in a directory of its own.
 */
static pid_t start_impostor(const struct domain *d, char *exe, size_t size)
{
	char dir[] = "/tmp/kh-list-impostor.XXXXXX", guest[200];
	int status;
	pid_t pid;

	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(exe, size, "%s/qemu-system-x86_64", dir);
	free(run_capture(&status, "cp /bin/sh '%s'", exe));
	CHECK(status == 0, "cannot copy /bin/sh to %s", exe);
	snprintf(guest, sizeof(guest), "guest=%s,debug-threads=on", d->name);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		/* "; :" keeps sh from exec'ing sleep. */
		execl(exe, "qemu-system-x86_64", "-c", "sleep 600; :", "-name",
		      guest, "-uuid", d->uuid, (char *)NULL);
		_exit(127);
	}
	wait_cmdline(pid, "qemu-system-x86_64");
	return pid;
}

static void check_impostor(const char *keyhole, const struct domain *d)
{
	char exe[128];
	json_t *doc, *list, *vm;
	int status;
	pid_t pid;
	char *out;

	pid = start_impostor(d, exe, sizeof(exe));
	out = run_capture(&status, "'%s' --json list", keyhole);
	doc = json_loads(out, 0, NULL);
	CHECK(status == 0 && doc, "list: exit %d: %s", status, out);
	free(out);
	keyhole_doc_rule(doc, status, "--json list");
	list = doc_list(doc, "list");
	vm = json_by_pid(list, pid);
	CHECK(vm && !strcmp(json_need_str(vm, "name"), d->name) &&
	      json_is_null(json_object_get(vm, "libvirt")),
	      "an impostor of domain %s: %s", d->name,
	      vm ? json_dumps(vm, 0) : "not listed");
	CHECK(json_is_object(json_object_get(json_by_pid(list, d->g.pid), "libvirt")),
	      "the real domain lost its identity beside an impostor");
	json_decref(doc);
	free(run_capture(&status, "pkill -KILL -P %d", (int)pid));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(exe);
	*strrchr(exe, '/') = '\0';
	rmdir(exe);
	printf("ok: an impostor with the domain's name and UUID is no domain\n");
}

int main(int argc, char **argv)
{
	char uuid[64], other[4096], dir[4096];
	const char *keyhole = env_or("KEYHOLE", "build/bin/keyhole");
	struct domain d;
	struct stat st;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	virsh_uuid(&d, uuid, sizeof(uuid));
	CHECK(!strcasecmp(uuid, d.uuid), "virsh domuuid %s, started with %s",
	      uuid, d.uuid);

	check(keyhole, &d, uuid);
	/* BUILD/bin/keyhole's sibling build, BUILD/without-libvirt. */
	snprintf(dir, sizeof(dir), "%s", keyhole);
	snprintf(other, sizeof(other), "%s/../without-libvirt/bin/keyhole",
		 dirname(dir));
	if (!stat(other, &st))
		check(other, &d, uuid);
	else
		printf("no keyhole without libvirt at %s (make check-without-libvirt): only this build checked\n",
		       other);
	check_impostor(keyhole, &d);
	domain_expect(&d, "running", "keyhole list");
	return KH_PASS;
}
