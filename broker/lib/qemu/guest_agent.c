// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qemu-ga client; see qemu/guest_agent.h.
 *
 * The agent answers each command with one JSON object and a newline. A
 * previous client may have left a command half-sent or a reply unread, so
 * every session starts by sending 0xFF (which makes the agent's parser
 * drop whatever it holds) and guest-sync-delimited with a fresh id: the
 * agent prefixes that reply with a 0xFF byte, which never occurs in JSON,
 * and everything before it is stale.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qemu/guest_agent.h"
#include "qemu/chardev_socket.h"

#define EXEC_TIMEOUT_MS	10000
#define EXEC_POLL_NS	5000000		/* 5 ms between guest-exec-status */

static const char what[] = "guest agent socket";

struct kh_qga {
	int fd;
	int timeout_ms;
	char *buf;		/* received, not yet consumed */
	size_t len, cap;
	struct kh_passthrough pt;	/* pt.execute set: not a socket */
};

static int fill(struct kh_qga *qga, int64_t deadline, struct kh_err *err)
{
	long n;

	if (qga->len == qga->cap) {
		size_t cap = qga->cap ? qga->cap * 2 : 65536;
		char *buf;

		if (qga->cap >= KH_QGA_MAX_REPLY)
			return kh_err_set(err, EMSGSIZE,
					  "a guest agent reply is larger than %u bytes",
					  KH_QGA_MAX_REPLY);
		buf = realloc(qga->buf, cap);
		if (!buf)
			return kh_err_set(err, ENOMEM, "out of memory");
		qga->buf = buf;
		qga->cap = cap;
	}
	n = kh_unix_recv(qga->fd, qga->buf + qga->len, qga->cap - qga->len,
			 deadline, what, err);
	if (n == -ETIMEDOUT)
		return kh_err_set(err, ETIMEDOUT,
				  "the guest agent did not answer within %d ms: is qemu-ga running in the guest?",
				  qga->timeout_ms);
	if (n < 0)
		return n;
	qga->len += n;
	return 0;
}

static void consume(struct kh_qga *qga, size_t n)
{
	memmove(qga->buf, qga->buf + n, qga->len - n);
	qga->len -= n;
}

/* The next JSON reply, parsed; errors from the agent become -EIO. */
static int read_reply(struct kh_qga *qga, json_t **ret, struct kh_err *err)
{
	int64_t deadline = kh_unix_now_ms() + qga->timeout_ms;
	size_t scanned = 0;
	json_error_t jerr;
	json_t *msg, *e;
	char *nl;
	int r;

	for (;;) {
		nl = memchr(qga->buf + scanned, '\n', qga->len - scanned);
		if (nl)
			break;
		scanned = qga->len;
		r = fill(qga, deadline, err);
		if (r)
			return r;
	}
	msg = json_loadb(qga->buf, nl - qga->buf, 0, &jerr);
	consume(qga, nl - qga->buf + 1);
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		return kh_err_set(err, EPROTO,
				  "the guest agent sent a reply that is not a JSON object");
	}
	e = json_object_get(msg, "error");
	if (e) {
		r = kh_err_set(err, EIO, "the guest agent refused: %.200s",
			       json_string_value(json_object_get(e, "desc")) ?:
			       "(no description)");
		json_decref(msg);
		return r;
	}
	*ret = json_incref(json_object_get(msg, "return"));
	json_decref(msg);
	if (!*ret)
		return kh_err_set(err, EPROTO,
				  "the guest agent's reply has no \"return\"");
	return 0;
}

static int send_cmd(struct kh_qga *qga, const char *cmd, json_t *args,
		    struct kh_err *err)
{
	json_t *req = json_pack("{s:s}", "execute", cmd);
	char *text;
	int r;

	if (req && args)
		json_object_set_new(req, "arguments", args);
	else
		json_decref(args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text)
		return kh_err_set(err, ENOMEM, "out of memory");
	r = kh_unix_send(qga->fd, text, strlen(text),
			 kh_unix_now_ms() + qga->timeout_ms, what, err);
	if (!r)
		r = kh_unix_send(qga->fd, "\n", 1,
				 kh_unix_now_ms() + qga->timeout_ms, what,
				 err);
	free(text);
	return r;
}

