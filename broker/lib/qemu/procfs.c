// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A host process as /proc shows it; see qemu/procfs.h.
 *
 * Why a directory descriptor: /proc/PID/FILE opened by path names
 * whatever process has the pid when it is opened, so reading a process's
 * files one after another by path can mix two processes when the first
 * exits and its pid is reused in between. Files opened relative to a
 * descriptor of /proc/PID are the first process's or none (the kernel
 * answers ENOENT once it is gone).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/procfs.h"

/* A vanished process reads as one of these, depending on the moment. */
static int gone(int err)
{
	return err == ENOENT || err == ESRCH ? -ESRCH : -err;
}

int kh_procfs_open(pid_t pid)
{
	char path[32];
	int fd;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? gone(errno) : fd;
}

int kh_procfs_read(int dirfd, const char *file, char *buf, size_t size,
		   size_t *len)
{
	size_t got = 0;
	ssize_t n;
	int fd, ret = 0;

	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return gone(errno);
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = gone(errno);
			break;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	*len = got;
	return ret;
}

int kh_procfs_readlink(int dirfd, const char *link, char *buf, size_t size)
{
	ssize_t n;

	if (!size)
		return -ENAMETOOLONG;
	n = readlinkat(dirfd, link, buf, size - 1);
	if (n < 0)
		return gone(errno);
	buf[n] = '\0';
	return 0;
}

int kh_procfs_find_fd(int dirfd, int fd)
{
	char own[PATH_MAX], link[PATH_MAX], self[64];
	struct stat file, st;
	struct dirent *de;
	int fdfd, ret = -ENOENT;
	ssize_t own_len, len;
	DIR *dir;
	long n;
	char *end;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	own_len = readlink(self, own, sizeof(own));
	if (own_len < 0 || fstat(fd, &file))
		return -errno;
	fdfd = openat(dirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return gone(errno);
	dir = fdopendir(fdfd);
	if (!dir) {
		ret = -errno;
		close(fdfd);
		return ret;
	}
	while ((de = readdir(dir))) {
		n = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || n < 0 || n > INT32_MAX)
			continue;
		/*
		 * The link's text first: reading it asks no filesystem
		 * anything, where a stat of each of QEMU's files could
		 * hang on a dead NFS server or a FUSE file of its own.
		 */
		len = readlinkat(fdfd, de->d_name, link, sizeof(link));
		if (len != own_len || memcmp(link, own, len))
			continue;
		if (fstatat(fdfd, de->d_name, &st, 0) ||
		    st.st_dev != file.st_dev || st.st_ino != file.st_ino)
			continue;
		ret = (int)n;
		break;
	}
	closedir(dir);
	return ret;
}

/* A decimal number up to the next space or the end: *p moves past it. */
static int parse_u64(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

int kh_procfs_parse_stat(const char *text, size_t len,
			 struct kh_procfs_stat *st)
{
	const char *end = text + len, *p;
	uint64_t ppid, flags = 0, start_time;
	unsigned int field;

	p = memrchr(text, ')', len);
	if (!p || !memchr(text, '(', p - text))
		return -EINVAL;
	/* Past comm come ' ', state (field 3), ' ', ppid (field 4), ... */
	p++;
	if (end - p < 3 || p[0] != ' ' || p[2] != ' ')
		return -EINVAL;
	st->state = p[1];
	p += 3;
	if (parse_u64(&p, end, &ppid) || ppid > INT32_MAX)
		return -EINVAL;
	/* Of fields 5 to 21 (some may be negative) only flags is read. */
	for (field = 5; field <= 22; field++) {
		if (p >= end || *p != ' ')
			return -EINVAL;
		p++;
		if (field == 22)
			break;
		if (field == 9 && parse_u64(&p, end, &flags))
			return -EINVAL;
		while (p < end && *p != ' ')
			p++;
	}
	/* vsize follows: a line cut short cannot pass for a shorter time. */
	if (parse_u64(&p, end, &start_time) || p >= end || *p != ' ')
		return -EINVAL;
	st->ppid = ppid;
	st->flags = flags;
	st->start_time = start_time;
	return 0;
}

/* Up to max numbers after a status key, separated by tabs: how many. */
static unsigned int status_numbers(const char *p, const char *end,
				   uint64_t *nums, unsigned int max)
{
	unsigned int n = 0;

	while (n < max) {
		while (p < end && (*p == '\t' || *p == ' '))
			p++;
		if (parse_u64(&p, end, &nums[n]))
			break;
		n++;
	}
	return n;
}

int kh_procfs_parse_status(const char *text, size_t len,
			   struct kh_procfs_status *st)
{
	/* Tgid: one number; Uid:, Gid: real, effective, saved, fs. */
	static const struct {
		const char *key;
		unsigned int need;
		uint64_t max;
	} keys[] = {
		{ "Tgid:", 1, INT32_MAX },
		{ "Uid:", 2, UINT32_MAX - 1 },
		{ "Gid:", 2, UINT32_MAX - 1 },
	};
	const char *p = text, *end = text + len, *eol;
	uint64_t v[3][2] = { { 0 } };
	unsigned int seen = 0, i, j;

	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', end - p);
		if (!eol)
			eol = end;
		for (i = 0; i < 3; i++) {
			size_t klen = strlen(keys[i].key);

			if ((size_t)(eol - p) < klen ||
			    memcmp(p, keys[i].key, klen))
				continue;
			if (status_numbers(p + klen, eol, v[i], keys[i].need) <
			    keys[i].need)
				return -EINVAL;
			for (j = 0; j < keys[i].need; j++)
				if (v[i][j] > keys[i].max)
					return -EINVAL;
			seen |= 1u << i;
		}
	}
	if (seen != 7)
		return -EINVAL;
	st->tgid = v[0][0];
	st->ruid = v[1][0];
	st->euid = v[1][1];
	st->rgid = v[2][0];
	st->egid = v[2][1];
	return 0;
}
