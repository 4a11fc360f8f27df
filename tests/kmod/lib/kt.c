// SPDX-License-Identifier: GPL-2.0-only
/*
 * Small things keyhole.ko's tests share: reading a process's memory the
 * way /proc allows, finding QEMU's vCPU threads by name, /dev/keyhole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt.h"

int kt_procmem_read(pid_t pid, uint64_t hva, void *buf, size_t len)
{
	char path[64];
	size_t done = 0;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "kt: open %s: %s\n", path, strerror(errno));
		return err;
	}
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(hva + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			fprintf(stderr, "kt: read %s at 0x%llx: %s\n", path,
				(unsigned long long)(hva + done), strerror(-err));
			break;
		}
		done += n;
	}
	close(fd);
	return err;
}

int kt_vcpu_threads(pid_t pid, const char *suffix, pid_t *tids,
		    unsigned int max)
{
	char path[64], comm[32], name[16];
	struct dirent *d;
	unsigned int cpu, found = 0, seen = 0;
	DIR *dir;

	memset(tids, 0, max * sizeof(*tids));
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir) {
		int err = -errno;

		fprintf(stderr, "kt: %s: %s\n", path, strerror(errno));
		return err;
	}
	/* QEMU has a few dozen threads: bound the walk all the same */
	while ((d = readdir(dir)) && seen++ < 4096) {
		char *end;
		long tid = strtol(d->d_name, &end, 10);
		FILE *f;
		int n;

		if (*end || tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/comm", (int)pid, tid);
		f = fopen(path, "r");
		if (!f)
			continue;	/* the thread just exited */
		n = fgets(comm, sizeof(comm), f) ? 1 : 0;
		fclose(f);
		if (!n)
			continue;
		comm[strcspn(comm, "\n")] = '\0';
		/* "CPU 3/KVM" */
		if (sscanf(comm, "CPU %u/%15s", &cpu, name) != 2)
			continue;
		if (suffix && strcmp(name, suffix))
			continue;
		if (cpu < max && !tids[cpu]) {
			tids[cpu] = tid;
			found++;
		}
	}
	closedir(dir);
	return found;
}

int kt_dev_open(void)
{
	int fd = open("/dev/keyhole", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int err = -errno;

		fprintf(stderr, "kt: open /dev/keyhole: %s%s\n", strerror(errno),
			errno == ENOENT ? " (is keyhole.ko loaded?)" : "");
		return err;
	}
	return fd;
}
