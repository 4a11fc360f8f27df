// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The keyholed protocol's messages and a client's side of the socket
 * (proto.h). The daemon's side of the socket is its own event loop; the
 * messages are these, so both ends build and parse them in one place.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

json_t *kh_proto_greeting(const char *version, const char *const *caps)
{
	json_t *list = json_array();

	while (caps && *caps)
		json_array_append_new(list, json_string(*caps++));
	return json_pack("{s:{s:s, s:i, s:o}}", "keyholed", "version", version,
			 "protocol", KH_PROTO_VERSION, "capabilities", list);
}

static void say(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

int kh_proto_parse_request(const char *line, size_t len,
			   struct kh_proto_request *req, char *why,
			   size_t why_size)
{
	json_error_t jerr;
	const char *key;
	json_t *value;

	memset(req, 0, sizeof(*req));
	req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req->root) {
		say(why, why_size, "not JSON: %s at column %d", jerr.text,
		    jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(req->root)) {
		say(why, why_size, "a request is a JSON object");
		goto bad;
	}
	req->id = json_object_get(req->root, "id");
	json_object_foreach(req->root, key, value) {
		if (strcmp(key, "execute") && strcmp(key, "arguments") &&
		    strcmp(key, "id")) {
			say(why, why_size, "unknown key '%.64s' (a request has execute, arguments, id)",
			    key);
			goto bad;
		}
	}
	req->execute = json_string_value(json_object_get(req->root, "execute"));
	if (!req->execute) {
		say(why, why_size, "'execute' must be a command name (a string)");
		goto bad;
	}
	req->arguments = json_object_get(req->root, "arguments");
	if (!req->arguments) {
		req->arguments = json_object();
		json_object_set_new(req->root, "arguments", req->arguments);
	} else if (!json_is_object(req->arguments)) {
		say(why, why_size, "'arguments' must be an object");
		goto bad;
	}
	return 0;
bad:
	/* Keeps root (and id) so that the refusal can carry the id. */
	req->execute = NULL;
	req->arguments = NULL;
	return -EINVAL;
}

void kh_proto_request_release(struct kh_proto_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

static json_t *with_id(json_t *msg, const json_t *id)
{
	if (msg && id)
		json_object_set_new(msg, "id", json_deep_copy(id));
	return msg;
}

json_t *kh_proto_return(json_t *value, const json_t *id)
{
	return with_id(json_pack("{s:o}", "return", value ?: json_object()),
		       id);
}

json_t *kh_proto_error(const char *klass, const json_t *id,
		       const char *fmt, ...)
{
	char desc[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	return with_id(json_pack("{s:{s:s, s:s}}", "error", "class", klass,
				 "desc", desc), id);
}

json_t *kh_proto_event(const char *name, json_t *data)
{
	return json_pack("{s:s, s:o}", "event", name, "data",
			 data ?: json_object());
}

char *kh_proto_encode(json_t *msg, size_t *len)
{
	char *text, *line;
	size_t n;

	if (!msg)
		return NULL;
	text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(msg);
	if (!text)
		return NULL;
	n = strlen(text);
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

int kh_proto_connect(const char *path, struct kh_proto_conn *conn,
		     char *why, size_t why_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	json_int_t version;
	json_t *hello;
	int ret;

	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		say(why, why_size, "socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn->fd < 0 ||
	    connect(conn->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		say(why, why_size, "cannot reach keyholed at %s: %s%s", path,
		    strerror(errno), errno == ENOENT || errno == ECONNREFUSED ?
		    " (is keyholed running? see keyholed(8))" : "");
		kh_proto_close(conn);
		return ret;
	}
	ret = kh_proto_receive(conn, &hello, why, why_size);
	if (ret) {
		kh_proto_close(conn);
		return ret;
	}
	if (!json_is_object(json_object_get(hello, "keyholed"))) {
		json_decref(hello);
		say(why, why_size, "%s did not greet as keyholed does", path);
		kh_proto_close(conn);
		return -EPROTO;
	}
	/* Another protocol's documents would be misread, not refused. */
	version = json_integer_value(json_object_get(json_object_get(hello,
			"keyholed"), "protocol"));
	if (version != KH_PROTO_VERSION) {
		json_decref(hello);
		if (version)
			say(why, why_size,
			    "keyholed at %s speaks protocol %lld, this client %d: use the keyhole of the same version",
			    path, (long long)version, KH_PROTO_VERSION);
		else
			say(why, why_size,
			    "keyholed at %s names no protocol in its greeting",
			    path);
		kh_proto_close(conn);
		return -EPROTO;
	}
	conn->greeting = hello;
	return 0;
}

void kh_proto_close(struct kh_proto_conn *conn)
{
	while (conn->nr_fds)
		close(conn->fds[--conn->nr_fds]);
	if (conn->fd >= 0)
		close(conn->fd);
	free(conn->buf);
	json_decref(conn->greeting);
	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
}

/*
 * Takes the first complete line out of the buffer, if there is one: by
 * moving start, so that a buffer of many lines costs one pass.
 */
static int take_line(struct kh_proto_conn *conn, json_t **msg, char *why,
		     size_t why_size)
{
	char *line = conn->buf + conn->start, *nl;
	json_error_t jerr;
	size_t n;

	nl = conn->len > conn->start ?
	     memchr(line, '\n', conn->len - conn->start) : NULL;
	if (!nl)
		return -EAGAIN;
	n = nl - line;
	*msg = json_loadb(line, n, 0, &jerr);
	conn->start += n + 1;
	if (conn->start == conn->len)
		conn->start = conn->len = 0;
	if (!*msg || !json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		say(why, why_size, "keyholed sent a line that is not a JSON object: %s",
		    jerr.text);
		return -EPROTO;
	}
	return 0;
}

unsigned int kh_proto_take_fds(struct kh_proto_conn *conn, int *fds,
			       unsigned int max)
{
	unsigned int n = conn->nr_fds < max ? conn->nr_fds : max;

	memcpy(fds, conn->fds, n * sizeof(*fds));
	memmove(conn->fds, conn->fds + n, (conn->nr_fds - n) * sizeof(*fds));
	conn->nr_fds -= n;
	return n;
}

/*
 * A read that also takes descriptors passed with SCM_RIGHTS: kept for
 * kh_proto_take_fds(), or closed when more came than a reply carries.
 */
static ssize_t read_with_fds(struct kh_proto_conn *conn, void *buf,
			     size_t len)
{
	union {
		char buf[CMSG_SPACE(KH_PROTO_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(conn->fd, &mh, MSG_CMSG_CLOEXEC);
	unsigned int i, nr;
	int fd;

	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nr = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nr; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (conn->nr_fds < KH_PROTO_MAX_FDS)
				conn->fds[conn->nr_fds++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

int kh_proto_receive(struct kh_proto_conn *conn, json_t **msg, char *why,
		     size_t why_size)
{
	ssize_t n;
	int ret;

	for (;;) {
		ret = take_line(conn, msg, why, why_size);
		if (ret != -EAGAIN)
			return ret;
		if (conn->start) {
			memmove(conn->buf, conn->buf + conn->start,
				conn->len - conn->start);
			conn->len -= conn->start;
			conn->start = 0;
		}
		if (conn->len == conn->size) {
			size_t size = conn->size ? conn->size * 2 : 65536;
			char *buf;

			if (size > KH_PROTO_MAX_REPLY) {
				say(why, why_size, "keyholed sent a line over %u MiB",
				    KH_PROTO_MAX_REPLY >> 20);
				return -E2BIG;
			}
			buf = realloc(conn->buf, size);
			if (!buf) {
				say(why, why_size, "out of memory reading keyholed's reply");
				return -ENOMEM;
			}
			conn->buf = buf;
			conn->size = size;
		}
		n = read_with_fds(conn, conn->buf + conn->len,
				  conn->size - conn->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			say(why, why_size, "reading from keyholed: %s",
			    strerror(errno));
			return ret;
		}
		if (n == 0) {
			say(why, why_size, "keyholed closed the connection");
			return -ECONNRESET;
		}
		conn->len += n;
	}
}

int kh_proto_send(struct kh_proto_conn *conn, const char *execute,
		  json_t *arguments, json_int_t id, char *why,
		  size_t why_size)
{
	size_t len, done = 0;
	char *line;
	ssize_t n;
	int ret = 0;

	line = kh_proto_encode(json_pack("{s:s, s:o, s:I}", "execute", execute,
					 "arguments", arguments ?: json_object(),
					 "id", id), &len);
	if (!line) {
		say(why, why_size, "cannot encode the request");
		return -ENOMEM;
	}
	while (done < len) {
		n = send(conn->fd, line + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			say(why, why_size, "writing to keyholed: %s",
			    strerror(errno));
			break;
		}
		done += n;
	}
	free(line);
	return ret;
}
