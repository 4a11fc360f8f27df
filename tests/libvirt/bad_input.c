// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: what goes wrong around a libvirt domain gets an error that names
 * it, and exit status 1, never a hang or a wrong VM: a domain name libvirt
 * does not know, a connection URI libvirt refuses, a libvirtd that does
 * not answer on its socket (the same failure as one that is not running;
 * kill_libvirtd.c stops the real one), and a domain that is defined but
 * shut off, so that there is no QEMU to look into. Afterwards the domain
 * runs as before.
 */
#include "domain.h"

static void expect_error(const char *what, const char *want, const char *fmt,
			 ...)
{
	char args[1024], *out;
	json_t *doc, *e;
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	out = run_capture(&status, "%s --json %s",
			  env_or("KEYHOLE", "build/bin/keyhole"), args);
	CHECK(status == 1, "%s: exit %d, expected 1: %s", what, status, out);
	doc = json_loads(out, 0, NULL);
	e = json_object_get(doc, "error");
	CHECK(json_is_string(e) && strstr(json_string_value(e), want),
	      "%s: the error does not say '%s': %s", what, want, out);
	keyhole_doc_rule(doc, status, args);
	printf("%s: %s\n", what, json_string_value(e));
	json_decref(doc);
	free(out);
}

int main(int argc, char **argv)
{
	char name[160], want[256], *out;
	struct domain d;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);

	snprintf(name, sizeof(name), "kh-no-such-domain-%d", (int)getpid());
	snprintf(want, sizeof(want), "libvirt at %s has no domain named '%s'",
		 d.uri, name);
	expect_error("wrong name", want, "--connect '%s' ps %s", d.uri, name);

	expect_error("wrong URI", "cannot connect to libvirt at qemu:///nosuch",
		     "--connect qemu:///nosuch ps '%s'", d.name);
	expect_error("no libvirtd on the socket",
		     "cannot connect to libvirt at qemu:///system?socket=/nonexistent/libvirt-sock",
		     "--connect 'qemu:///system?socket=/nonexistent/libvirt-sock' ps '%s'",
		     d.name);

	/* The running domain's XML, under a new name and UUID, defined only. */
	snprintf(name, sizeof(name), "kh-shut-off-%d", (int)getpid());
	out = virsh(&d, &status,
		    "dumpxml '%s' | sed -e \"s|<name>.*</name>|<name>%s</name>|\" -e '/<uuid>/d' > '%s/shut-off.xml' && virsh -q -c '%s' define '%s/shut-off.xml'",
		    d.name, name, d.g.rundir, d.uri, d.g.rundir);
	CHECK(status == 0, "defining %s: %s", name, out);
	free(out);
	snprintf(want, sizeof(want), "libvirt domain %s at %s is shut off",
		 name, d.uri);
	expect_error("defined, not running", want, "--connect '%s' ps %s",
		     d.uri, name);
	free(virsh(&d, &status, "undefine '%s'", name));
	CHECK(status == 0, "undefine %s failed", name);

	domain_expect(&d, "running", "the bad inputs");
	return KH_PASS;
}
