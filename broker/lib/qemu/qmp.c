// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A small synchronous QMP client.
 *
 * QMP is newline-delimited JSON over a unix socket. A monitor serves one
 * client at a time: while another client (libvirt, a second keyhole) holds
 * it, our connection sits in the listen backlog and the greeting never
 * comes, so every wait here is bounded and a missing greeting is reported
 * as a busy socket rather than hanging. Replies are untrusted: each is
 * size-capped and checked for shape before use.
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

#include "access/halt_journal.h"
#include "qemu/qmp.h"

#define QMP_MAX_MSG	(16u << 20)	/* `info mtree` is ~100 KiB */

struct kh_qmp {
	int fd;
	pid_t peer;
	int timeout_ms;
	unsigned long next_id;
	char *buf;		/* received bytes not yet parsed */
	size_t len, cap;
	char path[108];
	struct kh_passthrough pt;	/* pt.execute set: not a socket */
	/*
	 * The halt journal, when one is set: a "stop" is written there
	 * before it is sent, and forgotten after "cont" or at close.
	 */
	char *journal_dir;
	struct kh_halt_entry journal;
	int journalled;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on the socket until deadline; -ETIMEDOUT after. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Reads one message (a line) into a JSON object. -ETIMEDOUT when nothing
 * complete arrived before deadline, -ECONNRESET when QEMU hung up.
 */
static int read_msg(struct kh_qmp *qmp, int64_t deadline, json_t **msgp,
		    struct kh_err *err)
{
	json_error_t jerr;
	char *nl;
	ssize_t n;
	size_t linelen;
	json_t *msg;
	int r;

	for (;;) {
		nl = qmp->len ? memchr(qmp->buf, '\n', qmp->len) : NULL;
		if (nl)
			break;
		if (qmp->len >= QMP_MAX_MSG)
			return kh_err_set(err, EMSGSIZE,
					  "QMP message from %s is larger than %u MiB",
					  qmp->path, QMP_MAX_MSG >> 20);
		if (qmp->cap - qmp->len < 65536) {
			size_t cap = qmp->cap ? qmp->cap * 2 : 131072;
			char *nb;

			if (cap > QMP_MAX_MSG + 65536)
				cap = QMP_MAX_MSG + 65536;
			nb = realloc(qmp->buf, cap);
			if (!nb)
				return kh_err_set(err, ENOMEM, "out of memory");
			qmp->buf = nb;
			qmp->cap = cap;
		}
		r = wait_fd(qmp->fd, POLLIN, deadline);
		if (r == -ETIMEDOUT)
			return kh_err_set(err, ETIMEDOUT,
					  "QEMU did not answer on %s within %d ms",
					  qmp->path, qmp->timeout_ms);
		if (r)
			return kh_err_set(err, -r, "poll on %s: %s",
					  qmp->path, strerror(-r));
		n = recv(qmp->fd, qmp->buf + qmp->len, qmp->cap - qmp->len,
			 MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return kh_err_set(err, errno, "reading from %s: %s",
					  qmp->path, strerror(errno));
		}
		if (n == 0)
			return kh_err_set(err, ECONNRESET,
					  "QEMU closed the QMP connection on %s",
					  qmp->path);
		qmp->len += n;
	}

	linelen = nl - qmp->buf + 1;
	msg = json_loadb(qmp->buf, linelen, 0, &jerr);
	memmove(qmp->buf, qmp->buf + linelen, qmp->len - linelen);
	qmp->len -= linelen;
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		return kh_err_set(err, EPROTO,
				  "QEMU sent something that is not a JSON object on %s",
				  qmp->path);
	}
	*msgp = msg;
	return 0;
}

/* One send; fd >= 0 travels with its first byte (SCM_RIGHTS). */
static ssize_t send_some(int sock, const char *data, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd < 0)
		return send(sock, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int send_all(struct kh_qmp *qmp, const char *data, size_t len,
		    int fd, int64_t deadline, struct kh_err *err)
{
	ssize_t n;
	int r;

	while (len) {
		n = send_some(qmp->fd, data, len, fd);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return kh_err_set(err, errno,
						  "writing to %s: %s",
						  qmp->path, strerror(errno));
			r = wait_fd(qmp->fd, POLLOUT, deadline);
			if (r)
				return kh_err_set(err, -r,
						  "QEMU stopped reading from %s",
						  qmp->path);
			continue;
		}
		data += n;
		len -= n;
		fd = -1;
	}
	return 0;
}

/*
 * Sends one command, with fd when it is >= 0; the reply with our id,
 * skipping events.
 */
