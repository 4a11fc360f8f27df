// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: a process that only claims to be a libvirt domain's QEMU (its
 * executable is named like QEMU and its command line, which anyone can
 * write, copies the domain's -name and -uuid and has a monitor on an fd)
 * is never bound to the domain: keyhole refuses it by libvirt's pid file
 * when it takes the domain's name, treats it as a QEMU of its own when it
 * takes another name, and calls a UUID that two processes claim
 * ambiguous; one whose argv alone says QEMU is no QEMU at all. The real
 * domain is never suspended or touched meanwhile.
 */
#include <signal.h>
#include <sys/stat.h>

#include "domain.h"

/* A shell under QEMU's name: a name anyone can give an executable. */
static char fake_qemu[64];

static void make_fake_qemu(void)
{
	char dir[] = "/tmp/kh-impostor.XXXXXX";
	int status;

	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(fake_qemu, sizeof(fake_qemu), "%s/qemu-system-x86_64", dir);
	free(run_capture(&status, "cp /bin/sh '%s'", fake_qemu));
	CHECK(status == 0, "cannot copy /bin/sh to %s", fake_qemu);
}

static void remove_fake_qemu(void)
{
	char *slash = strrchr(fake_qemu, '/');

	unlink(fake_qemu);
	*slash = '\0';
	rmdir(fake_qemu);
}

/* A sleeping process whose executable and command line say it is QEMU. */
static pid_t impostor(const char *exe, const char *name, const char *uuid)
{
	char guest[200];
	pid_t pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		snprintf(guest, sizeof(guest), "guest=%s,debug-threads=on",
			 name);
		/* sh stays, argv[0] as given: "; :" keeps it from exec'ing. */
		execl(exe, "qemu-system-x86_64", "-c",
		      "sleep 600; :", "-name", guest,
		      "-uuid", uuid, "-chardev",
		      "socket,id=charmonitor,fd=3,server=on,wait=off", "-mon",
		      "chardev=charmonitor,id=monitor,mode=control",
		      (char *)NULL);
		_exit(127);
	}
	/* Until its command line is the one it claims (exec is done). */
	wait_cmdline(pid, "qemu-system-x86_64");
	return pid;
}

/* The shell and its sleep. */
static void kill_impostor(pid_t pid)
{
	int status;

	free(run_capture(&status, "pkill -KILL -P %d", (int)pid));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static json_t *keyhole_error(const struct domain *d, const char *spec,
			     int *status)
{
	json_t *doc = keyhole_json(status, "--connect '%s' -t hmp ps '%s'",
				   d->uri, spec);

	return doc;
}

int main(int argc, char **argv)
{
	char spec[32], other[200];
	const char *msg;
	struct domain d;
	json_t *doc;
	pid_t pid;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	make_fake_qemu();

	/* A command line alone does not make a QEMU. */
	pid = impostor("/bin/sh", d.name, d.uuid);
	snprintf(spec, sizeof(spec), "%d", (int)pid);
	doc = keyhole_error(&d, spec, &status);
	msg = json_string_value(json_object_get(doc, "error"));
	CHECK(status == 1 && msg && strstr(msg, "not a QEMU process"),
	      "a shell whose argv says QEMU: exit %d: %s", status,
	      msg ? msg : "(no error)");
	printf("argv only: %s\n", msg);
	json_decref(doc);
	kill_impostor(pid);

	/* The domain's own name: libvirt's pid file names the real QEMU. */
	pid = impostor(fake_qemu, d.name, d.uuid);
	snprintf(spec, sizeof(spec), "%d", (int)pid);
	doc = keyhole_error(&d, spec, &status);
	msg = json_string_value(json_object_get(doc, "error"));
	CHECK(status == 1 && msg &&
	      strstr(msg, "but libvirt runs that domain as another process"),
	      "an impostor with the domain's name and UUID: exit %d: %s",
	      status, msg ? msg : "(no error)");
	printf("same name: %s\n", msg);
	json_decref(doc);

	/* Its UUID now names two processes. */
	doc = keyhole_error(&d, d.uuid, &status);
	msg = json_string_value(json_object_get(doc, "error"));
	CHECK(status == 1 && msg && strstr(msg, "ambiguous"),
	      "a UUID two processes claim: exit %d: %s", status,
	      msg ? msg : "(no error)");
	json_decref(doc);
	kill_impostor(pid);

	/* Another name: no pid file says it is libvirt's, so it is not. */
	snprintf(other, sizeof(other), "%s-impostor", d.name);
	pid = impostor(fake_qemu, other, d.uuid);
	snprintf(spec, sizeof(spec), "%d", (int)pid);
	doc = keyhole_error(&d, spec, &status);
	msg = json_string_value(json_object_get(doc, "error"));
	CHECK(status == 1 && msg && !strstr(msg, "libvirt domain"),
	      "an impostor under another name was taken for a domain: exit %d: %s",
	      status, msg ? msg : "(no error)");
	printf("other name: %s\n", msg);
	json_decref(doc);
	kill_impostor(pid);
	remove_fake_qemu();

	domain_expect(&d, "running", "the impostors");
	return KH_PASS;
}
