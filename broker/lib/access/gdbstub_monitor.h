/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A gdbstub started through QEMU's monitor for a VM that runs without
 * one (every libvirt domain: its XML has no element for a gdbstub).
 * keyhole makes a socket pair and passes one end to QEMU (getfd), makes
 * that end a chardev (chardev-add, a socket backend on the fd) and has
 * the gdbstub serve it (HMP `gdbserver chardev:ID`: QMP has no command
 * for it). The other end is the debugger's connection, so nothing
 * listens anywhere and no other process can reach the stub (the QEMUs
 * of all libvirt domains share one user). `gdbserver none` stops it and
 * deletes the chardev. QEMU has one gdbstub: a QEMU whose owner gave it
 * one (-gdb, -s) is never given ours, which would replace it.
 */
#ifndef KH_GDBSTUB_MONITOR_H
#define KH_GDBSTUB_MONITOR_H

#include "access/technique.h"

/* Whether acc's QEMU gets a stub through its monitor (else its socket). */
int kh_gdbstub_monitor_usable(const struct kh_access *acc);

/*
 * Starts the stub: returns our end of its connection, or -errno (EBUSY
 * when another keyhole's stub serves this QEMU). Starting it halts the
 * guest, as connecting to a listening stub does, but QEMU sends no stop
 * reply for it: *was_running says whether the guest ran before.
 */
int kh_gdbstub_monitor_start(struct kh_access *acc, int *was_running,
			     struct kh_err *err);

/* Stops it (after our end is closed). */
int kh_gdbstub_monitor_stop(struct kh_access *acc, struct kh_err *err);

#endif /* KH_GDBSTUB_MONITOR_H */
