/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A QEMU-like target for keyhole.ko's memory tests: a child process that
 * owns a block of anonymous "guest RAM" and, on command, does to it what
 * a QEMU, a balloon or the host's memory management would (write it,
 * madvise it away, munmap and remap it, make it huge or KSM-mergeable,
 * page it out), so a test can force each event at a known moment and
 * then check what the mirror shows. Header-only: every test program is
 * built alone from one .c file.
 *
 * The RAM's contents are a function of (stamp, offset): after
 * KT_TGT_FILL with stamp s, the u64 at byte offset o is kt_tgt_word(s, o),
 * so a reader knows what any correct read must show and a stale page
 * (an earlier stamp) is told apart from a current one.
 */
#ifndef KT_TARGET_H
#define KT_TARGET_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define KT_TGT_HUGE (2UL << 20)

enum kt_tgt_op {
	KT_TGT_FILL = 1,	/* arg = stamp: write every u64 of [off, off+len) */
	KT_TGT_DONTNEED,	/* madvise(MADV_DONTNEED), as a balloon does */
	KT_TGT_REMAP,		/* munmap, then a fresh anonymous mmap at the same place */
	KT_TGT_UNMAP,		/* munmap only */
	KT_TGT_HUGEPAGE,	/* madvise(MADV_HUGEPAGE) */
	KT_TGT_COLLAPSE,	/* madvise(MADV_COLLAPSE): make THPs now */
	KT_TGT_SPLIT,		/* mprotect one page of a THP: splits its PMD */
	KT_TGT_MERGEABLE,	/* madvise(MADV_MERGEABLE): offer to KSM */
	KT_TGT_PAGEOUT,		/* madvise(MADV_PAGEOUT): swap out now */
	KT_TGT_FILL_SAME,	/* arg = stamp: every page alike, for KSM */
	KT_TGT_EXIT,		/* _exit(0) */
	/*
	 * arg = file offset, arg2 = (pid << 32) | fd: take fd from process
	 * pid (pidfd_getfd) and map it read-only, shared, over [off, off+len)
	 */
	KT_TGT_MAP_FD,
	KT_TGT_SECRET,		/* memfd_secret() memory over [off, off+len) */
};

struct kt_tgt_cmd {
	uint32_t op;
	uint32_t pad;
	uint64_t off;
	uint64_t len;
	uint64_t arg;
	uint64_t arg2;
};

struct kt_target {
	pid_t pid;
	int cmd_fd;		/* to the child */
	int ack_fd;		/* from the child: one int, 0 or -errno */
	uint64_t hva;		/* the RAM's address, in the child */
	uint64_t len;
};

static inline uint64_t kt_tgt_word(uint64_t stamp, uint64_t off)
{
	return (stamp << 40) ^ off ^ 0x5a5a000000000000ULL;
}

static inline int kt_tgt_map_fd(uint8_t *at, uint64_t len, uint64_t offset,
				pid_t pid, int fd)
{
	int pidfd, mine, ret = 0;
	void *p;

	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	mine = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	if (mine < 0)
		return -errno;
	p = mmap(at, len, PROT_READ, MAP_SHARED | MAP_FIXED, mine,
		 (off_t)offset);
	if (p == MAP_FAILED)
		ret = -errno;
	close(mine);
	return ret;
}

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

static inline int kt_tgt_secret(uint8_t *at, uint64_t len)
{
	int fd, ret = 0;
	void *p;

	fd = syscall(SYS_memfd_secret, 0);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len)) {
		ret = -errno;
	} else {
		p = mmap(at, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, 0);
		if (p == MAP_FAILED)
			ret = -errno;
		else
			memset(p, 0x5e, len);
	}
	close(fd);
	return ret;
}

