// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile and broken clients get a clear error where one can be sent, and
 * none of them affects another client: after each, a bystander client's
 * "list" is answered at once, with the guest in it. Covered: a line that
 * is not JSON, not an object, or has an unknown key; an unknown command;
 * a query without a VM or on a VM that does not exist; a line of 64 MiB;
 * a request cut off by the client's close; a client kill -9'd with its
 * request in flight; a client that never finishes its line (slowloris); a
 * client that never reads its replies, or the RAM files passed with them
 * (cut off, its descriptors closed); 1,000 idle connections; and a
 * client that shuts its side after its request, which is still answered.
 */
#include <dirent.h>
#include <sys/resource.h>

#include "broker.h"
#include "guest.h"

static const char *sock;
static int guest_pid;

/* The bystander: served, promptly enough that nobody held it up. */
static void bystander(const char *after)
{
	int fd = broker_connect(sock);
	json_t *list = broker_list(fd);

	CHECK(broker_list_find(list, guest_pid),
	      "after %s, the guest is not listed", after);
	json_decref(list);
	close(fd);
}

static void expect_error(int fd, const char *request, const char *klass,
			 json_int_t id)
{
	json_t *reply = broker_call(fd, request);
	const char *got = broker_error_class(reply);
	char *text = json_dumps(reply, JSON_COMPACT);

	CHECK(got && !strcmp(got, klass), "%s: expected %s, got %s", request,
	      klass, text);
	CHECK(json_string_length(json_object_get(json_object_get(reply,
			"error"), "desc")) > 10, "%s: no description: %s",
	      request, text);
	if (id >= 0)
		CHECK(json_integer_value(json_object_get(reply, "id")) == id,
		      "%s: id not copied back: %s", request, text);
	free(text);
	json_decref(reply);
}

static void malformed(void)
{
	int fd = broker_connect(sock);

	expect_error(fd, "{\"execute\":", "BadRequest", -1);
	expect_error(fd, "[1,2,3]", "BadRequest", -1);
	expect_error(fd, "{\"execute\":\"list\",\"id\":3,\"bogus\":1}",
		     "BadRequest", 3);
	expect_error(fd, "{\"execute\":42,\"id\":4}", "BadRequest", 4);
	expect_error(fd, "{\"execute\":\"rm -rf\",\"id\":5}",
		     "CommandNotFound", 5);
	expect_error(fd, "{\"execute\":\"ps\",\"id\":6}", "InvalidArgument",
		     6);
	expect_error(fd, "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"no-such-vm-at-all\"},\"id\":7}",
		     "VMNotFound", 7);
	expect_error(fd, "{\"execute\":\"list\",\"arguments\":{\"x\":1},\"id\":8}",
		     "InvalidArgument", 8);
	/* Still the same connection, still served. */
	json_decref(broker_list(fd));
	close(fd);
	bystander("malformed requests");
}

static void huge_line(void)
{
	size_t size = 64u << 20, done = 0;
	char *line = malloc(size);
	int fd = broker_connect(sock), eof;
	json_t *reply;
	ssize_t n;

	CHECK(line, "malloc");
	memset(line, 'x', size);
	memcpy(line, "{\"execute\":\"", 12);
	/* The daemon stops reading after 1 MiB and closes: send may fail. */
	while (done < size) {
		n = send(fd, line + done, size - done, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		done += n;
	}
	free(line);
	reply = broker_read(fd, 60, &eof);
	if (reply) {
		const char *klass = broker_error_class(reply);

		CHECK(klass && !strcmp(klass, "TooLarge"),
		      "64 MiB line: %s", json_dumps(reply, JSON_COMPACT));
		json_decref(reply);
		reply = broker_read(fd, 60, &eof);
	}
	CHECK(!reply && eof, "the connection stays open after a 64 MiB line");
	close(fd);
	bystander("a 64 MiB line");
}

static void cut_off(void)
{
	int fd = broker_connect(sock);

	broker_write(fd, "{\"execute\":\"li");
	close(fd);
	bystander("a request cut off by close");
}

static void killed_mid_request(void)
{
	char request[256];
	pid_t child;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"%d\"}}\n",
		 guest_pid);
	child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		int fd = broker_connect(sock);

		broker_write(fd, request);
		pause();
		_exit(0);
	}
	usleep(50000);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	bystander("a client killed mid-request");
}

static void half_closed(void)
{
	char request[256];
	int fd = broker_connect(sock), eof;
	json_t *reply;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"mem\",\"arguments\":{\"vm\":\"%d\"},\"id\":1}\n",
		 guest_pid);
	broker_write(fd, request);
	shutdown(fd, SHUT_WR);
	reply = broker_read(fd, 300, &eof);
	CHECK(reply && json_object_get(reply, "return"),
	      "a request followed by shutdown(SHUT_WR) was not answered");
	json_decref(reply);
	CHECK(!broker_read(fd, 60, &eof) && eof,
	      "the connection stays open after the answer to a half-closed client");
	close(fd);
}