static int transact(struct kh_qmp *qmp, const char *cmd, json_t *args,
		    int fd, json_t **ret, struct kh_err *err)
{
	int64_t deadline = now_ms() + qmp->timeout_ms;
	unsigned long id = ++qmp->next_id;
	json_t *req, *msg = NULL, *rid, *val;
	char *text;
	int r;

	if (qmp->pt.execute)
		return qmp->pt.execute(qmp->pt.priv, cmd, args, ret, err);
	req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	if (!req) {
		json_decref(args);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	if (args && json_object_set_new(req, "arguments", args)) {
		json_decref(req);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return kh_err_set(err, ENOMEM, "out of memory");
	r = send_all(qmp, text, strlen(text), fd, deadline, err);
	if (!r)
		r = send_all(qmp, "\n", 1, -1, deadline, err);
	free(text);
	if (r)
		return r;

	for (;;) {
		r = read_msg(qmp, deadline, &msg, err);
		if (r)
			return kh_err_prefix(err, "QMP %s", cmd);
		rid = json_object_get(msg, "id");
		/* Events, and late replies to commands that timed out. */
		if (json_object_get(msg, "event") || !json_is_integer(rid) ||
		    (unsigned long)json_integer_value(rid) != id) {
			json_decref(msg);
			continue;
		}
		break;
	}

	val = json_object_get(msg, "error");
	if (val) {
		const char *desc = json_string_value(json_object_get(val,
								     "desc"));

		r = kh_err_set(err, EREMOTEIO, "QEMU refused QMP %s: %s", cmd,
			       desc ? desc : "(no description)");
		json_decref(msg);
		return r;
	}
	val = json_object_get(msg, "return");
	if (!val) {
		json_decref(msg);
		return kh_err_set(err, EPROTO,
				  "QEMU's reply to QMP %s has neither return nor error",
				  cmd);
	}
	if (ret)
		*ret = json_incref(val);
	json_decref(msg);
	return 0;
}

static int connect_socket(struct kh_qmp *qmp, const char *path,
			  int64_t deadline, struct kh_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int so_err = 0;
	int r;

	qmp->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (qmp->fd < 0)
		return kh_err_set(err, errno, "cannot create a socket: %s",
				  strerror(errno));
	strcpy(sa.sun_path, path);
	if (connect(qmp->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = errno;
		if (r == EAGAIN)
			/* The backlog is full: others queue for the monitor. */
			return kh_err_set(err, EBUSY,
					  "QMP socket %s is busy: its listen queue is full (another client holds the monitor)",
					  path);
		if (r == ECONNREFUSED)
			return kh_err_set(err, ECONNREFUSED,
					  "nothing listens on %s (has QEMU exited?)",
					  path);
		if (r != EINPROGRESS)
			return kh_err_set(err, r, "cannot connect to %s: %s",
					  path, strerror(r));
		r = wait_fd(qmp->fd, POLLOUT, deadline);
		if (r == -ETIMEDOUT)
			return kh_err_set(err, EBUSY,
					  "QMP socket %s is busy: connecting took more than %d ms",
					  path, qmp->timeout_ms);
		if (r)
			return kh_err_set(err, -r, "cannot connect to %s: %s",
					  path, strerror(-r));
		getsockopt(qmp->fd, SOL_SOCKET, SO_ERROR, &so_err,
			   &(socklen_t){ sizeof(so_err) });
		if (so_err)
			return kh_err_set(err, so_err,
					  "cannot connect to %s: %s", path,
					  strerror(so_err));
	}
	if (!getsockopt(qmp->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen))
		qmp->peer = cred.pid;
	return 0;
}

int kh_qmp_connect(const char *path, int timeout_ms, struct kh_qmp **qmpp,
		   struct kh_err *err)
{
	int64_t deadline;
	struct kh_qmp *qmp;
	json_t *msg = NULL;
	int r;

	*qmpp = NULL;
	if (strlen(path) >= sizeof(qmp->path))
		return kh_err_set(err, ENAMETOOLONG,
				  "QMP socket path %s is longer than %zu bytes",
				  path, sizeof(qmp->path) - 1);
	if (timeout_ms <= 0)
		timeout_ms = 2000;
	qmp = calloc(1, sizeof(*qmp));
	if (!qmp)
		return kh_err_set(err, ENOMEM, "out of memory");
	qmp->fd = -1;
	qmp->timeout_ms = timeout_ms;
	strcpy(qmp->path, path);
	deadline = now_ms() + timeout_ms;

	r = connect_socket(qmp, path, deadline, err);
	if (r)
		goto fail;

	r = read_msg(qmp, deadline, &msg, err);
	if (r == -ETIMEDOUT) {
		r = kh_err_set(err, EBUSY,
			       "QMP socket %s is in use by another client: QEMU sent no greeting within %d ms (a QMP monitor serves one client at a time), or it is not a QMP socket",
			       path, timeout_ms);
		goto fail;
	}
	if (r)
		goto fail;
	if (!json_is_object(json_object_get(msg, "QMP"))) {
		json_decref(msg);
		r = kh_err_set(err, EPROTO,
			       "%s did not greet like a QMP monitor (is it an HMP or serial socket?)",
			       path);
		goto fail;
	}
	json_decref(msg);

	r = transact(qmp, "qmp_capabilities", NULL, -1, NULL, err);
	if (r)
		goto fail;
	*qmpp = qmp;
	return 0;
fail:
	kh_qmp_close(qmp);
	return r;
}

int kh_qmp_open_passthrough(const struct kh_passthrough *pt, pid_t peer,
			    struct kh_qmp **qmpp, struct kh_err *err)
{
	struct kh_qmp *qmp = calloc(1, sizeof(*qmp));

	*qmpp = NULL;
	if (!qmp) {
		pt->close(pt->priv);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	qmp->fd = -1;
	qmp->peer = peer;
	qmp->pt = *pt;
	snprintf(qmp->path, sizeof(qmp->path), "%s", pt->what);
	*qmpp = qmp;
	return 0;
}

int kh_qmp_set_halt_journal(struct kh_qmp *qmp, const char *dir,
			    const struct kh_halt_entry *e, struct kh_err *err)
{
	free(qmp->journal_dir);
	qmp->journal_dir = strdup(dir);
	if (!qmp->journal_dir)
		return kh_err_set(err, ENOMEM, "out of memory");
	qmp->journal = *e;
	return 0;
}

/* Journals the halt about to be made; the stop is not sent otherwise. */
static int journal_stop(struct kh_qmp *qmp, struct kh_err *err)
{
	int r = kh_halt_start_time(qmp->journal.pid,
				   &qmp->journal.start_time);

	if (r)
		return kh_err_set(err, -r,
				  "not halting QEMU pid %d: cannot read its start time for the halt journal: %s",
				  (int)qmp->journal.pid, strerror(-r));
	snprintf(qmp->journal.halt, sizeof(qmp->journal.halt), "stop");
	r = kh_halt_journal_write(qmp->journal_dir, &qmp->journal, err);
	if (r)
		return kh_err_prefix(err,
				     "not halting QEMU pid %d, which could not be resumed after a crash",
				     (int)qmp->journal.pid);
	qmp->journalled = 1;
	return 0;
}

static void journal_forget(struct kh_qmp *qmp)
{
	if (!qmp->journalled)
		return;
	kh_halt_journal_remove(qmp->journal_dir, &qmp->journal);
	qmp->journalled = 0;
}

void kh_qmp_close(struct kh_qmp *qmp)
{
	if (!qmp)
		return;
	/*
	 * Alive, the library resumed the guest or chose not to (someone
	 * else ran it meanwhile, or cont failed and was reported): an entry
	 * left behind could later resume a pause that is not ours.
	 */
	journal_forget(qmp);
	free(qmp->journal_dir);
	if (qmp->pt.close)
		qmp->pt.close(qmp->pt.priv);
	if (qmp->fd >= 0)
		close(qmp->fd);
	free(qmp->buf);
	free(qmp);
}

pid_t kh_qmp_peer_pid(const struct kh_qmp *qmp)
{
	return qmp->peer;
}

/*
 * The one place every QMP (and libvirt) stop and cont of the library goes
 * through, hence where the halt journal is kept. Callers send "stop" only
 * to a guest that runs, so every journalled halt is keyhole's own.
 */
int kh_qmp_execute(struct kh_qmp *qmp, const char *cmd, json_t *args,
		   json_t **ret, struct kh_err *err)
{
	int r;

	if (ret)
		*ret = NULL;
	if (qmp->journal_dir && !strcmp(cmd, "stop")) {
		r = journal_stop(qmp, err);
		if (r) {
			json_decref(args);
			return r;
		}
	}
	r = transact(qmp, cmd, args, -1, ret, err);
	if (!r && !strcmp(cmd, "cont"))
		journal_forget(qmp);
	return r;
}

int kh_qmp_execute_fd(struct kh_qmp *qmp, const char *cmd, json_t *args,
		      int fd, json_t **ret, struct kh_err *err)
{
	if (ret)
		*ret = NULL;
	if (qmp->pt.execute_fd)
		return qmp->pt.execute_fd(qmp->pt.priv, cmd, args, fd, ret,
					  err);
	if (qmp->pt.execute) {
		json_decref(args);
		return kh_err_set(err, ENOTSUP,
				  "%s cannot pass a file to QEMU", qmp->pt.what);
	}
	return transact(qmp, cmd, args, fd, ret, err);
}

int kh_qmp_hmp(struct kh_qmp *qmp, const char *cmdline, char **out,
	       struct kh_err *err)
{
	json_t *args, *ret;
	const char *text;
	int r;

	*out = NULL;
	args = json_pack("{s:s}", "command-line", cmdline);
	if (!args)
		return kh_err_set(err, ENOMEM, "out of memory");
	r = transact(qmp, "human-monitor-command", args, -1, &ret, err);
	if (r)
		return kh_err_prefix(err, "HMP '%s'", cmdline);
	text = json_string_value(ret);
	if (!text) {
		json_decref(ret);
		return kh_err_set(err, EPROTO,
				  "QEMU's reply to HMP '%s' is not a string",
				  cmdline);
	}
	*out = strdup(text);
	json_decref(ret);
	if (!*out)
		return kh_err_set(err, ENOMEM, "out of memory");
	return 0;
}