static inline int kt_tgt_do(uint8_t *ram, const struct kt_tgt_cmd *c)
{
	uint8_t *p = ram + c->off;
	uint64_t o;

	switch (c->op) {
	case KT_TGT_FILL:
		for (o = c->off; o < c->off + c->len; o += 8)
			*(volatile uint64_t *)(ram + o) = kt_tgt_word(c->arg, o);
		return 0;
	case KT_TGT_FILL_SAME:
		for (o = c->off; o < c->off + c->len; o += 8)
			*(volatile uint64_t *)(ram + o) =
				kt_tgt_word(c->arg, o % 4096);
		return 0;
	case KT_TGT_DONTNEED:
		return madvise(p, c->len, MADV_DONTNEED) ? -errno : 0;
	case KT_TGT_UNMAP:
		return munmap(p, c->len) ? -errno : 0;
	case KT_TGT_REMAP:
		if (munmap(p, c->len))
			return -errno;
		p = mmap(p, c->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		return p == MAP_FAILED ? -errno : 0;
	case KT_TGT_HUGEPAGE:
		return madvise(p, c->len, MADV_HUGEPAGE) ? -errno : 0;
	case KT_TGT_COLLAPSE:
		return madvise(p, c->len, MADV_COLLAPSE) ? -errno : 0;
	case KT_TGT_SPLIT:
		if (mprotect(p, 4096, PROT_READ))
			return -errno;
		return mprotect(p, 4096, PROT_READ | PROT_WRITE) ? -errno : 0;
	case KT_TGT_MERGEABLE:
		return madvise(p, c->len, MADV_MERGEABLE) ? -errno : 0;
	case KT_TGT_PAGEOUT:
		return madvise(p, c->len, MADV_PAGEOUT) ? -errno : 0;
	case KT_TGT_EXIT:
		_exit(0);
	case KT_TGT_MAP_FD:
		return kt_tgt_map_fd(p, c->len, c->arg, c->arg2 >> 32,
				     (int)(uint32_t)c->arg2);
	case KT_TGT_SECRET:
		return kt_tgt_secret(p, c->len);
	}
	return -EINVAL;
}

/*
 * Fork the target with len bytes of never-touched anonymous RAM, aligned
 * to 2 MiB so it can hold THPs. The child dies with the test.
 */
static inline int kt_target_start(struct kt_target *t, uint64_t len)
{
	int to_child[2], from_child[2];
	uint8_t *area, *ram;
	struct kt_tgt_cmd c;
	int ret;

	memset(t, 0, sizeof(*t));
	area = mmap(NULL, len + KT_TGT_HUGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	ram = (uint8_t *)(((uintptr_t)area + KT_TGT_HUGE - 1) &
			  ~(KT_TGT_HUGE - 1));
	if (mprotect(ram, len, PROT_READ | PROT_WRITE))
		return -errno;
	if (pipe(to_child) || pipe(from_child))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(to_child[1]);
		close(from_child[0]);
		while (read(to_child[0], &c, sizeof(c)) == sizeof(c)) {
			ret = kt_tgt_do(ram, &c);
			if (write(from_child[1], &ret, sizeof(ret)) != sizeof(ret))
				_exit(1);
		}
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);
	/* The parent's copy is never used: only the child's RAM is real. */
	munmap(area, len + KT_TGT_HUGE);
	t->cmd_fd = to_child[1];
	t->ack_fd = from_child[0];
	t->hva = (uintptr_t)ram;
	t->len = len;
	return 0;
}

/* Run one command in the target and wait for it: 0 or the child's -errno. */
static inline int kt_target_cmd2(struct kt_target *t, enum kt_tgt_op op,
				 uint64_t off, uint64_t len, uint64_t arg,
				 uint64_t arg2)
{
	struct kt_tgt_cmd c = { .op = op, .off = off, .len = len, .arg = arg,
				.arg2 = arg2 };
	int ret;

	if (write(t->cmd_fd, &c, sizeof(c)) != sizeof(c))
		return -EPIPE;
	if (op == KT_TGT_EXIT) {
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
		return 0;
	}
	if (read(t->ack_fd, &ret, sizeof(ret)) != sizeof(ret))
		return -EPIPE;
	return ret;
}

static inline int kt_target_cmd(struct kt_target *t, enum kt_tgt_op op,
				uint64_t off, uint64_t len, uint64_t arg)
{
	return kt_target_cmd2(t, op, off, len, arg, 0);
}

/*
 * Has the target map fd of this process at [off, off + len) of its RAM,
 * at file offset (GPA) gpa: 0 or the child's -errno.
 */
static inline int kt_target_map_fd(struct kt_target *t, int fd, uint64_t off,
				   uint64_t len, uint64_t gpa)
{
	return kt_target_cmd2(t, KT_TGT_MAP_FD, off, len, gpa,
			      ((uint64_t)getpid() << 32) | (uint32_t)fd);
}

static inline void kt_target_stop(struct kt_target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
	}
	t->pid = 0;
	close(t->cmd_fd);
	close(t->ack_fd);
}

/* Resident bytes of a process from /proc/PID/status (VmRSS), or -1. */
static inline long long kt_target_rss(pid_t pid)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

#endif
