// SPDX-License-Identifier: GPL-2.0-only
/*
 * Authorization: the daemon runs as root, but a client may see and touch
 * only a VM whose QEMU process its own uid could ptrace. Rather than
 * re-deriving the kernel's rule (uids and gids, dumpable, capabilities,
 * LSMs, Yama), the daemon asks the kernel: a child process takes on the
 * client's uid, gid and supplementary groups, as SO_PEERCRED and
 * SO_PEERGROUPS gave them at connect, and opens /proc/PID/mem, whose open
 * is the kernel's PTRACE_MODE_ATTACH check. "ram" attaches keyhole.ko the
 * same way (auth_kmod_attach()), as the module makes that check too.
 *
 * The child takes the client's ids as its effective ones (which the
 * check uses, as the fs ids follow them) and keeps root as its real and
 * saved uid: the effective capabilities are gone with the effective uid,
 * and the client can neither signal the child (a SIGSTOP would hang the
 * daemon waiting for it) nor ptrace it to reach the daemon's fds, which
 * it holds. A child that does not answer within CHILD_DEADLINE_MS is
 * killed all the same.
 *
 * What this cannot see: Yama's ptrace_scope=1 lets a process ptrace its
 * own descendants only, and the child is the daemon's, not the client's,
 * so such a client is refused even for a QEMU it started itself. That
 * errs on the side of refusing (Documentation/broker.md).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdint.h>

#include "access/kmod_session.h"
#include "keyholed.h"

/* "/proc/PID/mem" without stdio, which a forked child may not use. */
static void mem_path(pid_t pid, char *path)
{
	char digits[16];
	int n = 0;

	do {
		digits[n++] = '0' + pid % 10;
		pid /= 10;
	} while (pid > 0);
	memcpy(path, "/proc/", 6);
	path += 6;
	while (n)
		*path++ = digits[--n];
	memcpy(path, "/mem", 5);
}

#define CHILD_DEADLINE_MS	10000

/*
 * In the forked child of a threaded daemon: raw system calls only. The
 * id changes are the raw ones too, which change the calling thread's
 * credentials, here the whole process. Real and saved ids stay root's
 * (-1: unchanged), see above.
 */
