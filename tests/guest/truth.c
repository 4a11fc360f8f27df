// SPDX-License-Identifier: GPL-2.0-only
/*
 * truth.c - host-side client for the keyhole test guest.
 *
 *   truth [-t SECS] SOCKET REQUEST
 *	Ask the guest's ground-truth daemon (kh-truth on ttyS1, exposed by
 *	QEMU as a unix socket) one REQUEST (ping, uname, ps, info, fds PID,
 *	...; the list is in README.md) and print the reply lines up to, not
 *	including, "END".
 *   truth --qmp [-t SECS] SOCKET JSON
 *	Send one QMP command (after qmp_capabilities) and print its reply;
 *	exit 1 on an "error" reply.  Used by vm.sh stop, so no socat/python
 *	is needed.
 *
 * Everything is bounded by a timeout (default 20 s): on expiry it prints
 * a message and exits 1.  A serial line can hold leftovers from an earlier
 * client (a reply it did not wait for, a half-sent request), so before the
 * request we send an empty line (ends any partial request) and
 * "sync NONCE", and discard everything up to the NONCE echo and its END.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;
static double deadline;
static const char *sockpath;
static char buf[65536];
static size_t blen;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
	fprintf(stderr, "truth: %s: %s\n", sockpath, what);
	exit(1);
}

static void send_all(const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len) {
		n = send(sock, s, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("send failed");
		}
		s += n;
		len -= n;
	}
}

/* Next line (without \r\n) into line; exits on timeout or EOF. */
static void get_line(char *line, size_t size)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	char *nl;
	ssize_t n;
	size_t len;
	int ms;

	for (;;) {
		nl = memchr(buf, '\n', blen);
		if (nl || blen == sizeof(buf)) {
			len = nl ? (size_t)(nl - buf) : blen;
			size_t take = len < size - 1 ? len : size - 1;

			memcpy(line, buf, take);
			line[take] = 0;
			if (take && line[take - 1] == '\r')
				line[take - 1] = 0;
			len += nl ? 1 : 0;
			memmove(buf, buf + len, blen - len);
			blen -= len;
			return;
		}
		ms = (int)((deadline - now()) * 1000);
		if (ms <= 0)
			fail("timeout waiting for the reply");
		n = poll(&pfd, 1, ms);
		if (n < 0 && errno != EINTR)
			fail("poll failed");
		if (n <= 0)
			continue;
		n = recv(sock, buf + blen, sizeof(buf) - blen, 0);
		if (n == 0)
			fail("connection closed");
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			fail("recv failed");
		if (n > 0)
			blen += n;
	}
}

static void connect_sock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(sockpath) >= sizeof(sa.sun_path))
		fail("socket path too long");
	strcpy(sa.sun_path, sockpath);
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	if (sock < 0)
		fail("socket failed");
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)))
		fail(strerror(errno));
}

static int do_truth(const char *req)
{
	static char line[65536];
	char nonce[64], msg[128];

	snprintf(nonce, sizeof(nonce), "kh%ld.%ld", (long)getpid(),
		 (long)(now() * 1e6));
	snprintf(msg, sizeof(msg), "\nsync %s\n", nonce);
	send_all(msg);
	do
		get_line(line, sizeof(line));
	while (strcmp(line, nonce));
	get_line(line, sizeof(line));
	if (strcmp(line, "END"))
		fail("bad sync reply");
	send_all(req);
	send_all("\n");
	for (;;) {
		get_line(line, sizeof(line));
		if (!strcmp(line, "END"))
			return 0;
		puts(line);
	}
}

/* Read QMP lines until a reply ("return" or "error"), skipping events. */
static int qmp_reply(char *line, size_t size)
{
	for (;;) {
		get_line(line, size);
		if (strstr(line, "\"return\""))
			return 0;
		if (strstr(line, "\"error\""))
			return 1;
	}
}

static int do_qmp(const char *cmd)
{
	static char line[65536];
	int rc;

	get_line(line, sizeof(line));	/* greeting */
	if (!strstr(line, "QMP"))
		fail("no QMP greeting");
	send_all("{\"execute\":\"qmp_capabilities\"}\n");
	if (qmp_reply(line, sizeof(line)))
		fail("qmp_capabilities refused");
	send_all(cmd);
	send_all("\n");
	rc = qmp_reply(line, sizeof(line));
	puts(line);
	return rc;
}

static void on_alarm(int sig)
{
	static const char msg[] = "truth: timeout (connect or reply)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

int main(int argc, char **argv)
{
	double timeout = 20;
	int qmp = 0, i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--qmp"))
			qmp = 1;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			timeout = atof(argv[++i]);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: truth [-t SECS] SOCKET REQUEST\n"
			"       truth --qmp [-t SECS] SOCKET JSON\n");
		return 2;
	}
	sockpath = argv[i];
	deadline = now() + timeout;
	signal(SIGALRM, on_alarm);	/* also bounds a blocking connect() */
	alarm((unsigned int)timeout + 2);
	connect_sock();
	return qmp ? do_qmp(argv[i + 1]) : do_truth(argv[i + 1]);
}
