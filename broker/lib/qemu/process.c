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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/qmp.h"
#include "qemu/process.h"

#define MAX_CMDLINE	(1 << 20)	/* /proc caps argv far below this */
#define QMP_TIMEOUT_MS	2000

static int read_file(const char *path, char *buf, size_t size, size_t *len)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	*len = got;
	return 0;
}

/* argv[0] or the executable is qemu-system-*; *comm gets the name. */
static int is_qemu(pid_t pid, const char *cmdline, size_t len, char *comm,
		   size_t commsz)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	size_t n = 0;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (!read_file(path, comm, commsz - 1, &n) && n && comm[n - 1] == '\n')
		n--;
	comm[n] = '\0';

	if (len) {
		base = strrchr(cmdline, '/');
		base = base ? base + 1 : cmdline;
		if (!strncmp(base, "qemu-system-", 12))
			return 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	r = readlink(path, exe, sizeof(exe) - 1);
	if (r > 0) {
		exe[r] = '\0';
		base = strrchr(exe, '/');
		base = base ? base + 1 : exe;
		if (!strncmp(base, "qemu-system-", 12))
			return 1;
	}
	return 0;
}

/* A relative socket path on QEMU's argv is relative to QEMU's cwd. */
static void absolute_path(pid_t pid, char sock[108])
{
	char path[64], cwd[PATH_MAX], full[PATH_MAX + 108];
	ssize_t n;

	if (!sock[0] || sock[0] == '/')
		return;
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
	n = readlink(path, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return;
	cwd[n] = '\0';
	snprintf(full, sizeof(full), "%s/%s", cwd, sock);
	if (strlen(full) < 108)
		strcpy(sock, full);
}

static int resolve_pid(pid_t pid, struct kh_target *t, struct kh_err *err)
{
	char path[64], comm[64];
	struct stat st;
	size_t len;
	char *cmdline;
	int fd, ret;

	cmdline = malloc(MAX_CMDLINE);
	if (!cmdline)
		return kh_err_set(err, ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ret = read_file(path, cmdline, MAX_CMDLINE, &len);
	if (ret == -ENOENT || ret == -ESRCH) {
		ret = kh_err_set(err, ESRCH, "no process with pid %d",
				 (int)pid);
		goto out;
	}
	if (ret) {
		ret = kh_err_set(err, -ret, "cannot read %s: %s", path,
				 strerror(-ret));
		goto out;
	}
	if (!is_qemu(pid, cmdline, len, comm, sizeof(comm))) {
		ret = kh_err_set(err, ENOEXEC,
				 len || comm[0] ?
				 "pid %d is '%s', not a QEMU process" :
				 "pid %d%s is a kernel thread or a zombie, not a QEMU process",
				 (int)pid, comm);
		goto out;
	}
	if (len == MAX_CMDLINE) {
		ret = kh_err_set(err, E2BIG,
				 "the command line of QEMU pid %d is longer than %d bytes",
				 (int)pid, MAX_CMDLINE);
		goto out;
	}

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EACCES || ret == -EPERM)
			ret = kh_err_set(err, -ret,
					 "cannot read %s of QEMU pid %d: permission denied (need ptrace access, e.g. run as root)",
					 path, (int)pid);
		else if (ret == -ENOENT)
			ret = kh_err_set(err, ESRCH,
					 "QEMU pid %d exited while being looked at",
					 (int)pid);
		else
			ret = kh_err_set(err, -ret, "cannot open %s: %s",
					 path, strerror(-ret));
		goto out;
	}
	close(fd);

	t->pid = pid;
	ret = kh_target_parse_cmdline(cmdline, len, t, err);
	/* /proc/PID belongs to the process's effective ids. */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (!ret && !stat(path, &st)) {
		t->uid = st.st_uid;
		t->gid = st.st_gid;
	}
	if (ret) {
		kh_err_prefix(err, "QEMU pid %d", (int)pid);
		goto out;
	}
	absolute_path(pid, t->qmp_path);
	absolute_path(pid, t->gdb_path);
	absolute_path(pid, t->qga_path);
out:
	free(cmdline);
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

/* Every QEMU whose -name or -uuid is name; errors only when there is
 * not exactly one. */
static int resolve_name(const char *name, struct kh_target *t,
			struct kh_err *err)
{
	struct kh_target cand;
	struct dirent *de;
	pid_t found = 0;
	char path[64], comm[64];
	char *cmdline;
	size_t len;
	DIR *dir;
	int ret = 0;

	cmdline = malloc(MAX_CMDLINE);
	if (!cmdline)
		return kh_err_set(err, ENOMEM, "out of memory");
	dir = opendir("/proc");
	if (!dir) {
		ret = -errno;
		free(cmdline);
		return kh_err_set(err, -ret, "cannot list /proc: %s",
				  strerror(-ret));
	}
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		if (read_file(path, cmdline, MAX_CMDLINE, &len) || !len ||
		    len == MAX_CMDLINE ||
		    !is_qemu(pid, cmdline, len, comm, sizeof(comm)))
			continue;
		memset(&cand, 0, sizeof(cand));
		if (kh_target_parse_cmdline(cmdline, len, &cand, NULL) ||
		    (strcmp(cand.name, name) && strcasecmp(cand.uuid, name)))
			continue;
		if (found) {
			ret = kh_err_set(err, ENOTUNIQ,
					 "VM name '%s' is ambiguous: QEMU pids %d and %ld both have it as -name or -uuid; give a pid instead",
					 name, (int)found, pid);
			break;
		}
		found = pid;
	}
	closedir(dir);
	free(cmdline);
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
