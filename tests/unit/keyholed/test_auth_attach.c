// SPDX-License-Identifier: GPL-2.0-only
/*
 * broker/keyholed/auth.c, auth_kmod_attach(): keyhole.ko's attach for a
 * client's "ram" runs in a child with the client's effective uid, gid
 * and groups (the ids the module's check uses) and root's real uid (so
 * that the client cannot signal it), and its fd and session id come
 * back; a child that never answers is killed at the deadline and the
 * caller gets an error, not a hang. The module's attach is replaced here
 * by one that reports the ids it ran with (run as root: make check).
 */
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>

#include "check.h"
#include "../../../broker/keyholed/auth.c"

static bool stall;

/* The module's attach, as the child runs it: says who it ran as. */
int kh_kmod_attach_once(int dev, const struct kh_access *acc,
			uint64_t *session)
{
	gid_t groups[4];
	int nr = getgroups(4, groups);

	while (stall)
		pause();
	*session = (uint64_t)geteuid() << 44 | (uint64_t)getegid() << 24 |
		   (uint64_t)getuid() << 4 | (nr == 1 && groups[0] == 4242);
	return dup(dev);
}

struct auth_memo *client_auth_memo(struct client *c)
{
	return NULL;
}

const struct peer *client_peer(const struct client *c)
{
	return NULL;
}

int main(void)
{
	struct peer peer = {
		.cred = { .pid = 1, .uid = 65534, .gid = 65533 },
		.groups = { 4242 }, .nr_groups = 1,
	};
	struct kh_access acc = { .pid = 1, .pidfd = -1 };
	struct stat a, b;
	uint64_t session = 0, start;
	int dev, fd;

	CHECK(!geteuid(), "must run as root, to change ids (make check does)");
	dev = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(dev >= 0, "open /dev/null: %s", strerror(errno));

	fd = auth_kmod_attach(&peer, dev, &acc, &session);
	CHECK(fd >= 0, "auth_kmod_attach: %s", strerror(-fd));
	CHECK(!fstat(fd, &a) && !fstat(dev, &b) && a.st_rdev == b.st_rdev,
	      "the fd that came back is not the child's attach");
	CHECK(session >> 44 == 65534 && (session >> 24 & 0xfffff) == 65533 &&
	      (session >> 4 & 0xfffff) == 0 && (session & 1),
	      "the attach ran as euid %llu egid %llu uid %llu, client groups %s; wanted 65534, 65533, 0, yes",
	      (unsigned long long)(session >> 44),
	      (unsigned long long)(session >> 24 & 0xfffff),
	      (unsigned long long)(session >> 4 & 0xfffff),
	      session & 1 ? "yes" : "no");
	close(fd);

	/* Root's clients attach in the daemon itself, as before. */
	peer.cred.uid = 0;
	fd = auth_kmod_attach(&peer, dev, &acc, &session);
	CHECK(fd >= 0 && session >> 44 == 0, "a root client's attach");
	close(fd);

	/* A child that stalls is killed at the deadline. */
	peer.cred.uid = 65534;
	stall = true;
	start = now_ms();
	fd = auth_kmod_attach(&peer, dev, &acc, &session);
	CHECK(fd == -ETIMEDOUT, "a stalled attach gave %d, not -ETIMEDOUT", fd);
	CHECK(now_ms() - start < CHILD_DEADLINE_MS + 30000,
	      "a stalled attach held the caller %llu ms",
	      (unsigned long long)(now_ms() - start));
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
	      "a child was left unreaped");
	close(dev);
	return KH_PASS;
}
