// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tiny QMP client for the tests: plain sockets and string search. QEMU
 * ends every JSON object it sends with "\r\n" and never breaks one across
 * lines, so a reply is one line, told apart from events by its key. Every
 * wait is bounded by KT_QMP_TIMEOUT_MS and every line by the buffer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kt.h"

#define KT_QMP_TIMEOUT_MS	30000
#define KT_QMP_LINE_MAX		(256 * 1024)

struct kt_qmp {
	int fd;
	size_t len;			/* bytes in buf not yet returned */
	char buf[KT_QMP_LINE_MAX];
};

uint64_t kt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next line (without "\r\n") into line; 0 or -errno */
static int qmp_line(struct kt_qmp *qmp, char *line, size_t size)
{
	uint64_t deadline = kt_now_ms() + KT_QMP_TIMEOUT_MS;

	for (;;) {
		char *nl = memchr(qmp->buf, '\n', qmp->len);
		struct pollfd pfd = { .fd = qmp->fd, .events = POLLIN };
		uint64_t now;
		ssize_t n;

		if (nl) {
			size_t n_line = nl - qmp->buf;
			size_t keep = qmp->len - n_line - 1;

			if (n_line && qmp->buf[n_line - 1] == '\r')
				n_line--;
			if (n_line >= size) {
				fprintf(stderr, "qmp: a %zu-byte line does not fit %zu bytes\n",
					n_line, size);
				/* dropped, so the next call reads the next line */
				memmove(qmp->buf, nl + 1, keep);
				qmp->len = keep;
				return -EMSGSIZE;
			}
			memcpy(line, qmp->buf, n_line);
			line[n_line] = '\0';
			memmove(qmp->buf, nl + 1, keep);
			qmp->len = keep;
			return 0;
		}
		if (qmp->len == sizeof(qmp->buf)) {
			fprintf(stderr, "qmp: no end of line in %zu bytes\n", qmp->len);
			return -EMSGSIZE;
		}
		now = kt_now_ms();
		if (now >= deadline) {
			fprintf(stderr, "qmp: no reply within %d ms\n", KT_QMP_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		n = poll(&pfd, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		n = read(qmp->fd, qmp->buf + qmp->len, sizeof(qmp->buf) - qmp->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			fprintf(stderr, "qmp: QEMU closed the socket\n");
			return -ECONNRESET;
		}
		qmp->len += n;
	}
}

static int qmp_send(struct kt_qmp *qmp, const char *cmd)
{
	size_t off = 0, len = strlen(cmd);

	while (off < len) {
		ssize_t n = send(qmp->fd, cmd + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "qmp: send: %s\n", strerror(errno));
			return -errno;
		}
		off += n;
	}
	return send(qmp->fd, "\n", 1, MSG_NOSIGNAL) == 1 ? 0 : -EIO;
}

int kt_qmp_cmd(struct kt_qmp *qmp, const char *cmd, char *reply, size_t size)
{
	int err = qmp_send(qmp, cmd);

	if (err)
		return err;
	for (;;) {
		err = qmp_line(qmp, reply, size);
		if (err)
			return err;
		if (!strncmp(reply, "{\"return\"", 9))
			return 0;
		if (!strncmp(reply, "{\"error\"", 8)) {
			fprintf(stderr, "qmp: %s -> %s\n", cmd, reply);
			return -EREMOTEIO;
		}
		/* an event ({"timestamp": ..., "event": ...}): not ours */
	}
}

int kt_qmp_open(struct kt_qmp **qmpp, const char *path, unsigned int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint64_t deadline = kt_now_ms() + timeout_ms;
	struct kt_qmp *qmp;
	char line[4096];
	int err;

	*qmpp = NULL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "qmp: socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	qmp = malloc(sizeof(*qmp));
	if (!qmp)
		return -ENOMEM;
	qmp->len = 0;
	/* QEMU makes the socket a moment after it starts */
	for (;;) {
		qmp->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (qmp->fd < 0) {
			err = -errno;
			free(qmp);
			return err;
		}
		if (!connect(qmp->fd, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		err = -errno;
		close(qmp->fd);
		if ((err != -ENOENT && err != -ECONNREFUSED) ||
		    kt_now_ms() >= deadline) {
			fprintf(stderr, "qmp: connect %s: %s\n", path, strerror(-err));
			free(qmp);
			return err;
		}
		usleep(10000);
	}
	/* the greeting, then capabilities negotiation */
	err = qmp_line(qmp, line, sizeof(line));
	if (!err && strncmp(line, "{\"QMP\"", 6)) {
		fprintf(stderr, "qmp: %s: not a QMP greeting: %.200s\n", path, line);
		err = -EPROTO;
	}
	if (!err)
		err = kt_qmp_cmd(qmp, "{\"execute\":\"qmp_capabilities\"}",
				 line, sizeof(line));
	if (err) {
		kt_qmp_close(qmp);
		return err;
	}
	*qmpp = qmp;
	return 0;
}

void kt_qmp_close(struct kt_qmp *qmp)
{
	if (!qmp)
		return;
	close(qmp->fd);
	free(qmp);
}

/* Undo JSON string escapes from src (just after the opening quote). */
static int json_unescape(const char *src, char *out, size_t size)
{
	size_t n = 0;

	for (; *src && *src != '"'; src++) {
		char c = *src;

		if (c == '\\') {
			src++;
			switch (*src) {
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case '"':
			case '\\':
			case '/':
				c = *src;
				break;
			case 'u':
				/* HMP output is ASCII; keep a marker, skip 4 hex */
				if (strnlen(src, 5) < 5)
					return -EPROTO;
				src += 4;
				c = '?';
				break;
			default:
				return -EPROTO;
			}
		}
		if (n + 1 >= size)
			return -EMSGSIZE;
		out[n++] = c;
	}
	if (*src != '"')
		return -EPROTO;
	out[n] = '\0';
	return 0;
}

int kt_hmp(struct kt_qmp *qmp, const char *cmdline, char *out, size_t size)
{
	char cmd[512];
	char *reply, *str;
	int err;

	/* our commands are plain words and numbers: nothing to escape */
	if (strpbrk(cmdline, "\"\\\n") ||
	    snprintf(cmd, sizeof(cmd),
		     "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"%s\"}}",
		     cmdline) >= (int)sizeof(cmd)) {
		fprintf(stderr, "hmp: refusing command '%s'\n", cmdline);
		return -EINVAL;
	}
	reply = malloc(KT_QMP_LINE_MAX);
	if (!reply)
		return -ENOMEM;
	err = kt_qmp_cmd(qmp, cmd, reply, KT_QMP_LINE_MAX);
	if (!err) {
		/* {"return": "TEXT"}: TEXT starts after the next quote */
		str = strchr(reply + 9, '"');
		if (!str) {
			fprintf(stderr, "hmp: %s: unexpected reply %.200s\n", cmdline, reply);
			err = -EPROTO;
		} else {
			err = json_unescape(str + 1, out, size);
			if (err)
				fprintf(stderr, "hmp: %s: bad reply string %.200s\n",
					cmdline, reply);
		}
	}
	free(reply);
	return err;
}
