/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU processes that libvirt runs. libvirtd holds their QMP monitor and
 * guest agent, so keyhole reaches both through libvirt's client library:
 * the commands libvirt has an API for (run state, suspend and resume,
 * memory-only core dump) through that API, which keeps libvirt's view of
 * the domain true and does not taint it; the rest through
 * virDomainQemuMonitorCommand and virDomainQemuAgentCommand, which libvirt
 * marks as "custom-monitor" and "custom-ga-command" taint.
 *
 * Built only with libvirt's development files (pkg-config finds
 * libvirt-qemu); without them each function fails with ENOTSUP.
 */
#ifndef KH_LIBVIRT_H
#define KH_LIBVIRT_H

#include "err.h"
#include "qemu/guest_agent.h"
#include "qemu/process.h"
#include "qemu/qmp.h"

/* What virsh connects to as root when nothing else is said. */
#define KH_LIBVIRT_DEFAULT_URI	"qemu:///system"

/* Whether this build can talk to libvirt. */
int kh_libvirt_built(void);

/*
 * Whether QEMU process t is a domain libvirt runs: its monitor is held on
 * an fd, and libvirt's pid file for the domain of its -name names it (1).
 * 0 when nothing says so (it is then treated as any QEMU); EPERM when the
 * pid file names another process (t claims a domain it is not).
 */
int kh_libvirt_claims(const struct kh_target *t, struct kh_err *err);

/*
 * Binds a claimed t to the active libvirt domain at uri with t's name and
 * UUID (looked up by UUID: a name can be reused, a UUID cannot).
 */
int kh_libvirt_bind(struct kh_target *t, const char *uri,
		    struct kh_err *err);

/*
 * No QEMU process answers to spec: says what libvirt at uri knows of a
 * domain of that name or UUID (not running; none; libvirt unreachable),
 * appended to err, which holds the process search's error. Returns it.
 */
int kh_libvirt_explain_missing(const char *uri, const char *spec,
			       struct kh_err *err);

/* The monitor and the agent of a bound target, through libvirt. */
int kh_libvirt_monitor(const struct kh_target *t, struct kh_qmp **qmpp,
		       struct kh_err *err);
int kh_libvirt_agent(const struct kh_target *t, int timeout_ms,
		     struct kh_qga **qgap, struct kh_err *err);

#endif /* KH_LIBVIRT_H */
