// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the host /proc parsers of qemu/procfs.c read what the kernel
 * writes, including a comm made of parentheses and spaces (any process
 * chooses its own), and refuse what it never writes (cut short, a
 * number too large, a field missing) rather than read past it; and a
 * /proc/PID descriptor goes stale with its process instead of following
 * the pid.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "qemu/procfs.h"

/* The kernel's line for a process whose comm is comm. */
static size_t stat_line(char *buf, size_t size, const char *comm,
			const char *start_time)
{
	return snprintf(buf, size,
			"4242 (%s) S 1 4242 4242 0 -1 4194560 2210 0 0 0 4 9 0 0 20 0 5 0 %s 1300000000 9000 18446744073709551615 1 1 0 0 0 0 0 4096 17635 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			comm, start_time);
}

static void test_stat(void)
{
	static const char *const comms[] = {
		"qemu-system-x86", "a) R 7 (b", ") S 1 1 1 0 -1 0 0", "", "((",
	};
	struct kh_procfs_stat st;
	char line[1024];
	unsigned int i;
	size_t n;

	for (i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		n = stat_line(line, sizeof(line), comms[i], "987654");
		memset(&st, 0, sizeof(st));
		CHECK(!kh_procfs_parse_stat(line, n, &st),
		      "comm '%s' refused", comms[i]);
		CHECK(st.state == 'S' && st.ppid == 1 &&
		      st.flags == 4194560 && st.start_time == 987654,
		      "comm '%s': state %c ppid %d start %llu", comms[i],
		      st.state, (int)st.ppid,
		      (unsigned long long)st.start_time);
	}

	/* A line cut short is refused or read as the whole was. */
	n = stat_line(line, sizeof(line), "q", "55");
	for (i = 0; i < n; i++) {
		memset(&st, 0, sizeof(st));
		if (!kh_procfs_parse_stat(line, i, &st))
			CHECK(st.start_time == 55, "cut at %u: start %llu", i,
			      (unsigned long long)st.start_time);
	}
	n = stat_line(line, sizeof(line), "q", "99999999999999999999999");
	CHECK(kh_procfs_parse_stat(line, n, &st) == -EINVAL, "overflow");
	n = stat_line(line, sizeof(line), "q", "-5");
	CHECK(kh_procfs_parse_stat(line, n, &st) == -EINVAL, "negative");
	CHECK(kh_procfs_parse_stat("4242 q S 1", 10, &st) == -EINVAL,
	      "no parentheses");
	CHECK(kh_procfs_parse_stat("", 0, &st) == -EINVAL, "empty");
	CHECK(kh_procfs_parse_stat(")", 1, &st) == -EINVAL, "only ')'");
}

static void test_status(void)
{
	static const char status[] =
		"Name:\tqemu-system-x86\nUmask:\t0022\nState:\tS (sleeping)\n"
		"Tgid:\t4242\nNgid:\t0\nPid:\t4243\nPPid:\t1\nTracerPid:\t0\n"
		"Uid:\t64055\t64056\t64057\t64058\nGid:\t108\t109\t110\t111\n"
		"FDSize:\t64\nGroups:\t108 \nNStgid:\t4242\n";
	struct kh_procfs_status st;
	char text[512];

	CHECK(!kh_procfs_parse_status(status, sizeof(status) - 1, &st),
	      "status refused");
	CHECK(st.tgid == 4242 && st.ruid == 64055 && st.euid == 64056 &&
	      st.rgid == 108 && st.egid == 109, "tgid %d uid %u/%u gid %u/%u",
	      (int)st.tgid, st.ruid, st.euid, st.rgid, st.egid);
	/* Cut before Gid: a missing key is refused, not guessed. */
	CHECK(kh_procfs_parse_status(status, strstr(status, "Gid:") - status,
				     &st) == -EINVAL, "no Gid");
	snprintf(text, sizeof(text), "Tgid:\t1\nUid:\t4294967296\t0\nGid:\t0\t0\n");
	CHECK(kh_procfs_parse_status(text, strlen(text), &st) == -EINVAL,
	      "uid beyond 32 bits");
	snprintf(text, sizeof(text), "Tgid:\t1\nUid:\t5\nGid:\t0\t0\n");
	CHECK(kh_procfs_parse_status(text, strlen(text), &st) == -EINVAL,
	      "Uid without its effective id");
	snprintf(text, sizeof(text), "Tgid:\tx\nUid:\t0\t0\nGid:\t0\t0\n");
	CHECK(kh_procfs_parse_status(text, strlen(text), &st) == -EINVAL,
	      "Tgid not a number");
}

/* A descriptor of /proc/PID reads the process it was opened on or none. */
static void test_stale(void)
{
	struct kh_procfs_stat st;
	char buf[1024];
	size_t len;
	pid_t child;
	int dirfd;

	CHECK((dirfd = kh_procfs_open(getpid())) >= 0, "own /proc dir");
	CHECK(!kh_procfs_read(dirfd, "stat", buf, sizeof(buf), &len) &&
	      !kh_procfs_parse_stat(buf, len, &st) && st.state == 'R',
	      "own stat");
	close(dirfd);

	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		pause();
		_exit(0);
	}
	CHECK((dirfd = kh_procfs_open(child)) >= 0, "child's /proc dir");
	kill(child, SIGKILL);
	CHECK(waitpid(child, NULL, 0) == child, "waitpid");
	CHECK(kh_procfs_read(dirfd, "cmdline", buf, sizeof(buf), &len) ==
	      -ESRCH, "a reaped child's cmdline must be gone");
	CHECK(kh_procfs_readlink(dirfd, "exe", buf, sizeof(buf)) == -ESRCH,
	      "a reaped child's exe must be gone");
	close(dirfd);
	CHECK(kh_procfs_open(child) == -ESRCH, "reaped child still in /proc");
	CHECK(kh_procfs_open(0) == -ESRCH && kh_procfs_open(-1) == -ESRCH,
	      "pid 0 or negative");
}

int main(void)
{
	test_stat();
	test_status();
	test_stale();
	return KH_PASS;
}
