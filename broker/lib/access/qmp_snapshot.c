// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the techniques that go through QEMU's monitor share: the QMP
 * connection (checked to be QEMU's own, or the one a pause holds), the
 * guest's run state and its restoration after a snapshot, and the
 * temporary files and directory snapshots are written to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "access/halt_journal.h"
#include "access/technique.h"
#include "qemu/libvirt.h"
#include "qemu/qmp.h"

#define QMP_PROBE_MS	3000
#define HOW_TO_QMP	"start QEMU with -qmp unix:PATH,server=on,wait=off"

int kh_access_qmp(const struct kh_access *acc, int timeout_ms,
		  struct kh_qmp **qmpp, struct kh_err *err)
{
	const char *path = acc->target ? acc->target->qmp_path : "";
	struct kh_qmp *qmp;
	struct stat st;
	int ret;

	*qmpp = NULL;
	if (acc->target && acc->target->libvirt_name[0]) {
		ret = kh_libvirt_monitor(acc->target, &qmp, err);
		goto journal;
	}
	if (!path[0])
		return kh_err_set(err, ENOENT,
				  "QEMU pid %d has no QMP socket: " HOW_TO_QMP,
				  (int)acc->pid);
	if (stat(path, &st) || !S_ISSOCK(st.st_mode))
		return kh_err_set(err, ENOENT,
				  "QMP socket %s of QEMU pid %d is missing or not a socket (%s); " HOW_TO_QMP,
				  path, (int)acc->pid,
				  errno == ENOENT ? "no such file" : "wrong type");
	/*
	 * A monitor serves one client at a time: a busy one never greets.
	 * The probe finds that out quickly; the real connection then gets
	 * the long per-command timeout a dump needs.
	 */
	ret = kh_qmp_connect(path, timeout_ms < QMP_PROBE_MS ? timeout_ms :
				   QMP_PROBE_MS, &qmp, err);
	if (ret)
		return ret;
	if (timeout_ms > QMP_PROBE_MS) {
		kh_qmp_close(qmp);
		ret = kh_qmp_connect(path, timeout_ms, &qmp, err);
		if (ret)
			return ret;
	}
	if (kh_qmp_peer_pid(qmp) != acc->pid) {
		ret = kh_err_set(err, EPERM,
				 "QMP socket %s belongs to pid %d, not to QEMU pid %d",
				 path, (int)kh_qmp_peer_pid(qmp),
				 (int)acc->pid);
		kh_qmp_close(qmp);
		return ret;
	}
journal:
	/* Every stop a snapshot technique sends is journalled. */
	if (!ret)
		ret = kh_access_journal_qmp(acc, qmp, err);
	if (ret) {
		kh_qmp_close(qmp);
		return ret;
	}
	*qmpp = qmp;
	return 0;
}

int kh_access_qmp_get(struct kh_access *acc, int timeout_ms,
		      struct kh_qmp **qmpp, int *borrowed, struct kh_err *err)
{
	pthread_mutex_lock(&acc->qmp_lock);
	if (acc->held_qmp) {
		*qmpp = acc->held_qmp;
		*borrowed = 1;
		return 0;
	}
	pthread_mutex_unlock(&acc->qmp_lock);
	*borrowed = 0;
	return kh_access_qmp(acc, timeout_ms, qmpp, err);
}

void kh_access_qmp_put(struct kh_access *acc, struct kh_qmp *qmp,
		       int borrowed)
{
	if (borrowed)
		pthread_mutex_unlock(&acc->qmp_lock);
	else
		kh_qmp_close(qmp);
}

int kh_access_qmp_running(struct kh_qmp *qmp, int *running, char *status,
			  size_t size, struct kh_err *err)
{
	json_t *ret = NULL;
	const char *name;
	int r;

	r = kh_qmp_execute(qmp, "query-status", NULL, &ret, err);
	if (r)
		return r;
	if (!json_is_boolean(json_object_get(ret, "running"))) {
		json_decref(ret);
		return kh_err_set(err, EPROTO,
				  "QEMU's query-status reply has no 'running'");
	}
	*running = json_is_true(json_object_get(ret, "running"));
	name = json_string_value(json_object_get(ret, "status"));
	if (status)
		snprintf(status, size, "%s", name ? name : "?");
	json_decref(ret);
	return 0;
}

const char *kh_access_tmpdir(const struct kh_access *acc)
{
	if (acc->tmpdir && acc->tmpdir[0])
		return acc->tmpdir;
	return access("/var/tmp", W_OK) ? "/tmp" : "/var/tmp";
}

int kh_access_tmpfile(const struct kh_access *acc, const char *what,
		      char *path, size_t size, struct kh_err *err)
{
	const char *dir = kh_access_tmpdir(acc);
	int fd, n;

	n = snprintf(path, size, "%s/keyhole-%s.XXXXXX", dir, what);
	if (n < 0 || (size_t)n >= size)
		return kh_err_set(err, ENAMETOOLONG,
				  "temporary directory %s: path too long", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		n = errno;
		path[0] = '\0';
		return kh_err_set(err, n,
				  "cannot create a temporary file in %s (set KEYHOLE_TMPDIR to a writable directory): %s",
				  dir, strerror(n));
	}
	close(fd);
	return 0;
}

int kh_access_tmpfd(const struct kh_access *acc, const char *what,
		    struct kh_err *err)
{
	char path[4096];
	int fd, r;

	fd = open(kh_access_tmpdir(acc), O_TMPFILE | O_RDWR | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		/* A file system without O_TMPFILE: a name, for an instant. */
		r = kh_access_tmpfile(acc, what, path, sizeof(path), err);
		if (r)
			return r;
		fd = open(path, O_RDWR | O_CLOEXEC);
		r = errno;
		unlink(path);
		if (fd < 0)
			return kh_err_set(err, r, "cannot open %s: %s", path,
					  strerror(r));
	}
	return fd;
}

int kh_access_tmp_failed(const char *dir, const char *what, int code,
			 const char *detail, struct kh_err *err)
{
	if (code == ENOSPC)
		return kh_err_set(err, ENOSPC,
				  "%s: no space left in %s (set KEYHOLE_TMPDIR to a directory with room for all of guest RAM)",
				  what, dir);
	return kh_err_set(err, code, "%s in %s: %s", what, dir, detail);
}

void kh_access_progress(const struct kh_access *acc, uint64_t done,
			uint64_t total, uint64_t stopped_at)
{
	if (acc->progress)
		acc->progress(acc->progress_opaque, acc->ops->name, done,
			      total, stopped_at ?
			      kh_access_now_ns() - stopped_at : 0);
}

int kh_access_qmp_restore(struct kh_access *acc, struct kh_qmp *qmp,
			  int was_running, uint64_t stopped_at,
			  struct kh_err *err)
{
	char status[32];
	int running, ret;

	if (stopped_at)
		atomic_fetch_add(&acc->halted_ns,
				 kh_access_now_ns() - stopped_at);
	if (!was_running)
		return 0;
	ret = kh_access_qmp_running(qmp, &running, status, sizeof(status),
				    err);
	if (!ret && !running)
		ret = kh_qmp_execute(qmp, "cont", NULL, NULL, err);
	if (ret)
		return kh_err_prefix(err, "cannot resume QEMU pid %d after a snapshot",
				     (int)acc->pid);
	return 0;
}

uint64_t kh_access_tmp_free(const char *dir)
{
	struct statvfs st;

	if (statvfs(dir, &st))
		return UINT64_MAX;
	return (uint64_t)st.f_bavail * st.f_frsize;
}
