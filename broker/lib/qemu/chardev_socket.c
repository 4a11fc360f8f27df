// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unix socket client with deadlines and a busy check; see
 * qemu/chardev_socket.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qemu/chardev_socket.h"

#define SO_ACCEPTCON_FLAG	0x10000	/* __SO_ACCEPTCON: a listener */
#define SS_CONNECTED_STATE	3
#define MAX_NET_UNIX_LINES	(1 << 20)
#define LINGER_MS		500

int64_t kh_unix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kh_unix_in_use(const char *path)
{
	unsigned int lines = 0;
	char line[512];
	int busy = 0;
	FILE *f;

	f = fopen("/proc/net/unix", "re");
	if (!f)
		return -errno;
	/* Num RefCount Protocol Flags Type St Inode Path */
	while (!busy && lines++ < MAX_NET_UNIX_LINES &&
	       fgets(line, sizeof(line), f)) {
		unsigned int flags, type, st;
		int off = 0;
		char *p;

		if (sscanf(line, "%*x: %*x %*x %x %x %x %*u %n", &flags, &type,
			   &st, &off) != 3 || !off)
			continue;
		p = line + off;
		p[strcspn(p, "\n")] = '\0';
		busy = !strcmp(p, path) && !(flags & SO_ACCEPTCON_FLAG) &&
		       st == SS_CONNECTED_STATE;
	}
	fclose(f);
	return busy;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - kh_unix_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 0;
	}
}

int kh_unix_connect(const char *path, const char *what, int64_t deadline,
		    struct kh_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t linger_deadline = kh_unix_now_ms() + LINGER_MS;
	socklen_t len = sizeof(int);
	int fd, r, soerr = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return kh_err_set(err, ENAMETOOLONG,
				  "%s path %s is too long for a unix socket",
				  what, path);
	/*
	 * QEMU notices a client has gone only when its main loop next runs:
	 * our own previous connection may linger a few milliseconds.
	 */
	for (;;) {
		r = kh_unix_in_use(path);
		if (r <= 0 || kh_unix_now_ms() >= linger_deadline)
			break;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	if (r > 0)
		return kh_err_set(err, EBUSY,
				  "%s %s is busy: another client is connected, and QEMU serves one at a time",
				  what, path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return kh_err_set(err, errno, "cannot create a socket: %s",
				  strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = errno;
		if (r == EAGAIN || r == EINPROGRESS) {
			r = wait_fd(fd, POLLOUT, deadline);
			if (!r && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
					     &len))
				r = -errno;
			r = r ? -r : soerr;
			if (r == ETIMEDOUT)
				r = EBUSY;
		}
		if (r) {
			close(fd);
			if (r == EBUSY)
				return kh_err_set(err, EBUSY,
						  "%s %s is busy: connecting timed out",
						  what, path);
			return kh_err_set(err, r, "cannot connect to %s %s: %s%s",
					  what, path, strerror(r),
					  r == ECONNREFUSED ?
					  " (is QEMU still running?)" : "");
		}
	}
	return fd;
}

int kh_unix_send(int fd, const void *buf, size_t len, int64_t deadline,
		 const char *what, struct kh_err *err)
{
	const char *p = buf;
	ssize_t n;
	int r;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = wait_fd(fd, POLLOUT, deadline);
			if (r)
				return kh_err_set(err, -r,
						  "cannot send to the %s: %s",
						  what, strerror(-r));
			continue;
		}
		if (n < 0)
			return kh_err_set(err, errno,
					  "cannot send to the %s: %s", what,
					  strerror(errno));
		p += n;
		len -= n;
	}
	return 0;
}

long kh_unix_recv(int fd, void *buf, size_t size, int64_t deadline,
		  const char *what, struct kh_err *err)
{
	ssize_t n;
	int r;

	for (;;) {
		n = recv(fd, buf, size, 0);
		if (n > 0)
			return n;
		if (!n)
			return kh_err_set(err, ECONNRESET,
					  "the %s closed the connection", what);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return kh_err_set(err, errno,
					  "cannot receive from the %s: %s",
					  what, strerror(errno));
		r = wait_fd(fd, POLLIN, deadline);
		if (r == -ETIMEDOUT)
			return kh_err_set(err, ETIMEDOUT,
					  "the %s did not answer in time", what);
		if (r)
			return kh_err_set(err, -r, "poll on the %s: %s", what,
					  strerror(-r));
	}
}
