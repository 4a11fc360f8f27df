// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qemu/: everything about the QEMU process itself: finding it (this
 * file, and discover.c for every QEMU on the host) and reading its
 * command line (cmdline.c), where guest RAM lies in it (ram_layout.c,
 * its pure parsers in ram_layout_parse.c), and the clients of what it
 * serves: QMP (qmp.c), the guest agent (guest_agent.c), the gdbstub's
 * packets (gdb_packet.c) over chardev sockets (chardev_socket.c), and the
 * migration stream format (migration_stream.c). It calls nothing else of
 * the engine but error reporting; everything else builds on it.
 *
 * This file: finding the QEMU process behind a VM spec.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/discover.h"
#include "qemu/process.h"
#include "qemu/qmp.h"

#define QMP_TIMEOUT_MS	2000

/*
 * The caller may read QEMU's memory: the kernel's ptrace check (Yama's
 * too) on opening /proc/PID/mem, which every technique's access needs.
 */
static int may_read_memory(pid_t pid, struct kh_err *err)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	ret = errno;
	if (ret == EACCES || ret == EPERM)
		return kh_err_set(err, ret,
				  "cannot read %s of QEMU pid %d: permission denied (need ptrace access, e.g. run as root)",
				  path, (int)pid);
	if (ret == ENOENT || ret == ESRCH)
		return kh_err_set(err, ESRCH,
				  "QEMU pid %d exited while being looked at",
				  (int)pid);
	return kh_err_set(err, ret, "cannot open %s: %s", path,
			  strerror(ret));
}

static int resolve_pid(pid_t pid, struct kh_target *t, struct kh_err *err)
{
	struct kh_qemu_view *view = malloc(sizeof(*view));
	int ret;

	if (!view)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_qemu_read(pid, view, err);
	if (!ret)
		ret = may_read_memory(pid, err);
	if (!ret && view->cmdline_ret) {
		ret = view->cmdline_ret;
		if (err)
			*err = view->cmdline_err;
	}
	if (!ret)
		*t = view->t;
	free(view);
	return ret;
}

static int resolve_socket(const char *spec, struct kh_target *t,
			  struct kh_err *err)
{
	struct kh_qmp *qmp;
	pid_t pid;
	int ret;

	if (strlen(spec) >= sizeof(t->qmp_path))
		return kh_err_set(err, ENAMETOOLONG,
				  "socket path %s is longer than %zu bytes",
				  spec, sizeof(t->qmp_path) - 1);
	ret = kh_qmp_connect(spec, QMP_TIMEOUT_MS, &qmp, err);
	if (ret)
		return ret;
	pid = kh_qmp_peer_pid(qmp);
	kh_qmp_close(qmp);
	if (pid <= 0)
		return kh_err_set(err, ESRCH,
				  "cannot tell which process serves %s (no SO_PEERCRED)",
				  spec);
	ret = resolve_pid(pid, t, err);
	if (!ret)
		strcpy(t->qmp_path, spec);
	return ret;
}

/*
 * The QEMU process whose -name or -uuid is name; errors when there is
 * not exactly one.
 */
static int resolve_name(const char *name, struct kh_target *t,
			struct kh_err *err)
{
	struct kh_qemu_proc *list;
	unsigned int nr, i;
	pid_t found = 0;
	int ret;

	ret = kh_qemu_discover(&list, &nr, err);
	if (ret)
		return ret;
	for (i = 0; i < nr; i++) {
		if (strcmp(list[i].name, name) &&
		    strcasecmp(list[i].uuid, name))
			continue;
		if (found) {
			ret = kh_err_set(err, ENOTUNIQ,
					 "VM name '%s' is ambiguous: QEMU pids %d and %d both have it as -name or -uuid; give a pid instead",
					 name, (int)found, (int)list[i].pid);
			break;
		}
		found = list[i].pid;
	}
	free(list);
	if (ret)
		return ret;
	if (!found)
		return kh_err_set(err, ENOENT,
				  "no QEMU process has -name or -uuid '%s' (and it is not a pid or a socket path)",
				  name);
	return resolve_pid(found, t, err);
}

int kh_target_resolve(const char *spec, struct kh_target *t,
		      struct kh_err *err)
{
	const char *p;
	struct stat st;
	char *end;
	long pid;

	memset(t, 0, sizeof(*t));
	if (!spec || !spec[0])
		return kh_err_set(err, EINVAL,
				  "no VM given: expected a QEMU pid, a QMP socket path or a -name value");

	for (p = spec; isdigit((unsigned char)*p); p++)
		;
	if (!*p) {
		errno = 0;
		pid = strtol(spec, &end, 10);
		if (errno || pid <= 0 || pid > INT_MAX)
			return kh_err_set(err, ESRCH, "no process with pid %s",
					  spec);
		return resolve_pid(pid, t, err);
	}

	if (!stat(spec, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return kh_err_set(err, ENOTSOCK,
					  "%s is not a unix socket (expected a QEMU pid, a QMP socket path or a -name value)",
					  spec);
		return resolve_socket(spec, t, err);
	}
	if (strchr(spec, '/'))
		return kh_err_set(err, ENOENT, "no QMP socket at %s: %s", spec,
				  strerror(errno));
	return resolve_name(spec, t, err);
}