int kh_qga_execute(struct kh_qga *qga, const char *cmd, json_t *args,
		   json_t **ret, struct kh_err *err)
{
	json_t *reply = NULL;
	int r;

	if (qga->pt.execute) {
		r = qga->pt.execute(qga->pt.priv, cmd, args, &reply, err);
	} else {
		r = send_cmd(qga, cmd, args, err);
		if (!r)
			r = read_reply(qga, &reply, err);
	}
	if (r)
		return kh_err_prefix(err, "%s", cmd);
	if (ret)
		*ret = reply;
	else
		json_decref(reply);
	return 0;
}

long kh_qga_sync_reply(const char *buf, size_t len, size_t *linelen)
{
	const char *ff = NULL, *nl, *p;

	/* Before the first read buf is NULL, and NULL + 0 is undefined. */
	if (!len)
		return -EAGAIN;
	for (p = buf; p < buf + len; p++)
		if ((unsigned char)*p == 0xff)
			ff = p;
	if (!ff)
		return -EAGAIN;
	nl = memchr(ff + 1, '\n', buf + len - ff - 1);
	if (!nl)
		return -EAGAIN;
	*linelen = nl - ff - 1;
	return ff + 1 - buf;
}

static int sync_session(struct kh_qga *qga, struct kh_err *err)
{
	int64_t deadline = kh_unix_now_ms() + qga->timeout_ms;
	json_int_t id;
	size_t linelen;
	json_t *msg, *ret;
	long off;
	int r;

	/*
	 * Fresh per session, so an older session's late reply never
	 * matches (no PRNG: the library keeps no global state).
	 */
	id = (kh_unix_now_ms() ^ (getpid() << 10) ^ (uintptr_t)qga) &
	     0x3fffffff;
	r = kh_unix_send(qga->fd, "\xff", 1, deadline, what, err);
	if (!r)
		r = send_cmd(qga, "guest-sync-delimited",
			     json_pack("{s:I}", "id", id), err);
	while (!r) {
		off = kh_qga_sync_reply(qga->buf, qga->len, &linelen);
		if (off >= 0) {
			msg = json_loadb(qga->buf + off, linelen, 0, NULL);
			consume(qga, off + linelen + 1);
			ret = json_object_get(msg, "return");
			/* Not JSON or no integer would read as id 0. */
			r = json_is_integer(ret) &&
			    json_integer_value(ret) == id;
			json_decref(msg);
			if (r)
				return 0;
			continue;	/* an older sync's reply */
		}
		/* Stale bytes before the marker are never needed. */
		if (qga->len == qga->cap && qga->cap >= KH_QGA_MAX_REPLY)
			consume(qga, qga->len);
		r = fill(qga, deadline, err);
	}
	return r;
}

int kh_qga_connect(const char *path, pid_t qemu_pid, int timeout_ms,
		   struct kh_qga **qgap, struct kh_err *err)
{
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct kh_qga *qga;
	int fd, r;

	fd = kh_unix_connect(path, what, kh_unix_now_ms() + timeout_ms, err);
	if (fd < 0)
		return fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) ||
	    cred.pid != qemu_pid) {
		close(fd);
		return kh_err_set(err, EPERM,
				  "guest agent socket %s belongs to pid %d, not to QEMU pid %d",
				  path, (int)cred.pid, (int)qemu_pid);
	}
	qga = calloc(1, sizeof(*qga));
	if (!qga) {
		close(fd);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	qga->fd = fd;
	qga->timeout_ms = timeout_ms;
	r = sync_session(qga, err);
	if (r) {
		kh_qga_close(qga);
		return kh_err_prefix(err, "guest agent on %s", path);
	}
	*qgap = qga;
	return 0;
}

