/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The project's test guest (tests/guest/vm.sh, a real Linux with its
 * kh-truth daemon) as an L2 under nested KVM in the L1, for the tests
 * that need a real kernel to introspect rather than the counter payload.
 */
#ifndef KT_GUEST_H
#define KT_GUEST_H

#include <stdbool.h>

#include "guest.h"

struct kt_guest {
	char rundir[32];
	char vm_sh[4096];
	bool started;
	struct guest g;
};

/*
 * Boots it (PVH, 512 MiB of anonymous RAM, named name) from
 * $KT_BUILD/guest with $KT_REPO/tests/guest/vm.sh; fails the test unless
 * it runs under KVM and answers.
 */
void kt_guest_start(struct kt_guest *kg, const char *name);
/* The same with QEMU run as user (vm.sh --user). */
void kt_guest_start_as(struct kt_guest *kg, const char *name,
		       const char *user);
/* Stops it, if started, and removes its folder; safe at exit. */
void kt_guest_stop(struct kt_guest *kg);

#endif
