/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding the QEMU process behind a VM spec (a pid, a QMP socket path or a
 * -name value) and what its command line says about guest RAM and QMP.
 */
#ifndef KH_TARGET_H
#define KH_TARGET_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct kh_target {
	pid_t pid;
	char name[256];		/* -name value (guest=... or first field) */
	char qmp_path[108];	/* unix QMP socket from argv, or "" */
	char machine[32];	/* -machine/-M type, "" if default */
	uint64_t ram_size;	/* bytes, from -m or the backend; 0 unknown */
	char mem_path[PATH_MAX];/* mem-path= of memory-backend-file, or "" */
	int ram_memfd;		/* a memory-backend-memfd backs RAM */
	/*
	 * The gdbstub's unix socket (-gdb chardev:ID or -gdb unix:PATH) and
	 * the socket of the chardev behind the qemu-ga virtio-serial port
	 * (-device virtserialport,chardev=ID,name=org.qemu.guest_agent.0),
	 * or "". kh_vm_config's gdb_path and qga_path override them.
	 * A TCP gdbstub is noted in gdb_tcp so the error can say so, and
	 * any gdbstub the owner gave QEMU (-gdb other than none, -s) in
	 * gdb_owned: keyhole never starts its own in its place.
	 */
	char gdb_path[108];
	char qga_path[108];
	int gdb_tcp;
	int gdb_owned;
	/*
	 * -uuid, and whether a control monitor is a chardev QEMU got as an
	 * inherited fd: the monitor is someone else's, libvirt's when the
	 * process is one of its domains (qemu/libvirt.c binds it then).
	 */
	char uuid[37];
	int monitor_by_fd;
	/* Who QEMU runs as: files it must write for us are given to it. */
	uid_t uid;
	gid_t gid;
	/* The libvirt domain whose QEMU this is, once bound; "" if none. */
	char libvirt_uri[256];
	char libvirt_name[256];
};

#define KH_QGA_PORT_NAME "org.qemu.guest_agent.0"

/*
 * Resolves spec (a pid, a QMP socket, a -name or -uuid value) and fills
 * t; clear errors for no such pid/not QEMU/EPERM, and ENOENT when no
 * QEMU process has that name or UUID.
 */
int kh_target_resolve(const char *spec, struct kh_target *t,
		      struct kh_err *err);

/* Pure: parses a NUL-separated /proc/PID/cmdline image into t. */
int kh_target_parse_cmdline(const char *cmdline, size_t len,
			    struct kh_target *t, struct kh_err *err);

#endif