int kh_qga_open_passthrough(const struct kh_passthrough *pt, int timeout_ms,
			    struct kh_qga **qgap, struct kh_err *err)
{
	struct kh_qga *qga = calloc(1, sizeof(*qga));

	*qgap = NULL;
	if (!qga) {
		pt->close(pt->priv);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	qga->fd = -1;
	qga->timeout_ms = timeout_ms;
	qga->pt = *pt;
	*qgap = qga;
	return 0;
}

void kh_qga_close(struct kh_qga *qga)
{
	if (!qga)
		return;
	if (qga->pt.close)
		qga->pt.close(qga->pt.priv);
	if (qga->fd >= 0)
		close(qga->fd);
	free(qga->buf);
	free(qga);
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int kh_base64_decode(const char *in, size_t inlen, uint8_t *out,
		     size_t outsz, size_t *outlen)
{
	size_t i, n = 0;

	if (inlen % 4)
		return -EBADMSG;
	for (i = 0; i < inlen; i += 4) {
		int v[4], pad = 0, k;
		uint32_t w = 0;

		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == inlen && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad)
				return -EBADMSG;	/* data after '=' */
			v[k] = b64val(in[i + k]);
			if (v[k] < 0)
				return -EBADMSG;
		}
		w = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
		/* Bits under the padding must be zero (canonical form). */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -EBADMSG;
		if (n + 3 - pad > outsz)
			return -EMSGSIZE;
		out[n++] = w >> 16;
		if (pad < 2)
			out[n++] = w >> 8;
		if (pad < 1)
			out[n++] = w;
	}
	*outlen = n;
	return 0;
}

static void sleep_ns(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

int kh_qga_exec(struct kh_qga *qga, const char *path,
		const char *const *argv, unsigned int argc, char **out,
		size_t *outlen, int *truncated, struct kh_err *err)
{
	int64_t deadline = kh_unix_now_ms() + EXEC_TIMEOUT_MS;
	json_t *args, *arr, *ret = NULL;
	json_int_t pid;
	const char *b64;
	unsigned int i;
	size_t len;
	int r;

	arr = json_array();
	for (i = 0; arr && i < argc; i++)
		if (json_array_append_new(arr, json_string(argv[i])))
			break;
	args = arr && i == argc ?
	       json_pack("{s:s,s:O,s:b}", "path", path, "arg", arr,
			 "capture-output", 1) : NULL;
	json_decref(arr);
	if (!args)
		return kh_err_set(err, ENOMEM, "out of memory");
	r = kh_qga_execute(qga, "guest-exec", args, &ret, err);
	if (r)
		return r;
	pid = json_integer_value(json_object_get(ret, "pid"));
	json_decref(ret);
	if (pid <= 0)
		return kh_err_set(err, EPROTO,
				  "guest-exec of %s returned no pid", path);
	for (;;) {
		r = kh_qga_execute(qga, "guest-exec-status",
				   json_pack("{s:I}", "pid", pid), &ret, err);
		if (r)
			return r;
		if (json_is_true(json_object_get(ret, "exited")))
			break;
		json_decref(ret);
		if (kh_unix_now_ms() > deadline)
			return kh_err_set(err, ETIMEDOUT,
					  "%s in the guest did not exit within %d ms",
					  path, EXEC_TIMEOUT_MS);
		sleep_ns(EXEC_POLL_NS);
	}
	*truncated = json_is_true(json_object_get(ret, "out-truncated"));
	b64 = json_string_value(json_object_get(ret, "out-data"));
	len = b64 ? strlen(b64) : 0;
	*out = malloc(len / 4 * 3 + 1);
	if (!*out) {
		json_decref(ret);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	r = kh_base64_decode(b64 ? b64 : "", len, (uint8_t *)*out,
			     len / 4 * 3, outlen);
	json_decref(ret);
	if (r) {
		free(*out);
		*out = NULL;
		return kh_err_set(err, EBADMSG,
				  "the guest agent's output of %s is not valid base64",
				  path);
	}
	(*out)[*outlen] = '\0';
	return 0;
}
