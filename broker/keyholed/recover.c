// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state directory and the halt journal in it (STATE/paused): a
 * keyholed killed while it held guests halted (SIGKILL, the OOM killer)
 * leaves their entries there, and the next keyholed resumes those guests
 * before it serves anyone (Documentation/broker.md, "Surviving a crash").
 *
 * One keyholed per state directory: a second one's recovery would resume
 * the guests the first one holds halted right now. A lock on the journal
 * directory, held for the daemon's life, keeps a second one out.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyholed.h"

static char journal[PATH_MAX];

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) && errno != EEXIST) {
		fprintf(stderr, "keyholed: cannot create the state directory %s: %s\n",
			path, strerror(errno));
		return -errno;
	}
	return 0;
}

int state_open(const char *state_dir)
{
	int fd, r;

	if (!state_dir)
		return 0;
	if (snprintf(journal, sizeof(journal), "%s/paused", state_dir) >=
	    (int)sizeof(journal) - 64) {
		fprintf(stderr, "keyholed: --state-dir '%s' is too long\n",
			state_dir);
		return -ENAMETOOLONG;
	}
	/* The socket may live in it too: clients must get through. */
	r = make_dir(state_dir, 0755) ?: make_dir(journal, 0700);
	if (r)
		return r;
	/* Kept open, never closed: the lock lasts as long as the daemon. */
	fd = open(journal, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "keyholed: cannot open the halt journal %s: %s\n",
			journal, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		r = -errno;
		if (r == -EWOULDBLOCK)
			fprintf(stderr, "keyholed: another keyholed uses the state directory %s (it holds the lock on %s)\n",
				state_dir, journal);
		else
			fprintf(stderr, "keyholed: cannot lock %s: %s\n",
				journal, strerror(-r));
		close(fd);
		return r;
	}
	return 0;
}

const char *state_journal(void)
{
	return journal[0] ? journal : NULL;
}

static void log_line(void *opaque, const char *msg)
{
	fprintf(stderr, "keyholed: halt journal: %s\n", msg);
}

void state_recover(void)
{
	struct kh_err err = { 0 };
	int n;

	if (!journal[0])
		return;
	n = kh_halt_recover(journal, log_line, NULL, &err);
	if (n < 0)
		fprintf(stderr, "keyholed: halt journal: %s\n", err.msg);
	else if (n)
		fprintf(stderr, "keyholed: halt journal: resumed %d guest%s that a killed keyholed had left halted\n",
			n, n == 1 ? "" : "s");
}