static void slowloris(void)
{
	int fd = broker_connect(sock), eof;
	double start = broker_now();
	json_t *reply;

	broker_write(fd, "{\"execute\":\"list\"");
	bystander("a half-sent request");
	reply = broker_read(fd, 60, &eof);
	CHECK(reply && !strcmp(broker_error_class(reply) ?: "", "BadRequest"),
	      "a request left half-sent got no error within 60 s");
	json_decref(reply);
	reply = broker_read(fd, 30, &eof);
	CHECK(!reply && eof, "connection still open after the slowloris error");
	fprintf(stderr, "slowloris cut off after %.1f s\n",
		broker_now() - start);
	close(fd);
}

/*
 * Asks and never reads: its replies pile up in the daemon until it cuts
 * the client off (MAX_QUEUED), and the others go on meanwhile.
 */
static void never_reads(void)
{
	static const char request[] = "{\"execute\":\"list\"}\n";
	struct timeval stall = { .tv_sec = 30 };
	int fd = broker_connect(sock), sent = 0, i;
	ssize_t n = 0;

	/* A send that blocks for 30 s: the daemon stopped reading it. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stall, sizeof(stall));
	for (i = 0; i < 4000000; i++) {
		n = send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL);
		if (n != (ssize_t)sizeof(request) - 1)
			break;
		sent++;
		if (i % 50000 == 0)
			bystander("a client that does not read");
	}
	CHECK(n < 0 && (errno == EPIPE || errno == ECONNRESET),
	      "a client that never reads was not cut off after %d requests (%s)",
	      sent, n < 0 ? strerror(errno) : "all sent");
	fprintf(stderr, "never_reads: cut off after %d requests\n", sent);
	close(fd);
	bystander("a client that never read");
}

static unsigned int open_fds(pid_t pid)
{
	char path[64];
	unsigned int n = 0;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	CHECK(dir, "cannot list %s", path);
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * Asks for the guest's RAM file and never reads: each reply holds two
 * of the daemon's descriptors until sent, so it is cut off long before
 * MAX_QUEUED bytes, and the descriptors are closed with it.
 */
static void never_reads_ram(void)
{
	struct timeval stall = { .tv_sec = 30 };
	struct ucred daemon;
	socklen_t len = sizeof(daemon);
	unsigned int before, now;
	int fd = broker_connect(sock), sent = 0, i;
	char request[128];
	double start;
	ssize_t n = 0;

	CHECK(!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &daemon, &len),
	      "SO_PEERCRED: %s", strerror(errno));
	before = open_fds(daemon.pid);
	snprintf(request, sizeof(request),
		 "{\"execute\":\"ram\",\"arguments\":{\"vm\":\"%d\"}}\n",
		 guest_pid);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stall, sizeof(stall));
	for (i = 0; i < 200000; i++) {
		n = send(fd, request, strlen(request), MSG_NOSIGNAL);
		if (n != (ssize_t)strlen(request))
			break;
		sent++;
	}
	CHECK(n < 0 && (errno == EPIPE || errno == ECONNRESET),
	      "a client that never reads its RAM files was not cut off after %d requests (%s)",
	      sent, n < 0 ? strerror(errno) : "all sent");
	fprintf(stderr, "never_reads_ram: cut off after %d requests\n", sent);
	close(fd);
	start = broker_now();
	while ((now = open_fds(daemon.pid)) > before + 8) {
		CHECK(broker_now() - start < 60,
		      "keyholed holds %u descriptors 60 s after cutting off a client that never read, %u before",
		      now, before);
		usleep(100000);
	}
	bystander("a client that never read its RAM files");
}

static void idle_crowd(void)
{
	struct rlimit lim;
	int fds[1000], i;

	getrlimit(RLIMIT_NOFILE, &lim);
	if (lim.rlim_cur < 1100 && lim.rlim_max >= 1100) {
		lim.rlim_cur = 1100;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	for (i = 0; i < 1000; i++) {
		fds[i] = broker_dial(sock);
		CHECK(fds[i] >= 0, "idle connection %d: %s", i,
		      strerror(errno));
	}
	bystander("1000 idle connections");
	for (i = 0; i < 1000; i++)
		close(fds[i]);
	bystander("1000 connections closed");
}

int main(int argc, char **argv)
{
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	guest_pid = g.pid;
	sock = broker_socket();
	signal(SIGPIPE, SIG_IGN);

	malformed();
	huge_line();
	cut_off();
	killed_mid_request();
	half_closed();
	slowloris();
	never_reads();
	never_reads_ram();
	idle_crowd();
	return KH_PASS;
}
