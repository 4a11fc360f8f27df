// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "migrate" (the paper's class II, halting snapshot), and
 * the migration driver it shares with "bgsnap" (class III).
 *
 * QEMU migrates the VM into a unix socket keyhole listens on, and keyhole
 * parses the stream as it arrives (qemu/migration_stream.c) into a private copy
 * of guest RAM: no temporary file, unless the user asked to keep the stream
 * (KEYHOLE_KEEP_SNAPSHOT; `keyhole ps FILE` reads it later). Reading the stream
 * to its end is what lets QEMU complete, so a stream is never cut short by
 * keyhole (an exec: URI's child may be killed by QEMU first).
 *
 * A precopy migration copies RAM while the guest runs, then stops it for
 * the last dirty pages and the device state, and leaves it stopped in
 * "postmigrate": keyhole resumes it if it ran before. Migration bandwidth
 * is uncapped for the copy (QEMU's default is 128 MiB/s) and the user's
 * setting put back, as is the background-snapshot capability.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qemu/migration_stream.h"
#include "qemu/qmp.h"

#define MIGRATE_QMP_TIMEOUT_MS	30000
#define CONNECT_TIMEOUT_MS	10000
#define FINISH_TIMEOUT_MS	30000
#define UNCAPPED_BANDWIDTH	(1ll << 40)
#define MIGRATE_FDNAME		"keyhole-migration"

struct migration {
	struct kh_access *acc;
	struct kh_qmp *qmp;
	int background;		/* background-snapshot wanted */
	int prev_background;	/* the capability before */
	json_int_t prev_bandwidth;
	int params_changed, caps_changed;
	char dir[4096], sock[4096];
	int listen_fd, conn_fd, copy_fd;
	const char *keep;
};

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* QEMU's migration status ("none" before the first), malloc'd. */
static int migration_status(struct kh_qmp *qmp, char **status,
			    json_int_t *downtime, char **error,
			    struct kh_err *err)
{
	json_t *ret = NULL;
	const char *s, *e;
	int r;

	r = kh_qmp_execute(qmp, "query-migrate", NULL, &ret, err);
	if (r)
		return r;
	s = json_string_value(json_object_get(ret, "status"));
	e = json_string_value(json_object_get(ret, "error-desc"));
	*status = strdup(s ? s : "none");
	if (downtime)
		*downtime = json_integer_value(json_object_get(ret,
							       "downtime"));
	if (error)
		*error = e ? strdup(e) : NULL;
	json_decref(ret);
	return *status ? 0 : kh_err_set(err, ENOMEM, "out of memory");
}

static int is_active(const char *status)
{
	return strcmp(status, "none") && strcmp(status, "completed") &&
	       strcmp(status, "failed") && strcmp(status, "cancelled");
}

static int set_background(struct kh_qmp *qmp, int on, struct kh_err *err)
{
	json_t *args = json_pack("{s:[{s:s, s:b}]}", "capabilities",
				 "capability", "background-snapshot",
				 "state", on);

	return kh_qmp_execute(qmp, "migrate-set-capabilities", args, NULL,
			      err);
}

static int get_background(struct kh_qmp *qmp, int *on, struct kh_err *err)
{
	json_t *ret = NULL, *cap;
	size_t i;
	int r, found = 0;

	r = kh_qmp_execute(qmp, "query-migrate-capabilities", NULL, &ret,
			   err);
	if (r)
		return r;
	json_array_foreach(ret, i, cap)
		if (!strcmp(json_string_value(json_object_get(cap,
				"capability")) ?: "", "background-snapshot")) {
			*on = json_is_true(json_object_get(cap, "state"));
			found = 1;
		}
	json_decref(ret);
	if (!found)
		return kh_err_set(err, ENOTSUP,
				  "this QEMU has no background-snapshot migration capability (needs QEMU 6.0 or later)");
	return 0;
}

static int set_bandwidth(struct kh_qmp *qmp, json_int_t bw,
			 struct kh_err *err)
{
	return kh_qmp_execute(qmp, "migrate-set-parameters",
			      json_pack("{s:I}", "max-bandwidth", bw), NULL,
			      err);
}

/* Capabilities and parameters as they were, on every path. */
static int undo_settings(struct migration *m, struct kh_err *err)
{
	int ret = 0;

	if (m->params_changed)
		ret = set_bandwidth(m->qmp, m->prev_bandwidth, err);
	if (m->caps_changed)
		ret = set_background(m->qmp, m->prev_background,
				     ret ? NULL : err) ?: ret;
	m->params_changed = m->caps_changed = 0;
	return ret;
}

static int prepare(struct migration *m, int running, struct kh_err *err)
{
	json_t *ret = NULL;
	char *status = NULL;
	int r, want = m->background && running;

	r = migration_status(m->qmp, &status, NULL, NULL, err);
	if (r)
		return r;
	if (is_active(status))
		r = kh_err_set(err, EBUSY,
			       "QEMU pid %d is already migrating (status %s)",
			       (int)m->acc->pid, status);
	free(status);
	if (r)
		return r;
	r = get_background(m->qmp, &m->prev_background, err);
	if (r == -ENOTSUP && !want)
		r = m->prev_background = 0;
	if (!r && m->prev_background != want) {
		r = set_background(m->qmp, want, err);
		if (r && want)
			return kh_err_prefix(err,
					     "QEMU pid %d cannot take a background snapshot (it needs userfaultfd write-protection from the host kernel, Linux 5.7 or later, and no postcopy or multifd)",
					     (int)m->acc->pid);
		m->caps_changed = !r;
	}
	if (r)
		return r;
	r = kh_qmp_execute(m->qmp, "query-migrate-parameters", NULL, &ret,
			   err);
	if (r)
		return r;
	m->prev_bandwidth = json_integer_value(json_object_get(ret,
							"max-bandwidth"));
	json_decref(ret);
	if (m->prev_bandwidth != UNCAPPED_BANDWIDTH) {
		r = set_bandwidth(m->qmp, UNCAPPED_BANDWIDTH, err);
		m->params_changed = !r;
	}
	return r;
}

static int listen_socket(struct migration *m, struct kh_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *tmp = kh_access_tmpdir(m->acc);
	int n;

	n = snprintf(m->dir, sizeof(m->dir), "%s/keyhole-mig.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(m->dir) || !mkdtemp(m->dir)) {
		m->dir[0] = '\0';
		return kh_err_set(err, errno ?: ENAMETOOLONG,
				  "cannot create a directory in %s for the migration socket (set KEYHOLE_TMPDIR): %s",
				  tmp, strerror(errno ?: ENAMETOOLONG));
	}
	n = snprintf(m->sock, sizeof(m->sock), "%s/s", m->dir);
	if ((size_t)n >= sizeof(sa.sun_path))
		return kh_err_set(err, ENAMETOOLONG,
				  "the migration socket path %s is longer than %zu bytes: set KEYHOLE_TMPDIR to a shorter directory",
				  m->sock, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, m->sock);
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0 ||
	    bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(m->listen_fd, 1))
		return kh_err_set(err, errno,
				  "cannot listen on %s for the migration stream: %s",
				  m->sock, strerror(errno));
	return 0;
}

static void remove_socket(struct migration *m)
{
	if (m->sock[0])
		unlink(m->sock);
	if (m->dir[0])
		rmdir(m->dir);
	m->sock[0] = m->dir[0] = '\0';
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	m->listen_fd = -1;
}

static int accept_qemu(struct migration *m, struct kh_err *err)
{
	struct pollfd pfd = { .fd = m->listen_fd, .events = POLLIN };
	struct timeval idle = { .tv_sec = KH_MIGSTREAM_IDLE_S };
	int waited, r;

	/* Bounded, and given up early when QEMU dies. */
	for (waited = 0; waited < CONNECT_TIMEOUT_MS; waited += 100) {
		r = poll(&pfd, 1, 100);
		if (r > 0)
			break;
		if (kh_access_alive(m->acc))
			return kh_err_set(err, ESRCH,
					  "QEMU pid %d exited before migrating",
					  (int)m->acc->pid);
	}
	if (waited >= CONNECT_TIMEOUT_MS)
		return kh_err_set(err, ETIMEDOUT,
				  "QEMU pid %d did not connect to the migration socket within %d s",
				  (int)m->acc->pid, CONNECT_TIMEOUT_MS / 1000);
	m->conn_fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (m->conn_fd < 0)
		return kh_err_set(err, errno, "accept on %s: %s", m->sock,
				  strerror(errno));
	setsockopt(m->conn_fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	remove_socket(m);
	return 0;
}

/* Waits for the end QEMU reports: completed, or why not. */
static int finish(struct migration *m, json_int_t *downtime,
		  struct kh_err *err)
{
	char *status = NULL, *why = NULL;
	int waited, r;

	for (waited = 0; waited < FINISH_TIMEOUT_MS; waited += 10) {
		r = migration_status(m->qmp, &status, downtime, &why, err);
		if (r)
			return r;
		if (!is_active(status))
			break;
		free(status);
		status = NULL;
		sleep_ms(10);
	}
	if (!status)
		r = kh_err_set(err, ETIMEDOUT,
			       "QEMU pid %d did not finish migrating within %d s",
			       (int)m->acc->pid, FINISH_TIMEOUT_MS / 1000);
	else if (strcmp(status, "completed"))
		r = kh_err_set(err, EIO, "QEMU pid %d's migration ended %s: %s",
			       (int)m->acc->pid, status, why ? why : "");
	free(status);
	free(why);
	return r;
}

/*
 * After a stream keyhole could not use: read the rest anyway so QEMU
 * completes. Cancelling instead can hang QEMU 7.2 for good when it is a
 * background snapshot (a vCPU waits in a userfaultfd write fault that
 * only the cancelled migration thread would resolve). Each read is
 * bounded by SO_RCVTIMEO, the whole by the stream's length.
 */
static void drain(int fd)
{
	char buf[65536];
	ssize_t n;

	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
}

/* After a failure: no migration may stay running. */
static void cancel(struct migration *m)
{
	char *status = NULL;
	int waited;

	kh_qmp_execute(m->qmp, "migrate_cancel", NULL, NULL, NULL);
	for (waited = 0; waited < FINISH_TIMEOUT_MS; waited += 10) {
		if (migration_status(m->qmp, &status, NULL, NULL, NULL) ||
		    !is_active(status))
			break;
		free(status);
		status = NULL;
		sleep_ms(10);
	}
	free(status);
}

static int open_keep(struct migration *m, struct kh_err *err)
{
	m->keep = m->acc->keep_snapshot;
	if (!m->keep || !m->keep[0]) {
		m->keep = NULL;
		return 0;
	}
	/* Never overwrite what the user already has. */
	m->copy_fd = open(m->keep, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  0600);
	if (m->copy_fd < 0)
		return kh_err_set(err, errno,
				  "cannot create %s to keep the migration stream in: %s",
				  m->keep, strerror(errno));
	return 0;
}

/*
 * A libvirt domain's QEMU runs as a user all its domains share: a socket
 * it could connect to, any of them could. Its end of a socket pair goes
 * to it through the monitor instead (getfd), and "fd:" migrates into it.
 */
static int passed_socket(struct migration *m, struct kh_err *err)
{
	struct timeval idle = { .tv_sec = KH_MIGSTREAM_IDLE_S };
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return kh_err_set(err, errno, "socketpair: %s",
				  strerror(errno));
	r = kh_qmp_execute_fd(m->qmp, "getfd",
			      json_pack("{s:s}", "fdname", MIGRATE_FDNAME),
			      sv[1], NULL, err);
	close(sv[1]);
	if (r) {
		close(sv[0]);
		return r;
	}
	m->conn_fd = sv[0];
	setsockopt(m->conn_fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	return 0;
}

/* *started: QEMU took the migrate command, so it must be seen through. */
static int start_migration(struct migration *m, int *started,
			   struct kh_err *err)
{
	int r;

	*started = 0;
	if (m->acc->target && m->acc->target->libvirt_name[0]) {
		r = passed_socket(m, err);
		if (r)
			return r;
		r = kh_qmp_execute(m->qmp, "migrate",
				   json_pack("{s:s}", "uri",
					     "fd:" MIGRATE_FDNAME),
				   NULL, err);
		if (r)
			kh_qmp_execute(m->qmp, "closefd",
				       json_pack("{s:s}", "fdname",
						 MIGRATE_FDNAME), NULL, NULL);
		*started = !r;
		return r;
	}
	r = listen_socket(m, err);
	if (!r)
		r = kh_qmp_execute(m->qmp, "migrate",
				   json_pack("{s:s+}", "uri", "unix:", m->sock),
				   NULL, err);
	*started = !r;
	if (!r)
		r = accept_qemu(m, err);
	return r;
}

static int migrate(struct migration *m, struct kh_snap *snap, int running,
		   json_int_t *downtime, struct kh_err *err)
{
	char name[64];
	int r, started;

	r = prepare(m, running, err) ?: open_keep(m, err);
	if (r)
		return r;
	r = start_migration(m, &started, err);
	if (!started) {
		if (m->conn_fd >= 0)
			close(m->conn_fd);
		m->conn_fd = -1;
		return r;
	}
	if (!r) {
		snprintf(name, sizeof(name), "the migration stream of QEMU pid %d",
			 (int)m->acc->pid);
		r = kh_migstream_receive(snap, m->conn_fd, name,
					 m->acc->layout, m->copy_fd, m->keep,
					 m->acc, err);
		if (r)
			drain(m->conn_fd);
		close(m->conn_fd);
		m->conn_fd = -1;
	}
	if (!r)
		r = finish(m, downtime, err);
	else
		finish(m, NULL, NULL);
	if (r)
		cancel(m);
	return r;
}

/*
 * QEMU leaves a migrated guest in "postmigrate", and from there only
 * "cont" (which runs it) gets it out: a guest its owner paused would not
 * come back paused, and its owner could not migrate it any more.
 */
static int not_running(struct kh_access *acc, const char *status,
		       struct kh_err *err)
{
	return kh_err_set(err, EAGAIN,
			  "QEMU pid %d is not running (status %s): a migration would leave it in postmigrate, which only running it again undoes; dump and pmemsave copy a stopped guest",
			  (int)acc->pid, status);
}

void kh_migrate_release(struct kh_access *acc)
{
	if (acc->priv) {
		kh_snap_free(acc->priv);
		free(acc->priv);
	}
	acc->priv = NULL;
}

int kh_migrate_take(struct kh_access *acc, int background,
		    struct kh_err *err)
{
	struct migration m = { .acc = acc, .background = background,
			       .listen_fd = -1, .conn_fd = -1,
			       .copy_fd = -1 };
	uint64_t start = kh_access_now_ns();
	json_int_t downtime = 0;
	char status[32];
	struct kh_snap *snap;
	int running = 0, ret, undo;

	kh_migrate_release(acc);
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_access_qmp(acc, MIGRATE_QMP_TIMEOUT_MS, &m.qmp, err);
	if (ret) {
		free(snap);
		return ret;
	}
	ret = kh_access_qmp_running(m.qmp, &running, status, sizeof(status),
				    err);
	if (!ret && !running)
		ret = not_running(acc, status, err);
	if (!ret)
		ret = migrate(&m, snap, running, &downtime, err);
	remove_socket(&m);
	if (m.conn_fd >= 0)
		close(m.conn_fd);
	if (m.copy_fd >= 0) {
		if (close(m.copy_fd) && !ret)
			ret = kh_err_set(err, errno, "writing %s: %s", m.keep,
					 strerror(errno));
		if (ret)
			unlink(m.keep);
	}
	/* Settings, then the run state, whatever happened. */
	undo = undo_settings(&m, ret ? NULL : err);
	ret = ret ?: undo;
	undo = kh_access_qmp_restore(acc, m.qmp, running, 0,
				     ret ? NULL : err);
	ret = ret ?: undo;
	kh_qmp_close(m.qmp);
	atomic_fetch_add(&acc->halted_ns, (uint64_t)downtime * 1000000);
	return kh_snap_take_end(acc, snap, start, ret, "the migration", err);
}

/*
 * QEMU asks the kernel for userfaultfd as the user it runs as (libvirt's
 * libvirt-qemu): an unprivileged one gets none while the sysctl is 0.
 */
static int uffd_denied_to(const struct kh_target *t)
{
	char c = '1';
	FILE *f;

	if (!t || !t->uid)
		return 0;
	f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "re");
	if (f) {
		c = fgetc(f);
		fclose(f);
	}
	return c == '0';
}

int kh_migrate_probe(struct kh_access *acc, int background,
		     struct kh_err *err)
{
	struct kh_qmp *qmp;
	char *status = NULL, run_status[32];
	int ret, on = 0;

	ret = kh_access_qmp(acc, 3000, &qmp, err);
	if (ret)
		return ret;
	ret = kh_access_qmp_running(qmp, &on, run_status,
				    sizeof(run_status), err);
	if (!ret && !on)
		ret = not_running(acc, run_status, err);
	if (!ret)
		ret = migration_status(qmp, &status, NULL, NULL, err);
	if (!ret && is_active(status))
		ret = kh_err_set(err, EBUSY,
				 "QEMU pid %d is migrating (status %s): wait until it is done",
				 (int)acc->pid, status);
	free(status);
	on = 0;
	if (!ret && background)
		ret = get_background(qmp, &on, err);
	/* Whether the host kernel allows it: QEMU checks when it is set. */
	if (!ret && background && !on) {
		ret = set_background(qmp, 1, err);
		if (ret && uffd_denied_to(acc->target))
			kh_err_prefix(err, "background-snapshot is unavailable: QEMU runs as user %u, and the host lets only privileged processes use userfaultfd (sysctl vm.unprivileged_userfaultfd=1 allows it)",
				      (unsigned int)acc->target->uid);
		else if (ret)
			kh_err_prefix(err, "background-snapshot is unavailable (it needs userfaultfd write-protection from the host kernel, Linux 5.7 or later)");
		else
			ret = set_background(qmp, 0, err);
	}
	kh_qmp_close(qmp);
	return ret;
}

static int migrate_open(struct kh_access *acc, struct kh_err *err)
{
	acc->priv = NULL;
	return kh_migrate_take(acc, 0, err);
}

static int migrate_take(struct kh_access *acc, struct kh_err *err)
{
	return kh_migrate_take(acc, 0, err);
}

static int migrate_probe(struct kh_access *acc, struct kh_err *err)
{
	return kh_migrate_probe(acc, 0, err);
}

const struct kh_access_ops kh_access_migrate = {
	.name = "migrate",
	.klass = "II",
	.props = KH_TECHNIQUE_HALTING | KH_TECHNIQUE_SNAPSHOT |
		 KH_TECHNIQUE_INTERFACE,
	.description = "QMP migrate into keyhole (precopy, stops the guest for the last pages), reads from the copy (needs QMP)",
	.open = migrate_open,
	.read = kh_snap_access_read,
	.close = kh_migrate_release,
	.map = kh_snap_access_map,
	.snapshot_take = migrate_take,
	.snapshot_release = kh_migrate_release,
	.probe = migrate_probe,
};
