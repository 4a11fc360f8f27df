// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed as systemd runs it (Type=notify, keyholed.service): with
 * $NOTIFY_SOCKET set and no --foreground it stays in the foreground, says
 * READY=1 only once its socket answers, and STOPPING=1 on SIGTERM before
 * it exits 0. The test plays systemd's part: it owns the datagram socket
 * that $NOTIFY_SOCKET names, as systemd does.
 */
#include "broker.h"

static int notice(int fd, const char *want, double timeout)
{
	double end = broker_now() + timeout;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char msg[4096];
	ssize_t n;

	while (broker_now() < end) {
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		fprintf(stderr, "notify: %s\n", msg);
		if (strstr(msg, want))
			return 1;
	}
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/kh-notify.XXXXXX", sock[256], notify[256];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *bin = getenv("KEYHOLED");
	int nfd, fd, status;
	struct stat st;
	pid_t daemon;

	CHECK(bin && bin[0], "KEYHOLED is not set (tests/run sets it)");
	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(sock, sizeof(sock), "%s/keyholed.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", notify);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(nfd >= 0 && !bind(nfd, (struct sockaddr *)&addr, sizeof(addr)),
	      "notify socket: %s", strerror(errno));

	daemon = fork();
	CHECK(daemon >= 0, "fork");
	if (daemon == 0) {
		setenv("NOTIFY_SOCKET", notify, 1);
		execl(bin, bin, "--socket", sock, "--cache-dir", "",
		      "--state-dir", "", (char *)NULL);
		_exit(127);
	}
	CHECK(notice(nfd, "READY=1", 120), "no READY=1 within 120 s");
	/* Ready means ready: the socket answers now, not soon. */
	fd = broker_connect(sock);
	json_decref(broker_list(fd));
	close(fd);
	CHECK(waitpid(daemon, NULL, WNOHANG) == 0,
	      "keyholed detached or exited under $NOTIFY_SOCKET");

	kill(daemon, SIGTERM);
	CHECK(notice(nfd, "STOPPING=1", 120), "no STOPPING=1 after SIGTERM");
	status = broker_wait_exit(daemon, 120);
	CHECK(status != -1 && WIFEXITED(status) && !WEXITSTATUS(status),
	      "keyholed did not exit 0 after SIGTERM (status 0x%x)", status);
	CHECK(stat(sock, &st) && errno == ENOENT, "socket left behind");
	close(nfd);
	unlink(notify);
	rmdir(dir);
	return KH_PASS;
}
