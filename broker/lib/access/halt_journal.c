// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The halt journal's entries: their text, their files, and the hooks
 * through which halting code writes them (see access/halt_journal.h).
 * Recovery, which reads them back, is access/halt_recover.c.
 *
 * An entry is text, so that an operator can read what a dead daemon left:
 *
 *	keyhole-halt 1
 *	pid 1234
 *	start_time 567890
 *	qmp /run/vm1/qmp.sock		(or the two lines below)
 *	libvirt qemu:///system
 *	uuid 0b6e1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "access/halt_journal.h"
#include "access/technique.h"
#include "qemu/procfs.h"
#include "qemu/qmp.h"

#define MAGIC	"keyhole-halt 1"

int kh_halt_entry_name(const struct kh_halt_entry *e, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%d-%" PRIu64, (int)e->pid,
			 e->start_time);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kh_halt_entry_format(const struct kh_halt_entry *e, char *buf,
			 size_t size)
{
	int n;

	int more;

	if (e->qmp_path[0])
		n = snprintf(buf, size, MAGIC "\npid %d\nstart_time %" PRIu64
			     "\nqmp %s\n", (int)e->pid, e->start_time,
			     e->qmp_path);
	else
		n = snprintf(buf, size, MAGIC "\npid %d\nstart_time %" PRIu64
			     "\nlibvirt %s\nuuid %s\n", (int)e->pid,
			     e->start_time, e->libvirt_uri, e->uuid);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (!e->halt[0])
		return 0;
	more = snprintf(buf + n, size - n, "halt %s\n", e->halt);
	return more < 0 || (size_t)more >= size - n ? -ENAMETOOLONG : 0;
}

/*
 * The value of the line "key value\n" at *p into val (size bytes with
 * the NUL): printable ASCII only, not empty. Advances *p past the line.
 */
static int take_line(const char **p, const char *end, const char *key,
		     char *val, size_t size)
{
	size_t klen = strlen(key), n = 0;
	const char *s = *p;

	if ((size_t)(end - s) < klen + 1 || memcmp(s, key, klen) ||
	    s[klen] != ' ')
		return -EINVAL;
	s += klen + 1;
	while (s < end && *s != '\n') {
		if (*s < 0x20 || *s > 0x7e || n + 1 >= size)
			return -EINVAL;
		val[n++] = *s++;
	}
	if (s >= end || !n)
		return -EINVAL;
	val[n] = '\0';
	*p = s + 1;
	return 0;
}

/* Decimal, no sign, no leading zero, at most max. */
static int parse_dec(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static int valid_uuid(const char *u)
{
	int i;

	if (strlen(u) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdefABCDEF", u[i])) {
			return 0;
		}
	}
	return 1;
}

int kh_halt_entry_parse(const char *text, size_t len,
			struct kh_halt_entry *e)
{
	const char *p = text, *end = text + len;
	char line[256];
	uint64_t v;

	memset(e, 0, sizeof(*e));
	if (len > KH_HALT_ENTRY_MAX || memchr(text, '\0', len))
		return -EINVAL;
	if ((size_t)(end - p) < sizeof(MAGIC) ||
	    memcmp(p, MAGIC "\n", sizeof(MAGIC)))
		return -EINVAL;
	p += sizeof(MAGIC);
	if (take_line(&p, end, "pid", line, sizeof(line)) ||
	    parse_dec(line, INT_MAX, &v) || v < 1)
		return -EINVAL;
	e->pid = (pid_t)v;
	if (take_line(&p, end, "start_time", line, sizeof(line)) ||
	    parse_dec(line, UINT64_MAX, &e->start_time))
		return -EINVAL;
	if (!take_line(&p, end, "qmp", e->qmp_path, sizeof(e->qmp_path))) {
		if (e->qmp_path[0] != '/')
			return -EINVAL;
	} else if (take_line(&p, end, "libvirt", e->libvirt_uri,
			     sizeof(e->libvirt_uri)) ||
		   take_line(&p, end, "uuid", e->uuid, sizeof(e->uuid)) ||
		   !valid_uuid(e->uuid)) {
		return -EINVAL;
	}
	/* Entries of a keyhole before 0.1.1 end here. */
	if (p == end)
		return 0;
	if (take_line(&p, end, "halt", e->halt, sizeof(e->halt)) ||
	    (strcmp(e->halt, "stop") && strcmp(e->halt, "gdbstub") &&
	     strcmp(e->halt, "gdbstub-monitor")))
		return -EINVAL;
	return p == end ? 0 : -EINVAL;
}

int kh_halt_start_time(pid_t pid, uint64_t *start_time)
{
	struct kh_procfs_stat st;
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return -ESRCH;		/* it exited between open and read */
	if (kh_procfs_parse_stat(buf, n, &st))
		return -EINVAL;
	*start_time = st.start_time;
	return 0;
}

int kh_halt_journal_write(const char *dir, const struct kh_halt_entry *e,
			  struct kh_err *err)
{
	char name[64], tmp[96], text[KH_HALT_ENTRY_MAX];
	int dfd, fd, r = 0;
	size_t len;

