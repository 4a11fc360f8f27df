// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Recovery from the halt journal (kh_halt_recover, libkeyhole.h): resumes
 * the guests a killed process left halted.
 *
 * An entry is trusted for nothing but naming a process: it is resumed only
 * if the process with that pid has that start time now (a reused pid does
 * not), the monitor reached is that process's (SO_PEERCRED, or libvirt's
 * pid file and the domain's UUID on its command line), and QEMU says it is
 * paused. Any other state (running, shut down, migrated, crashed) is left
 * as it is: the entry only proves that keyhole halted a running guest,
 * not that nothing happened to it since.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/halt_journal.h"
#include "qemu/libvirt.h"
#include "qemu/process.h"
#include "qemu/qmp.h"

#define RECOVER_QMP_TIMEOUT_MS	5000

struct recovery {
	const char *dir;
	void (*log)(void *opaque, const char *msg);
	void *opaque;
};

static void say(const struct recovery *rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(const struct recovery *rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!rc->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc->log(rc->opaque, msg);
}

/* Whether e's process is still the one that was halted. */
static int same_process(const struct kh_halt_entry *e)
{
	uint64_t now;

	return !kh_halt_start_time(e->pid, &now) && now == e->start_time;
}

static int open_qmp(const struct kh_halt_entry *e, struct kh_qmp **qmpp,
		    struct kh_err *err)
{
	int r = kh_qmp_connect(e->qmp_path, RECOVER_QMP_TIMEOUT_MS, qmpp,
			       err);

	if (r)
		return r;
	if (kh_qmp_peer_pid(*qmpp) != e->pid) {
		r = kh_err_set(err, EPERM,
			       "QMP socket %s belongs to pid %d, not to QEMU pid %d",
			       e->qmp_path, (int)kh_qmp_peer_pid(*qmpp),
			       (int)e->pid);
		kh_qmp_close(*qmpp);
		*qmpp = NULL;
	}
	return r;
}

/* The libvirt domain run by e's process, found as keyhole finds it. */
static int open_libvirt(const struct kh_halt_entry *e, struct kh_target *t,
			struct kh_qmp **qmpp, struct kh_err *err)
{
	char spec[16];
	int r;

	snprintf(spec, sizeof(spec), "%d", (int)e->pid);
	r = kh_target_resolve(spec, t, err);
	if (r)
		return r;
	if (strcasecmp(t->uuid, e->uuid))
		return kh_err_set(err, EPERM,
				  "QEMU pid %d runs UUID '%s', not the journal's %s",
				  (int)e->pid, t->uuid, e->uuid);
	r = kh_libvirt_claims(t, err);
	if (r < 0)
		return r;
	if (!r)
		return kh_err_set(err, EPERM,
				  "QEMU pid %d is not a domain libvirt runs any more",
				  (int)e->pid);
	r = kh_libvirt_bind(t, e->libvirt_uri, err);
	return r ?: kh_libvirt_monitor(t, qmpp, err);
}

static int halted_as_journalled(const struct kh_halt_entry *e,
				 const char *state)
{
	if (!strcmp(e->halt, "stop"))
		return !strcmp(state, "paused");
	if (!strncmp(e->halt, "gdbstub", 7))
		return !strcmp(state, "debug");
	return !strcmp(state, "paused") || !strcmp(state, "debug");
}

/* 1 if resumed, 0 if left alone, negative (with err) if it failed. */
static int resume_entry(const struct recovery *rc,
			const struct kh_halt_entry *e, struct kh_err *err)
{
	struct kh_target t;
	struct kh_qmp *qmp = NULL;
	json_t *ret = NULL;
	const char *status;
	char state[32];
	int r;

	r = e->qmp_path[0] ? open_qmp(e, &qmp, err) :
			     open_libvirt(e, &t, &qmp, err);
	if (r)
		goto out;
	/* Checked after the monitor is ours: its pid cannot be reused now. */
	if (!same_process(e)) {
		r = 0;
		say(rc, "QEMU pid %d exited while it was being resumed; nothing to do",
		    (int)e->pid);
		goto out;
	}
	r = kh_qmp_execute(qmp, "query-status", NULL, &ret, err);
	if (r)
		goto out;
	status = json_string_value(json_object_get(ret, "status"));
	snprintf(state, sizeof(state), "%s", status ? status : "unknown");
	/*
	 * Only the halt the entry names: a stop leaves QEMU paused, a
	 * gdbstub in debug. Another state is someone else's doing (the
	 * owner's debugger, a suspend) and is theirs to end.
	 */
	if (json_is_true(json_object_get(ret, "running")) ||
	    !halted_as_journalled(e, state)) {
		say(rc, "QEMU pid %d is %s, not halted the way keyhole halted it (%s): left as it is",
		    (int)e->pid, state, e->halt[0] ? e->halt : "stop or gdbstub");
		r = 0;
		goto out;
	}
	/* keyhole's own stub goes first: it would halt the guest again. */
	if (!strcmp(e->halt, "gdbstub-monitor")) {
		char *out = NULL;

		kh_qmp_hmp(qmp, "gdbserver none", &out, NULL);
		free(out);
	}
	r = kh_qmp_execute(qmp, "cont", NULL, NULL, err);
	if (!r) {
		say(rc, "resumed QEMU pid %d, which a previous keyhole process halted and could not resume (it was %s)",
		    (int)e->pid, state);
		r = 1;
	}
out:
	json_decref(ret);
	kh_qmp_close(qmp);
	return r;
}

/* Reads and checks one entry: -EINVAL if it is not one of ours. */
static int read_entry(int dfd, const char *name, struct kh_halt_entry *e)
{
	char text[KH_HALT_ENTRY_MAX + 1], want[64];
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return -EINVAL;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || n > KH_HALT_ENTRY_MAX || kh_halt_entry_parse(text, n, e))
		return -EINVAL;
	/* The name is the identity: an entry must not claim another. */
	if (kh_halt_entry_name(e, want, sizeof(want)) || strcmp(want, name))
		return -EINVAL;
	return 0;
}

