// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The file behind guest RAM: the mapping of a RAM range in /proc/PID/maps
 * gives the file's inode and offset; among QEMU's open files the one with
 * that inode is reopened read-only. memmap maps it; residency asks it
 * which pages hold data, which QEMU's page tables cannot tell for pages
 * QEMU never touched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/ram_backing.h"

int kh_ram_backing_find(pid_t pid, uint64_t hva, uint64_t size,
			struct kh_ram_backing *b)
{
	char path[64], line[4096], perms[8];
	int found = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, end, offset, inode;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64
			   " %*s %" SCNu64, &start, &end, perms, &offset,
			   &inode) != 5)
			continue;
		if (hva < start || hva + size > end)
			continue;
		b->start = start;
		b->end = end;
		b->offset = offset;
		b->inode = inode;
		b->shared = perms[3] == 's';
		found = inode ? 0 : -ENODEV;
		break;
	}
	fclose(f);
	return found;
}

int kh_ram_backing_open(pid_t pid, uint64_t ino)
{
	char dir[64], path[128];
	struct dirent *de;
	int fd = -ENOENT;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while (fd < 0 && (de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, 0) ||
		    !S_ISREG(st.st_mode) || st.st_ino != ino)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	closedir(d);
	return fd;
}
