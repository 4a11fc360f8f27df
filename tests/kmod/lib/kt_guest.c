// SPDX-License-Identifier: GPL-2.0-only
/* The test guest as an L2 (kt_guest.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_guest.h"

void kt_guest_start(struct kt_guest *kg, const char *name)
{
	kt_guest_start_as(kg, name, NULL);
}

void kt_guest_start_as(struct kt_guest *kg, const char *name,
		       const char *user)
{
	const char *build = getenv("KT_BUILD"), *repo = getenv("KT_REPO");
	char accel[16], *out;
	int status, attempt;

	CHECK(build && repo, "KT_BUILD and KT_REPO must be set (tests/kmod/run)");
	snprintf(kg->vm_sh, sizeof(kg->vm_sh), "%s/tests/guest/vm.sh", repo);
	for (attempt = 1;; attempt++) {
		snprintf(kg->rundir, sizeof(kg->rundir), "/tmp/kt-guest.XXXXXX");
		CHECK(mkdtemp(kg->rundir), "mkdtemp %s", kg->rundir);
		kg->started = true;
		/* PVH: no decompressor, the quickest boot; 512 MiB is plenty. */
		out = run_capture(&status,
				  "'%s' start '%s' --images '%s/guest' --boot pvh --ram anon --mem 512M --name '%s' --timeout 600%s%s 2>&1",
				  kg->vm_sh, kg->rundir, build, name,
				  user ? " --user " : "", user ?: "");
		/*
		 * The L2's kernel dying in its own early boot, before the
		 * module or keyhole touch it, is nested emulation's doing
		 * (seen: "XSAVE consistency problem" in fpu init, under
		 * TCG's SVM): one more boot, said on stderr. Any other
		 * failure, or a second, fails the test: a panic after the
		 * guest's own setup failed (kh-init: FAIL ...) is that
		 * failure's, not the emulator's.
		 */
		if (status && attempt == 1 && strstr(out, "exited during boot") &&
		    strstr(out, "Kernel panic") && !strstr(out, ": FAIL")) {
			fprintf(stderr, "the L2 kernel panicked while booting; booting it again:\n%s",
				out);
			free(out);
			kt_guest_stop(kg);
			continue;
		}
		break;
	}
	CHECK(status == 0, "vm.sh start failed: %s", out);
	fprintf(stderr, "%s", out);
	free(out);
	guest_load(&kg->g, kg->rundir);
	guest_option(kg->rundir, "accel", accel, sizeof(accel));
	CHECK(!strcmp(accel, "kvm"),
	      "the L2 runs with accel %s, not nested KVM (is kvm_amd loaded?)",
	      accel);
}

void kt_guest_stop(struct kt_guest *kg)
{
	char *out;
	int status;

	if (kg->started) {
		out = run_capture(&status, "'%s' stop '%s' 2>&1", kg->vm_sh,
				  kg->rundir);
		if (status)
			fprintf(stderr, "vm.sh stop: %s\n", out);
		free(out);
		out = run_capture(&status, "rm -rf '%s'", kg->rundir);
		free(out);
	}
	kg->started = false;
}
