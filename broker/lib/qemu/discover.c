// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every QEMU process on the host and its identity (kh_qemu_discover,
 * kh_qemu_identify; the rules are in libkeyhole.h), and the one reading
 * of a process that finding the QEMU behind a VM spec (process.c) also
 * builds on.
 *
 * /proc is read as it changes: any process can exit between two reads,
 * and its pid be reused. Each process is read through one descriptor of
 * its /proc/PID directory (qemu/procfs.c), so every file read is of the
 * same process or fails; one that fails is skipped as gone.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu/discover.h"
#include "qemu/libvirt_rundir.h"
#include "qemu/procfs.h"

#define PF_KTHREAD	0x00200000	/* include/linux/sched.h */

int kh_qemu_exe_is_qemu(const char *path)
{
	static const char deleted[] = " (deleted)";
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	/* An upgrade replaced the binary under a running QEMU. */
	if (n >= sizeof(deleted) - 1 &&
	    !strcmp(base + n - (sizeof(deleted) - 1), deleted))
		n -= sizeof(deleted) - 1;
	if (n > 12 && !strncmp(base, "qemu-system-", 12))
		return 1;
	return n == 8 && !strncmp(base, "qemu-kvm", 8);	/* RHEL's name */
}

/* For messages: comm is the process's to choose, escapes included. */
static void printable(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < size; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

/*
 * Whether the process is QEMU (1, 0; -ESRCH gone): its executable says,
 * if the caller may see it; else argv[0] (read into view->cmdline, *len
 * bytes; *len stays -1 if not read) or comm, as the process says.
 */
static int is_qemu(int dirfd, const char *comm, struct kh_qemu_view *view,
		   ssize_t *len)
{
	char exe[PATH_MAX];
	size_t n;
	int r;

	r = kh_procfs_readlink(dirfd, "exe", exe, sizeof(exe));
	if (!r)
		return kh_qemu_exe_is_qemu(exe);
	/* No executable any more: exiting. */
	if (r != -EACCES && r != -EPERM)
		return r == -ESRCH ? r : 0;
	if (kh_qemu_exe_is_qemu(comm))
		return 1;
	r = kh_procfs_read(dirfd, "cmdline", view->cmdline,
			   KH_QEMU_CMDLINE_MAX, &n);
	if (r)
		return r == -ESRCH ? r : 0;
	*len = n;
	return memchr(view->cmdline, '\0', n) &&
	       kh_qemu_exe_is_qemu(view->cmdline);
}

/* A relative socket path on QEMU's argv is relative to QEMU's cwd. */
static void absolute_path(int dirfd, char sock[108])
{
	char cwd[PATH_MAX], full[PATH_MAX + 108];

	if (!sock[0] || sock[0] == '/' ||
	    kh_procfs_readlink(dirfd, "cwd", cwd, sizeof(cwd)))
		return;
	snprintf(full, sizeof(full), "%s/%s", cwd, sock);
	if (strlen(full) < 108)
		strcpy(sock, full);
}

/*
 * The libvirt domain the process is, by libvirt's pid file for its -name
 * (a session's files are its user's, who runs its QEMU).
 */
static void libvirt_identity(struct kh_qemu_proc *p)
{
	int instance = kh_libvirt_pid_file(p->name, p->pid, p->uid);

	if (instance <= 0)
		return;
	strcpy(p->libvirt_name, p->name);
	/* libvirt's own record, where the caller may read it, over argv. */
	if (kh_libvirt_status_uuid(p->name, p->pid, instance, p->uid,
				   p->libvirt_uuid))
		strcpy(p->libvirt_uuid, p->uuid);
	strcpy(p->libvirt_uri, instance == KH_LIBVIRT_SYSTEM ?
	       "qemu:///system" : "qemu:///session");
}

/* The command line's part of view: parsed, or why not. */
static void read_cmdline(int dirfd, struct kh_qemu_view *v, ssize_t len)
{
	struct kh_qemu_proc *p = &v->proc;
	struct kh_target *t = &v->t;
	size_t n = len;
	int r = 0;

	if (len < 0)
		r = kh_procfs_read(dirfd, "cmdline", v->cmdline,
				   KH_QEMU_CMDLINE_MAX, &n);
	if (r)
		r = kh_err_set(&v->cmdline_err, -r,
			       "cannot read the command line of QEMU pid %d: %s",
			       (int)p->pid, strerror(-r));
	else if (n == KH_QEMU_CMDLINE_MAX)
		r = kh_err_set(&v->cmdline_err, E2BIG,
			       "the command line of QEMU pid %d is longer than %d bytes",
			       (int)p->pid, KH_QEMU_CMDLINE_MAX);
	else if ((r = kh_target_parse_cmdline(v->cmdline, n, t,
					      &v->cmdline_err)))
		kh_err_prefix(&v->cmdline_err, "QEMU pid %d", (int)p->pid);
	if (r) {
		/* Half a parse is no truth: its fields stay empty. */
		memset(t, 0, sizeof(*t));
		t->pid = p->pid;
		v->cmdline_ret = r;
		return;
	}
	absolute_path(dirfd, t->qmp_path);
	absolute_path(dirfd, t->gdb_path);
	absolute_path(dirfd, t->qga_path);

	/* The parser's fields fit: the public ones are as large. */
	strcpy(p->name, t->name);
	strcpy(p->uuid, t->uuid);
	strcpy(p->qmp_path, t->qmp_path);
	p->ram_bytes = t->ram_size;
	strcpy(p->ram_backend, t->ram_memfd ? "memfd" :
	       t->mem_path[0] ? "file" : "anon");
	libvirt_identity(p);
}

/* Reads a /proc file of the process for kh_qemu_read; errors say which. */
static int read_proc(int dirfd, pid_t pid, const char *file, char *buf,
		     size_t size, size_t *len, struct kh_err *err)
{
	int r = kh_procfs_read(dirfd, file, buf, size, len);

	if (r == -ESRCH)
		return kh_err_set(err, ESRCH, "no process with pid %d",
				  (int)pid);
	if (r)
		return kh_err_set(err, -r, "cannot read /proc/%d/%s: %s",
				  (int)pid, file, strerror(-r));
	return 0;
}

int kh_qemu_read(pid_t pid, struct kh_qemu_view *v, struct kh_err *err)
{
	char text[8192], comm[64], shown[64];
	struct kh_procfs_status ids;
	struct kh_procfs_stat st;
	ssize_t cmdline_len = -1;
	size_t len;
	int dirfd, r;

	memset(&v->proc, 0, sizeof(v->proc));
	memset(&v->t, 0, sizeof(v->t));
	memset(&v->cmdline_err, 0, sizeof(v->cmdline_err));
	v->cmdline_ret = 0;
	dirfd = kh_procfs_open(pid);
	if (dirfd < 0)
		return kh_err_set(err, ESRCH, "no process with pid %d",
				  (int)pid);

	r = read_proc(dirfd, pid, "stat", text, sizeof(text), &len, err);
	if (!r && kh_procfs_parse_stat(text, len, &st))
		r = kh_err_set(err, EINVAL, "cannot parse /proc/%d/stat",
				 (int)pid);
	if (!r && (st.state == 'Z' || st.state == 'X'))
		r = kh_err_set(err, ESRCH,
			       "process %d has exited (a zombie not yet reaped)",
			       (int)pid);
	if (!r)
		r = read_proc(dirfd, pid, "status", text, sizeof(text), &len,
			      err);
	if (!r && kh_procfs_parse_status(text, len, &ids))
		r = kh_err_set(err, EINVAL, "cannot parse /proc/%d/status",
				 (int)pid);
	if (!r && ids.tgid != pid)
		r = kh_err_set(err, ESRCH,
			       "pid %d is a thread of process %d, not a process",
			       (int)pid, (int)ids.tgid);
	if (!r)
		r = read_proc(dirfd, pid, "comm", comm, sizeof(comm) - 1, &len,
			      err);
	if (r)
		goto out;
	comm[len && comm[len - 1] == '\n' ? len - 1 : len] = '\0';
	printable(comm, shown, sizeof(shown));

	/* A kernel thread has no executable to ask. */
	r = st.flags & PF_KTHREAD ? 0 : is_qemu(dirfd, comm, v, &cmdline_len);
	if (r == -ESRCH) {
		r = kh_err_set(err, ESRCH, "no process with pid %d", (int)pid);
		goto out;
	}
	if (!r) {
		r = kh_err_set(err, ENOEXEC,
			       st.flags & PF_KTHREAD ?
			       "pid %d (%s) is a kernel thread, not a QEMU process" :
			       "pid %d is '%s', not a QEMU process", (int)pid,
			       shown);
		goto out;
	}

	v->proc.pid = pid;
	v->proc.start_time = st.start_time;
	v->proc.uid = ids.ruid;
	v->proc.gid = ids.rgid;
	v->t.pid = pid;
	read_cmdline(dirfd, v, cmdline_len);
	/* Files QEMU must write for us are given to who it acts as. */
	v->t.uid = ids.euid;
	v->t.gid = ids.egid;
	r = 0;
out:
	close(dirfd);
	return r;
}

int kh_qemu_identify(pid_t pid, struct kh_qemu_proc *proc,
		     struct kh_err *err)
{
	struct kh_qemu_view *view = malloc(sizeof(*view));
	int ret;

	if (!view)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_qemu_read(pid, view, err);
	if (!ret)
		*proc = view->proc;
	free(view);
	return ret;
}

static int by_pid(const void *a, const void *b)
{
	const struct kh_qemu_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int kh_qemu_discover(struct kh_qemu_proc **listp, unsigned int *nr,
		     struct kh_err *err)
{
	return kh_qemu_discover_known(listp, nr, NULL, NULL, err);
}

/*
 * What one readlink can tell in a scan: an executable that is not
 * QEMU's, or none (a kernel thread, or gone). A rescan each second of a
 * host with a few hundred other processes then reads nothing else of
 * them. Unreadable (another user's, not root): not sure.
 */
static bool surely_not_qemu(pid_t pid)
{
	char path[32], exe[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return errno == ENOENT;
	exe[n] = '\0';
	return !kh_qemu_exe_is_qemu(exe);
}

int kh_qemu_discover_known(struct kh_qemu_proc **listp, unsigned int *nr,
			   int (*known)(pid_t pid, void *priv),
			   void *priv, struct kh_err *err)
{
	struct kh_qemu_proc *list = NULL, *bigger;
	struct kh_qemu_view *view;
	unsigned int n = 0, cap = 0;
	struct dirent *de;
	int ret = 0;
	DIR *dir;

	*listp = NULL;
	*nr = 0;
	view = malloc(sizeof(*view));
	if (!view)
		return kh_err_set(err, ENOMEM, "out of memory");
	dir = opendir("/proc");
	if (!dir) {
		ret = kh_err_set(err, errno, "cannot list /proc: %s",
				 strerror(errno));
		goto out;
	}
	/* /proc lists processes only; their threads are not entries. */
	while ((de = readdir(dir))) {
		char *end;
		long pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT_MAX)
			continue;
		if (known && known(pid, priv))
			continue;
		/* Gone, not QEMU, or not to be read: no VM to list. */
		if (surely_not_qemu(pid) || kh_qemu_read(pid, view, NULL))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			bigger = realloc(list, cap * sizeof(*list));
			if (!bigger) {
				ret = kh_err_set(err, ENOMEM, "out of memory");
				goto out_dir;
			}
			list = bigger;
		}
		list[n++] = view->proc;
	}
	if (n)
		qsort(list, n, sizeof(*list), by_pid);
	*listp = list;
	*nr = n;
	list = NULL;
out_dir:
	closedir(dir);
out:
	free(list);
	free(view);
	return ret;
}