static void become(const struct peer *peer)
{
	if (syscall(SYS_setgroups, peer->nr_groups, peer->groups) ||
	    syscall(SYS_setresgid, -1, peer->cred.gid, -1) ||
	    syscall(SYS_setresuid, -1, peer->cred.uid, -1))
		_exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* Whether fd has something to read before the deadline (monotonic ms). */
static bool readable_by(int fd, uint64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t now;
	int n;

	for (;;) {
		now = now_ms();
		if (now >= deadline_ms)
			return false;
		n = poll(&p, 1, (int)(deadline_ms - now));
		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return false;
	}
}

/* Reaps the child, killed first: one that stalls never holds us. */
static void reap(pid_t child)
{
	int status;

	kill(child, SIGKILL);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
}

static void child_check(const struct peer *peer, const pid_t *pids,
			unsigned int nr, int out)
{
	char path[32], answer;
	unsigned int i;
	int fd;

	become(peer);
	for (i = 0; i < nr; i++) {
		mem_path(pids[i], path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		answer = fd >= 0;
		if (fd >= 0)
			close(fd);
		if (write(out, &answer, 1) != 1)
			_exit(1);
	}
	_exit(0);
}

int auth_may_ptrace(const struct peer *peer, const pid_t *pids,
		    unsigned int nr, bool *ok)
{
	uint64_t deadline = now_ms() + CHILD_DEADLINE_MS;
	unsigned int i, got = 0;
	int pipefd[2];
	char answer;
	pid_t child;
	ssize_t n;

	if (peer->cred.uid == 0) {
		for (i = 0; i < nr; i++)
			ok[i] = true;
		return 0;
	}
	for (i = 0; i < nr; i++)
		ok[i] = false;
	if (!nr)
		return 0;
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	child = fork();
	if (child < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (child == 0) {
		close(pipefd[0]);
		child_check(peer, pids, nr, pipefd[1]);
	}
	close(pipefd[1]);
	while (got < nr && readable_by(pipefd[0], deadline)) {
		n = read(pipefd[0], &answer, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ok[got++] = answer == 1;
	}
	close(pipefd[0]);
	reap(child);
	/* A child that could not become the client answered nothing: no. */
	if (got < nr)
		for (i = 0; i < nr; i++)
			ok[i] = false;
	return 0;
}

/* What the attaching child says: the attach's result and session id. */
struct attach_answer {
	int ret;		/* the vm fd passed along, or -errno */
	uint64_t session;
};

static void child_attach(const struct peer *peer, int dev,
			 const struct kh_access *acc, int out)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct attach_answer a = { 0 };
	struct iovec iov = { .iov_base = &a, .iov_len = sizeof(a) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	become(peer);
	a.ret = kh_kmod_attach_once(dev, acc, &a.session);
	if (a.ret >= 0) {
		mh.msg_control = control;
		mh.msg_controllen = sizeof(control);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &a.ret, sizeof(int));
	}
	_exit(sendmsg(out, &mh, MSG_NOSIGNAL) == sizeof(a) ? 0 : 1);
}

static int receive_attach(int in, uint64_t deadline, uint64_t *session)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct attach_answer a;
	struct iovec iov = { .iov_base = &a, .iov_len = sizeof(a) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	if (!readable_by(in, deadline))
		return -ETIMEDOUT;
	do
		n = recvmsg(in, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	/* A child that could not become the client said nothing: refused. */
	if (n != sizeof(a) || (a.ret >= 0 && fd < 0) ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd >= 0)
			close(fd);
		return n == 0 ? -EPERM : -EPROTO;
	}
	if (a.ret < 0) {
		if (fd >= 0)
			close(fd);
		return a.ret;
	}
	*session = a.session;
	return fd;
}

int auth_kmod_attach(void *arg, int dev, const struct kh_access *acc,
		     uint64_t *session)
{
	uint64_t deadline = now_ms() + CHILD_DEADLINE_MS;
	const struct peer *peer = arg;
	int sv[2], fd;
	pid_t child;

	if (peer->cred.uid == 0)
		return kh_kmod_attach_once(dev, acc, session);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	child = fork();
	if (child < 0) {
		fd = -errno;
		close(sv[0]);
		close(sv[1]);
		return fd;
	}
	if (child == 0) {
		close(sv[0]);
		child_attach(peer, dev, acc, sv[1]);
	}
	close(sv[1]);
	fd = receive_attach(sv[0], deadline, session);
	close(sv[0]);
	reap(child);
	return fd;
}

static int memo_find(const struct auth_memo *memo, pid_t pid,
		     uint64_t start_time)
{
	unsigned int i;

	for (i = 0; i < AUTH_MEMOS; i++)
		if (memo->slot[i].pid == pid &&
		    memo->slot[i].start_time == start_time)
			return memo->slot[i].ok;
	return -1;
}

static void memo_add(struct auth_memo *memo, pid_t pid, uint64_t start_time,
		     bool ok)
{
	unsigned int i = memo->next++ % AUTH_MEMOS;

	memo->slot[i].pid = pid;
	memo->slot[i].start_time = start_time;
	memo->slot[i].ok = ok;
}

int auth_may_introspect_many(struct client *c, const pid_t *pids,
			     const uint64_t *start_times, unsigned int nr,
			     bool *ok)
{
	struct auth_memo *memo = client_auth_memo(c);
	unsigned int i, nr_ask = 0;
	pid_t *ask;
	bool *answer;
	int known, ret;

	ask = calloc(nr + 1, sizeof(*ask));
	answer = calloc(nr + 1, sizeof(*answer));
	if (!ask || !answer) {
		free(ask);
		free(answer);
		return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		known = memo_find(memo, pids[i], start_times[i]);
		ok[i] = known == 1;
		if (known < 0)
			ask[nr_ask++] = pids[i];
	}
	/* One child for every VM not yet known, not one per VM. */
	ret = auth_may_ptrace(client_peer(c), ask, nr_ask, answer);
	for (i = 0, nr_ask = 0; !ret && i < nr; i++) {
		if (memo_find(memo, pids[i], start_times[i]) >= 0)
			continue;
		ok[i] = answer[nr_ask++];
		memo_add(memo, pids[i], start_times[i], ok[i]);
	}
	free(ask);
	free(answer);
	return ret;
}

bool auth_may_introspect(struct client *c, const struct vm_entry *e)
{
	bool ok;

	if (auth_may_introspect_many(c, &e->id.pid, &e->id.start_time, 1,
				     &ok))
		return false;
	return ok;
}