int kh_halt_recover(const char *dir,
		    void (*log)(void *opaque, const char *msg), void *opaque,
		    struct kh_err *err)
{
	struct recovery rc = { .dir = dir, .log = log, .opaque = opaque };
	struct kh_err one = { 0 };
	struct kh_halt_entry e;
	struct dirent *de;
	struct stat st;
	int dfd, r, resumed = 0;
	DIR *d;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return kh_err_set(err, errno,
				  "cannot open the halt journal %s: %s", dir,
				  strerror(errno));
	if (fstat(dfd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(dfd);
		return kh_err_set(err, EPERM,
				  "the halt journal %s is writable by others than uid %d: its entries are not to be trusted",
				  dir, (int)geteuid());
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return kh_err_set(err, errno, "cannot read %s: %s", dir,
				  strerror(errno));
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* Unfinished (dot) entries never led to a halt. */
		if (de->d_name[0] == '.') {
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		r = read_entry(dfd, de->d_name, &e);
		if (r) {
			say(&rc, "removed %s/%s: not a halt journal entry (%s)",
			    dir, de->d_name,
			    r == -EINVAL ? "malformed, or not this user's alone" :
			    strerror(-r));
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (!same_process(&e)) {
			say(&rc, "QEMU pid %d that keyhole had halted is gone; entry removed",
			    (int)e.pid);
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		r = resume_entry(&rc, &e, &one);
		if (r < 0) {
			/* Kept: the next start tries again. */
			say(&rc, "cannot resume QEMU pid %d, left halted by a previous keyhole process: %s",
			    (int)e.pid, one.msg);
			kh_err_set(err, -r, "cannot resume QEMU pid %d: %s",
				   (int)e.pid, one.msg);
			continue;
		}
		resumed += r;
		unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
	return resumed;
}
