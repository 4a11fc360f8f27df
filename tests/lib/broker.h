/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the tests of keyholed (tests/broker/). tests/run starts one
 * keyholed for them and passes its socket in $KH_BROKER_SOCK; a test that
 * must stop or kill a daemon starts its own (broker_start()). Clients
 * speak the protocol with raw sockets here, not through broker/proto/, so
 * that the tests check the bytes on the wire, not the shared code's idea
 * of them.
 */
#ifndef KH_TEST_BROKER_H
#define KH_TEST_BROKER_H

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"

static inline double broker_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What was read from each socket past the last line taken. */
struct broker_buf {
	int fd;
	char *data;
	size_t len, size;
};

static struct broker_buf broker_bufs[32];

/* A connected socket, or -1 (errno set). */
static inline int broker_dial(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return -1;
	}
	/* A new connection: nothing left over from an old one on this fd. */
	for (struct broker_buf *b = broker_bufs; b < broker_bufs + 32; b++)
		if (b->data && b->fd == fd)
			b->len = 0;
	return fd;
}

static inline struct broker_buf *broker_buf_of(int fd, int fresh)
{
	struct broker_buf *b, *free_slot = NULL;

	for (b = broker_bufs; b < broker_bufs + 32; b++) {
		if (b->data && b->fd == fd) {
			if (fresh)
				b->len = 0;
			return b;
		}
		if (!b->data && !free_slot)
			free_slot = b;
	}
	CHECK(free_slot, "more than 32 keyholed connections in one test");
	free_slot->fd = fd;
	free_slot->size = 1 << 20;
	free_slot->data = malloc(free_slot->size);
	free_slot->len = 0;
	CHECK(free_slot->data, "malloc");
	return free_slot;
}

/*
 * The next line from fd as JSON, waiting up to timeout seconds; NULL on
 * EOF or timeout (*eof says which).
 */
static inline json_t *broker_read(int fd, double timeout, int *eof)
{
	struct broker_buf *b = broker_buf_of(fd, 0);
	double end = broker_now() + timeout;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	json_error_t jerr;
	json_t *msg;
	char *nl;
	size_t n;
	ssize_t got;

	if (eof)
		*eof = 0;
	while (!(nl = memchr(b->data, '\n', b->len))) {
		int left = (int)((end - broker_now()) * 1000);

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return NULL;
		if (b->len == b->size) {
			CHECK(b->size < (256u << 20), "a line over 256 MiB");
			b->size *= 2;
			b->data = realloc(b->data, b->size);
			CHECK(b->data, "realloc");
		}
		got = read(fd, b->data + b->len, b->size - b->len);
		if (got <= 0) {
			if (eof)
				*eof = 1;
			return NULL;
		}
		b->len += got;
	}
	n = nl - b->data;
	msg = json_loadb(b->data, n, 0, &jerr);
	CHECK(msg, "keyholed sent a line that is not JSON (%s): %.200s",
	      jerr.text, b->data);
	memmove(b->data, nl + 1, b->len - n - 1);
	b->len -= n + 1;
	return msg;
}

static inline void broker_write(int fd, const char *text)
{
	size_t len = strlen(text), done = 0;
	ssize_t n;

	while (done < len) {
		n = send(fd, text + done, len - done, MSG_NOSIGNAL);
		CHECK(n > 0, "writing to keyholed: %s", strerror(errno));
		done += n;
	}
}

/* Connects and checks the greeting; returns the socket. */
static inline int broker_connect(const char *path)
{
	int fd = broker_dial(path);
	json_t *hello;

	CHECK(fd >= 0, "cannot connect to %s: %s", path, strerror(errno));
	hello = broker_read(fd, 60, NULL);
	CHECK(hello && json_is_object(json_object_get(hello, "keyholed")),
	      "no greeting from %s", path);
	json_decref(hello);
	return fd;
}

/* Sends one request line (the "\n" is added) and returns the reply. */
static inline json_t *broker_call(int fd, const char *request)
{
	json_t *reply;

	broker_write(fd, request);
	broker_write(fd, "\n");
	reply = broker_read(fd, 300, NULL);
	CHECK(reply, "no reply to %s", request);
	return reply;
}

/* broker_call for a request that must succeed: its "return". */
static inline json_t *broker_call_ok(int fd, const char *request)
{
	json_t *reply = broker_call(fd, request), *ret;

	ret = json_object_get(reply, "return");
	CHECK(ret, "%s: %s", request, json_dumps(reply, JSON_COMPACT));
	json_incref(ret);
	json_decref(reply);
	return ret;
}

/* The class of an error reply, or NULL if it is not one. */
static inline const char *broker_error_class(json_t *reply)
{
	return json_string_value(json_object_get(
		json_object_get(reply, "error"), "class"));
}

