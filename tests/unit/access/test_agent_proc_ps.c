// SPDX-License-Identifier: GPL-2.0-only
/*
 * What ps -ef adds, as the agent technique parses it from the guest's own
 * /proc (broker/lib/access/agent_proc.c): the CPU time is utime + stime
 * of /proc/PID/stat in clock ticks, the terminal is tty_nr named as ps
 * names it, and the effective ids are the second numbers of Uid: and
 * Gid:. The text is the guest's, so times that would overflow, negative
 * device numbers and ids past 32 bits are refused, not wrapped.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "access/agent_proc.h"

/* A kh-tree line: tty_nr 34816 (pts/0), utime 7, stime 3 ticks. */
static const char stat_line[] =
	"120 (kh-tree) S 1 120 120 34816 120 4194560 80 0 0 0 7 3 0 0 20 0 1 0 74 2502656 171\n";

static int parse_with(const char *from, const char *to, struct kh_task *t)
{
	char line[256];
	const char *at = strstr(stat_line, from);

	CHECK(at, "test line lacks '%s'", from);
	snprintf(line, sizeof(line), "%.*s%s%s", (int)(at - stat_line),
		 stat_line, to, at + strlen(from));
	return kh_guest_parse_stat(line, strlen(line), t);
}

static void terminals(void)
{
	static const struct {
		unsigned int dev;
		const char *name;
	} names[] = {
		{ 0, "" }, { 34816, "pts/0" }, { 34817, "pts/1" },
		/* minor 256 of major 136: bits 20-31 hold the minor's top. */
		{ (136 << 8) | (1 << 20), "pts/256" },
		{ 137 << 8, "pts/256" }, { (4 << 8) | 64, "ttyS0" },
		{ (4 << 8) | 1, "tty1" }, { (5 << 8) | 1, "console" },
		{ (8 << 8) | 3, "8:3" }, { 0xffffffff, "4095:1048575" },
	};
	char name[KH_TTY_LEN];
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(name, 'x', sizeof(name));
		kh_guest_tty_name(names[i].dev, name);
		CHECK(!strcmp(name, names[i].name), "tty_nr %u: '%s', want '%s'",
		      names[i].dev, name, names[i].name);
	}
}

int main(void)
{
	static const char status[] =
		"Name:\tkh-files\nPid:\t121\nUid:\t1000\t1002\t1002\t1002\n"
		"Gid:\t1001\t1003\t1003\t1003\n"
		"Name:\tx\nPid:\t5\nUid:\t0\nGid:\t0\t0\n"
		"Name:\ty\nPid:\t6\nUid:\t1\t4294967296\nGid:\t0\t0\n";
	struct kh_guest_ids ids[4];
	struct kh_task t;

	CHECK(!parse_with("", "", &t), "a stat line refused");
	CHECK(t.cpu_time == 100000000 && !strcmp(t.tty, "pts/0"),
	      "cpu_time %llu tty '%s'", (unsigned long long)t.cpu_time, t.tty);
	CHECK(!parse_with(" 34816 ", " 0 ", &t) && !t.tty[0],
	      "no terminal: '%s'", t.tty);
	/* The kernel prints tty_nr as an int: pts/524288 is negative. */
	CHECK(!parse_with(" 34816 ", " -2147448832 ", &t) &&
	      !strcmp(t.tty, "pts/524288"), "pts/524288: '%s'", t.tty);
	CHECK(parse_with(" 34816 ", " -2147483649 ", &t) == -EBADMSG,
	      "a tty_nr below an int accepted");
	CHECK(parse_with(" 7 3 ", " 922337203685477 3 ", &t) == -EBADMSG,
	      "utime that overflows ns accepted");
	CHECK(!parse_with(" 7 3 ", " 92233720368 92233720368 ", &t) &&
	      t.cpu_time == 2 * 922337203680000000ull,
	      "the largest times: %llu", (unsigned long long)t.cpu_time);
	terminals();

	/* Real then effective ids; one without its effective id is none. */
	CHECK(kh_guest_parse_status(status, sizeof(status) - 1, ids, 4) == 1,
	      "status files with and without effective ids");
	CHECK(ids[0].pid == 121 && ids[0].uid == 1000 && ids[0].euid == 1002 &&
	      ids[0].gid == 1001 && ids[0].egid == 1003,
	      "kh-files: uid %u euid %u gid %u egid %u", ids[0].uid,
	      ids[0].euid, ids[0].gid, ids[0].egid);
	return KH_PASS;
}
