// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole techniques` on a libvirt domain says which techniques
 * work, and, for those that do not because of the domain's XML, what to
 * add to it in libvirt's terms (XML elements, not QEMU options): shared
 * memfd RAM for memmap, the guest agent channel for agent. The live,
 * halting, interface and snapshot techniques that libvirt's monitor makes
 * possible are available on every domain: pmemsave (QEMU writes into an
 * unnamed file keyhole passes it) and the gdbstub too, which keyhole
 * starts through the monitor on a socket pair since libvirt's XML has no
 * element for one. Asking changes nothing: the domain runs after, and no
 * gdbstub chardev of keyhole's is left in it.
 */
#include "domain.h"
#include "../integration/technique.h"

static json_t *entry(json_t *list, const char *name)
{
	size_t i;
	json_t *t;

	json_array_foreach(list, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			return t;
	CHECK(0, "keyhole techniques lists no %s", name);
	return NULL;
}

static void expect(json_t *list, const char *name, int available,
		   const char *hint)
{
	json_t *t = entry(list, name);
	const char *why = json_string_value(json_object_get(t, "reason"));
	int ok = json_is_true(json_object_get(t, "available"));

	CHECK(ok == available, "%s: available %d, expected %d (%s)", name, ok,
	      available, why ? why : "");
	if (hint)
		CHECK(why && strstr(why, hint),
		      "%s: the reason '%s' does not say '%s'", name,
		      why ? why : "(none)", hint);
	if (!available && strcmp(name, "bgsnap"))
		CHECK(why && !strstr(why, "start QEMU with"),
		      "%s: the reason '%s' speaks QEMU options, not libvirt XML",
		      name, why ? why : "(none)");
}

int main(int argc, char **argv)
{
	static const char *const always[] = { "pvreadv", "procmem", "ptrace",
					      "hmp", "migrate", "dump",
					      "pmemsave", "gdbstub" };
	struct domain d;
	char *chardevs;
	json_t *doc, *list;
	size_t i;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	doc = keyhole_json(&status, "--connect '%s' techniques '%s'", d.uri,
			   d.name);
	CHECK(status == 0, "techniques: exit %d: %s", status,
	      json_dumps(doc, 0));
	list = doc_list(doc, "techniques");
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		expect(list, always[i], 1, NULL);
	expect(list, "memmap", d.memfd,
	       d.memfd ? NULL :
	       "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>");
	expect(list, "agent", d.agent,
	       d.agent ? NULL :
	       "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>");
	if (!host_uffd_wp(d.memfd))
		expect(list, "bgsnap", 0, "userfaultfd");
	else if (!unprivileged_uffd())
		expect(list, "bgsnap", 0, "vm.unprivileged_userfaultfd=1");
	else
		expect(list, "bgsnap", 1, NULL);
	domain_expect(&d, "running", "keyhole techniques");
	chardevs = virsh(&d, &status,
			 "qemu-monitor-command '%s' '{\"execute\":\"query-chardev\"}'",
			 d.name);
	CHECK(status == 0, "virsh query-chardev: %s", chardevs);
	CHECK(!strstr(chardevs, "keyhole-gdbstub"),
	      "keyhole's gdbstub chardev is left in the domain: %s", chardevs);
	free(chardevs);
	printf("techniques as expected on %s (memfd %d, agent %d)\n", d.name,
	       d.memfd, d.agent);
	return KH_PASS;
}