static inline const char *broker_socket(void)
{
	const char *path = getenv("KH_BROKER_SOCK");

	CHECK(path && path[0], "KH_BROKER_SOCK is not set (tests/run sets it)");
	return path;
}

/*
 * Starts a keyholed of the test's own on socket path, in the foreground,
 * with its halt journal in state ("": none, so that it neither takes nor
 * waits for another daemon's) and up to 8 more options (NULL-terminated
 * extra, or NULL); returns its pid once it accepts connections (60 s at
 * most).
 */
static inline pid_t broker_start_opts(const char *path, const char *log,
				      const char *state,
				      const char *const *extra)
{
	const char *bin = getenv("KEYHOLED");
	double end = broker_now() + 60;
	const char *argv[20];
	int fd, n = 0;
	pid_t pid;

	CHECK(bin && bin[0], "KEYHOLED is not set (tests/run sets it)");
	argv[n++] = bin;
	argv[n++] = "--foreground";
	argv[n++] = "--socket";
	argv[n++] = path;
	argv[n++] = "--cache-dir";
	argv[n++] = "";
	argv[n++] = "--state-dir";
	argv[n++] = state;
	while (extra && *extra) {
		CHECK(n < 19, "too many keyholed options");
		argv[n++] = *extra++;
	}
	argv[n] = NULL;
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	while (broker_now() < end) {
		fd = broker_dial(path);
		if (fd >= 0) {
			close(fd);
			return pid;
		}
		CHECK(waitpid(pid, NULL, WNOHANG) == 0,
		      "keyholed exited at start; see %s", log);
		usleep(20000);
	}
	CHECK(0, "keyholed did not listen on %s within 60 s", path);
	return -1;
}

static inline pid_t broker_start_state(const char *path, const char *log,
				       const char *state)
{
	return broker_start_opts(path, log, state, NULL);
}

static inline pid_t broker_start(const char *path, const char *log)
{
	return broker_start_state(path, log, "");
}

/*
 * Turns this (forked) test process into uid nobody, groups and all, so
 * that the daemon sees the kernel's credentials of a user with no rights
 * over root's QEMU.
 */
static inline void broker_become_nobody(void)
{
	struct passwd *nobody = getpwnam("nobody");

	CHECK(nobody && !setgroups(0, NULL) && !setgid(nobody->pw_gid) &&
	      !setuid(nobody->pw_uid), "cannot become nobody");
}

/* A TCP port free right now on 127.0.0.1 (for --metrics). */
static inline int broker_free_port(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&addr, sizeof(addr)) &&
	      !getsockname(fd, (struct sockaddr *)&addr, &len), "free port");
	port = ntohs(addr.sin_port);
	close(fd);
	return port;
}

/*
 * One sample of a keyholed's /metrics on 127.0.0.1:port: series is the
 * name with its labels as keyholed writes them ("name" or
 * "name{label=\"v\"}"); -1 when it is not there.
 */
static inline double broker_metric(int port, const char *series)
{
	size_t n = strlen(series);
	char *out, *at, *line;
	double value = -1;
	int status;

	out = run_capture(&status, "curl -s --max-time 10 http://127.0.0.1:%d/metrics",
			  port);
	for (line = out; line && *line; line = at ? at + 1 : NULL) {
		at = strchr(line, '\n');
		if (!strncmp(line, series, n) && line[n] == ' ') {
			value = atof(line + n + 1);
			break;
		}
	}
	free(out);
	return value;
}

/* Waits up to timeout seconds for pid to exit; its wait status, or -1. */
static inline int broker_wait_exit(pid_t pid, double timeout)
{
	double end = broker_now() + timeout;
	int status;

	while (broker_now() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(20000);
	}
	return -1;
}

/* The "return" list of {"execute":"list"}, as a new reference. */
static inline json_t *broker_list(int fd)
{
	json_t *reply = broker_call(fd, "{\"execute\":\"list\",\"id\":1}");
	json_t *list = json_incref(json_object_get(reply, "return"));

	CHECK(json_is_array(list), "list: %s",
	      json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	return list;
}

/* The entry of pid in a list, or NULL. */
static inline json_t *broker_list_find(json_t *list, int pid)
{
	return json_by_pid(list, pid);
}

/*
 * A real QEMU held at -S (its RAM holds no kernel), 64 MiB, with extra
 * arguments (NULL-terminated); its output goes nowhere.
 */
static inline pid_t broker_spawn_qemu(const char *const *extra)
{
	const char *argv[32] = {
		"qemu-system-x86_64", "-S", "-display", "none", "-nodefaults",
		"-m", "64",
	};
	int n = 7, null;
	pid_t pid;

	while (*extra && n < 31)
		argv[n++] = *extra++;
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

#endif
