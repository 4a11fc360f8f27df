// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: a domain that libvirt runs, whose QEMU monitor libvirtd holds,
 * is a VM argument like any other. Named by its libvirt name, its UUID or
 * its QEMU pid, with every technique that can work on it (the live ones,
 * the halting ones through libvirt's suspend and resume, migrate's
 * stream through a socket passed to QEMU as a descriptor and libvirt's
 * core dump, memmap on shared memfd RAM, the agent through
 * libvirt's agent channel), `keyhole ps` lists every long-lived task the
 * guest reports about itself, field by field (tests/lib/ps_views.h). After
 * each, libvirt says the domain runs: nothing left it paused, and
 * libvirt's view of it stayed true.
 */
#include "ps_views.h"
#include "domain.h"
#include "../integration/technique.h"

int main(int argc, char **argv)
{
	const char *techniques[16] = { "pvreadv", "procmem", "ptrace",
				       "hmp", "migrate", "dump", "pmemsave",
				       "gdbstub" };
	int nr_techniques = 8, nr_views = 0, nr_before, nr_after, i, status;
	struct truth_task *before, *after;
	int matched = 0;
	struct view views[24];
	struct domain d;
	char spec[3][128];
	json_t *doc;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	if (d.memfd)
		techniques[nr_techniques++] = "memmap";
	if (d.agent)
		techniques[nr_techniques++] = "agent";
	if (host_uffd_wp(d.memfd) && unprivileged_uffd())
		techniques[nr_techniques++] = "bgsnap";
	snprintf(spec[0], sizeof(spec[0]), "%s", d.name);
	snprintf(spec[1], sizeof(spec[1]), "%s", d.uuid);
	snprintf(spec[2], sizeof(spec[2]), "%d", d.g.pid);

	nr_before = guest_truth_ps(&d.g, &before);
	for (i = 0; i < nr_techniques; i++) {
		struct view *v = &views[nr_views++];
		char *what = malloc(512);
		const char *s = spec[i % 3];
		/* The agent sees processes, not threads (cat of /proc). */
		const char *threads = strcmp(techniques[i], "agent") ? "-T" : "";

		CHECK(what, "out of memory");
		snprintf(what, 512, "ps %s %s via %s", threads, s,
			 techniques[i]);
		v->what = what;
		/* Its list, of a document kept to the end. */
		doc = keyhole_json_whole(&status,
					 "--connect '%s' --technique %s ps %s '%s'",
					 d.uri, techniques[i], threads, s);
		CHECK(status == 0, "%s: exit %d: %s", what, status,
		      json_dumps(doc, 0));
		v->doc = doc_list(doc, "ps");
		domain_expect(&d, "running", what);
	}
	nr_after = guest_truth_ps(&d.g, &after);

	for (i = 0; i < nr_before; i++) {
		int j;

		if (!stable(&before[i], after, nr_after))
			continue;
		matched++;
		for (j = 0; j < nr_views; j++)
			compare(&views[j], &before[i],
				strcmp(techniques[j], "agent"));
	}
	CHECK(matched > 20, "only %d stable tasks to compare", matched);
	for (i = 0; i < nr_views; i++)
		CHECK(count_comm(views[i].doc, "kh-threads") ==
		      (strcmp(techniques[i], "agent") ? 8 : 1),
		      "%s: kh-threads is listed %d times",
		      views[i].what, count_comm(views[i].doc, "kh-threads"));
	printf("%d stable tasks matched in %d views (%d techniques)\n",
	       matched, nr_views, nr_techniques);
	return KH_PASS;
}