	if (kh_halt_entry_name(e, name, sizeof(name)) ||
	    kh_halt_entry_format(e, text, sizeof(text)))
		return kh_err_set(err, ENAMETOOLONG,
				  "the halt journal entry of QEMU pid %d does not fit in %d bytes",
				  (int)e->pid, KH_HALT_ENTRY_MAX);
	len = strlen(text);
	/* Dot names are unfinished: recovery removes them unread. */
	snprintf(tmp, sizeof(tmp), ".%s.%ld", name, (long)syscall(SYS_gettid));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return kh_err_set(err, errno,
				  "cannot open the halt journal %s: %s", dir,
				  strerror(errno));
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0) {
		r = kh_err_set(err, errno, "cannot create %s/%s: %s", dir,
			       tmp, strerror(errno));
		goto out;
	}
	errno = 0;	/* a short write sets none: EIO then */
	if (write(fd, text, len) != (ssize_t)len || fsync(fd))
		r = kh_err_set(err, errno ?: EIO, "cannot write %s/%s: %s",
			       dir, tmp, strerror(errno ?: EIO));
	close(fd);
	if (!r && renameat(dfd, tmp, dfd, name))
		r = kh_err_set(err, errno, "cannot rename %s/%s to %s: %s",
			       dir, tmp, name, strerror(errno));
	if (r)
		unlinkat(dfd, tmp, 0);
	else
		fsync(dfd);	/* the rename itself must survive */
out:
	close(dfd);
	return r;
}

void kh_halt_journal_remove(const char *dir, const struct kh_halt_entry *e)
{
	char path[PATH_MAX + 64], name[64];

	if (kh_halt_entry_name(e, name, sizeof(name)))
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* What resumes acc's guest: its QMP socket, or its libvirt domain. */
static int entry_of(const struct kh_access *acc, struct kh_halt_entry *e,
		    struct kh_err *err)
{
	const struct kh_target *t = acc->target;

	memset(e, 0, sizeof(*e));
	e->pid = acc->pid;
	if (!t)
		return kh_err_set(err, ENOENT,
				  "QEMU pid %d has no target to journal a halt of",
				  (int)acc->pid);
	if (t->libvirt_name[0]) {
		snprintf(e->libvirt_uri, sizeof(e->libvirt_uri), "%s",
			 t->libvirt_uri);
		snprintf(e->uuid, sizeof(e->uuid), "%s", t->uuid);
		return 0;
	}
	if (t->qmp_path[0] != '/')
		return kh_err_set(err, ENOENT,
				  "QEMU pid %d has no absolute QMP socket path for the halt journal to resume it through (%s)",
				  (int)acc->pid,
				  t->qmp_path[0] ? t->qmp_path : "none");
	snprintf(e->qmp_path, sizeof(e->qmp_path), "%s", t->qmp_path);
	return 0;
}

int kh_access_journal_qmp(const struct kh_access *acc, struct kh_qmp *qmp,
			  struct kh_err *err)
{
	struct kh_halt_entry e;
	int r;

	if (!acc->halt_journal || !acc->halt_journal[0])
		return 0;
	r = entry_of(acc, &e, err);
	if (r)
		return r;
	return kh_qmp_set_halt_journal(qmp, acc->halt_journal, &e, err);
}

/* Whether QEMU says the guest runs, through its QMP monitor. */
static int guest_runs(const struct kh_access *acc, int *running,
		      struct kh_err *err)
{
	struct kh_qmp *qmp;
	json_t *ret = NULL;
	int r;

	r = kh_access_qmp(acc, 3000, &qmp, err);
	if (r)
		return r;
	r = kh_qmp_execute(qmp, "query-status", NULL, &ret, err);
	*running = !r && json_is_true(json_object_get(ret, "running"));
	json_decref(ret);
	kh_qmp_close(qmp);
	return r;
}

int kh_access_halt_journal_begin(const struct kh_access *acc,
				 const char *halt, struct kh_err *err)
{
	struct kh_halt_entry e;
	int r, running = 0;

	if (!acc->halt_journal || !acc->halt_journal[0])
		return 0;
	r = entry_of(acc, &e, err);
	if (r)
		return r;
	snprintf(e.halt, sizeof(e.halt), "%s", halt);
	/* A guest someone else paused is theirs to resume, never ours. */
	r = guest_runs(acc, &running, err);
	if (r)
		return kh_err_prefix(err, "not halting QEMU pid %d, whose run state the halt journal needs",
				     (int)acc->pid);
	if (!running)
		return 0;
	r = kh_halt_start_time(e.pid, &e.start_time);
	if (r)
		return kh_err_set(err, -r,
				  "cannot read the start time of QEMU pid %d for the halt journal: %s",
				  (int)e.pid, strerror(-r));
	r = kh_halt_journal_write(acc->halt_journal, &e, err);
	return r ? r : 1;
}

void kh_access_halt_journal_end(const struct kh_access *acc)
{
	struct kh_halt_entry e = { .pid = acc->pid };

	if (!acc->halt_journal || !acc->halt_journal[0] ||
	    kh_halt_start_time(acc->pid, &e.start_time))
		return;
	kh_halt_journal_remove(acc->halt_journal, &e);
}
