/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the tests of libvirt domains share: the domain of a rundir that
 * tests/guest/libvirt.sh started (its name, UUID and connection URI) and
 * libvirt's own view of it, asked of virsh, never of keyhole.
 */
#ifndef KH_TEST_DOMAIN_H
#define KH_TEST_DOMAIN_H

#include "guest.h"
#include "qemu/libvirt.h"

struct domain {
	struct guest g;
	char name[128];
	char uuid[64];
	char uri[256];
	int agent;		/* it has the guest agent channel */
	int memfd;		/* shared memfd RAM */
};

static inline void domain_load(struct domain *d, const char *rundir)
{
	char val[64];

	guest_load(&d->g, rundir);
	guest_option(rundir, "name", d->name, sizeof(d->name));
	guest_option(rundir, "uuid", d->uuid, sizeof(d->uuid));
	guest_option(rundir, "uri", d->uri, sizeof(d->uri));
	guest_option(rundir, "agent", val, sizeof(val));
	d->agent = !strcmp(val, "1");
	d->memfd = !strcmp(d->g.ram, "memfd");
	CHECK(d->name[0] && d->uuid[0] && d->uri[0],
	      "%s/options does not name a libvirt domain", rundir);
	/* A keyhole without libvirt would make every test here fail late. */
	CHECK(kh_libvirt_built(), "keyhole was built without libvirt");
}

/* virsh -c URI ARGS; its output, which the caller frees. */
static inline char *virsh(const struct domain *d, int *status,
			  const char *fmt, ...)
{
	char args[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return run_capture(status, "virsh -q -c '%s' %s", d->uri, args);
}

/* libvirt's state of the domain: "running", "paused", "shut off"... */
static inline void domain_state(const struct domain *d, char *state,
				size_t size)
{
	int status;
	char *out = virsh(d, &status, "domstate '%s'", d->name);

	CHECK(status == 0, "virsh domstate %s: %s", d->name, out);
	out[strcspn(out, "\n")] = '\0';
	snprintf(state, size, "%s", out);
	free(out);
}

static inline void domain_expect(const struct domain *d, const char *want,
				 const char *after)
{
	char state[64];

	domain_state(d, state, sizeof(state));
	CHECK(!strcmp(state, want), "after %s libvirt says domain %s is %s, not %s",
	      after, d->name, state, want);
}

/*
 * Whether QEMU, which libvirt runs as an unprivileged user, may use
 * userfaultfd (background snapshots need it): the sysctl says.
 */
static inline int unprivileged_uffd(void)
{
	FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
	int c = '0';

	if (f) {
		c = fgetc(f);
		fclose(f);
	}
	return c == '1';
}

#endif
