// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: what the guest agent technique parses from the guest is parsed
 * strictly. Base64 (qga's "buf-b64"/"out-data") decodes RFC 4648 exactly,
 * refusing bad characters, bad lengths, misplaced or non-canonical padding
 * and overflowing the output. The guest-sync-delimited reply is found
 * after the last 0xFF, stale bytes before it ignored, and an unfinished
 * one is "incomplete". /proc/PID/stat lines give pid, ppid, comm, state,
 * flags, threads and start time even when the comm holds ") R 1 (" or
 * spaces, and hostile lines (no comm, huge numbers, missing fields, a
 * comm split by a newline) are refused; concatenated /proc/PID/status
 * files give each process's real uid and gid (a file without them is
 * left out), and more files than room
 * is an error, never an overflow.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "access/agent_proc.h"
#include "qemu/guest_agent.h"

static void test_base64(void)
{
	static const char *const bad[] = {
		"Zm9v!", "Zm9", "Zg=", "Zg=a", "=Zg=", "Zh==", "Zm9=", "Zm8=Zm8=",
		"Z===", "Zm 9", "Zm9v\n",
	};
	uint8_t out[16];
	size_t len, i;

	CHECK(!kh_base64_decode("Zm9vYmFy", 8, out, sizeof(out), &len) &&
	      len == 6 && !memcmp(out, "foobar", 6), "foobar");
	CHECK(!kh_base64_decode("Zm8=", 4, out, sizeof(out), &len) &&
	      len == 2 && !memcmp(out, "fo", 2), "fo");
	CHECK(!kh_base64_decode("Zg==", 4, out, sizeof(out), &len) &&
	      len == 1 && out[0] == 'f', "f");
	CHECK(!kh_base64_decode("", 0, out, sizeof(out), &len) && !len,
	      "empty");
	CHECK(!kh_base64_decode("+/+/", 4, out, sizeof(out), &len) &&
	      len == 3 && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf,
	      "+/");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(kh_base64_decode(bad[i], strlen(bad[i]), out,
				       sizeof(out), &len) == -EBADMSG,
		      "'%s' accepted", bad[i]);
	memset(out, 'G', sizeof(out));
	CHECK(kh_base64_decode("Zm9vYmFy", 8, out, 5, &len) == -EMSGSIZE,
	      "overflow");
	CHECK(out[5] == 'G', "wrote past the output");
}

static void test_sync(void)
{
	static const char stale[] = "{\"return\": 7}\n\xff{\"return\": 1}\n\xff{\"return\": 42}\n";
	size_t len;
	long off;

	off = kh_qga_sync_reply(stale, sizeof(stale) - 1, &len);
	CHECK(off > 0 && len == 14 && !memcmp(stale + off, "{\"return\": 42}", 14),
	      "sync reply at %ld len %zu", off, len);
	CHECK(kh_qga_sync_reply("{\"return\": 7}\n", 14, &len) == -EAGAIN,
	      "no marker");
	CHECK(kh_qga_sync_reply("\xff{\"ret", 6, &len) == -EAGAIN,
	      "unfinished");
}

static void test_stat(void)
{
	static const char *const bad[] = {
		"",
		"abc (x) S 1",
		"12 x) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5",
		"12 (x S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5",
		"12 (x) Q 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5",
		"12 (x) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0",
		"12 (x) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 x5",
		"12 (x) S 99999999999 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5",
		"12 (x) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 123456789012345678901",
		"-12 (x) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5",
		"12 (a",	/* first half of a comm with a newline */
		"b) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5",
	};
	const char *line =
		"123 (a) R 1 (b) S 7 123 123 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 3 0 250 1 2 3\n";
	struct kh_task t;
	size_t i;

	CHECK(!kh_guest_parse_stat(line, strlen(line), &t), "stat line");
	CHECK(t.pid == 123 && t.tgid == 123 && t.ppid == 7 && t.state == 'S' &&
	      !strcmp(t.comm, "a) R 1 (b") && t.flags == 4194560 &&
	      t.nr_threads == 3 && t.start_time == 2500000000ull,
	      "pid %d ppid %d state %c comm '%s' threads %u start %llu",
	      t.pid, t.ppid, t.state, t.comm, t.nr_threads,
	      (unsigned long long)t.start_time);
	line = "2 (kworker/0:0H-events_highpri) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 0 -20 1 0 3";
	CHECK(!kh_guest_parse_stat(line, strlen(line), &t) &&
	      !strcmp(t.comm, "kworker/0:0H-ev") && t.state == 'I',
	      "a long kernel thread name is cut to %d bytes: '%s'",
	      KH_COMM_LEN - 1, t.comm);
	line = "9 (z) Z 1 0 0 0 -1 4194316 0 0 0 0 0 0 0 0 20 0 1 0 3";
	CHECK(!kh_guest_parse_stat(line, strlen(line), &t) && t.exit_state,
	      "zombie");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(kh_guest_parse_stat(bad[i], strlen(bad[i]), &t) ==
		      -EBADMSG, "'%s' accepted", bad[i]);
}

static void test_status(void)
{
	const char text[] =
		"Name:\tinit\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1\n"
		"Ngid:\t0\nPid:\t1\nPPid:\t0\nTracerPid:\t0\n"
		"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\n"
		"Name:\tkh\\nfiles\nPid:\t120\nPPid:\t1\nTracerPid:\t0\n"
		"Uid:\t1000\t1000\t1000\t1000\nGid:\t1001\t1001\t1001\t1001\n"
		"Name:\tno-ids\nPid:\t5\n"
		"Name:\tlate\nUid:\t3\t3\t3\t3\nPid:\t6\nGid:\t4\t4\t4\t4\n";
	struct kh_guest_ids ids[4];
	int n;

	n = kh_guest_parse_status(text, sizeof(text) - 1, ids, 4);
	/* "no-ids" has no Uid/Gid and is left out, not guessed at. */
	CHECK(n == 3, "%d processes", n);
	CHECK(ids[2].pid == 6 && ids[2].uid == 3 && ids[2].gid == 4, "late");
	CHECK(ids[0].pid == 1 && ids[0].uid == 0 && ids[0].gid == 0, "init");
	CHECK(ids[1].pid == 120 && ids[1].uid == 1000 && ids[1].gid == 1001,
	      "kh-files: %d %u %u", ids[1].pid, ids[1].uid, ids[1].gid);
	CHECK(kh_guest_parse_status(text, sizeof(text) - 1, ids, 1) == -E2BIG,
	      "more than room");
	CHECK(kh_guest_parse_status("Pid:\t99999999999\nUid:\t1\nGid:\t1\n",
				    33, ids, 4) == 0, "huge pid");
}

int main(void)
{
	test_base64();
	test_sync();
	test_stat();
	test_status();
	return KH_PASS;
}
