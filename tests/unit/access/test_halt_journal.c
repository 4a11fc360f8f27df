// SPDX-License-Identifier: GPL-2.0-only
/*
 * The halt journal (broker/lib/access/halt_journal.c) decides which QEMU
 * process a restarted keyholed resumes, so its entries are parsed
 * strictly: an entry formatted by keyhole parses back to itself, and one
 * with anything else (a line unknown, missing, repeated or out of order,
 * a number out of range or with a sign or leading zero, a relative QMP
 * path, a bad UUID, a control byte, text after the end, a NUL) is refused.
 * kh_halt_recover() removes an entry whose process is gone and never
 * resumes a process whose start time differs from the entry's (a reused
 * pid), nor follows a file that claims an identity other than its name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "libkeyhole.h"
#include "access/halt_journal.h"

#define UUID "0b6e1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d"

static int parses(const char *text)
{
	struct kh_halt_entry e;

	return !kh_halt_entry_parse(text, strlen(text), &e);
}

static void round_trip(const struct kh_halt_entry *in)
{
	struct kh_halt_entry out;
	char text[KH_HALT_ENTRY_MAX];

	CHECK(!kh_halt_entry_format(in, text, sizeof(text)), "format");
	CHECK(!kh_halt_entry_parse(text, strlen(text), &out),
	      "keyhole's own entry does not parse: %s", text);
	CHECK(out.pid == in->pid && out.start_time == in->start_time &&
	      !strcmp(out.qmp_path, in->qmp_path) &&
	      !strcmp(out.libvirt_uri, in->libvirt_uri) &&
	      !strcmp(out.uuid, in->uuid) && !strcmp(out.halt, in->halt),
	      "round trip changed %s", text);
}

static void parsing(void)
{
	static const char *const bad[] = {
		"",
		"keyhole-halt 2\npid 1\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid 0\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid -1\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid +1\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid 01\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid 2147483648\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid 1\nstart_time 18446744073709551616\nqmp /q\n",
		"keyhole-halt 1\npid 1\nstart_time \nqmp /q\n",
		"keyhole-halt 1\nstart_time 2\npid 1\nqmp /q\n",
		"keyhole-halt 1\npid 1\npid 1\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid 1\nstart_time 2\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp q.sock\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\nqmp /q\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\x01x\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\xc3\xa9\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nlibvirt qemu:///system\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nlibvirt qemu:///system\nuuid 0b6e1c2d\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nlibvirt qemu:///system\nuuid 0b6e1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4g\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nuuid " UUID "\nlibvirt qemu:///system\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\nuuid " UUID "\n",
		"keyhole-halt 1\r\npid 1\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid  1\nstart_time 2\nqmp /q\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\nhalt pause\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\nhalt \n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\nhalt stop\nhalt stop\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nhalt stop\nqmp /q\n",
		"keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\nhalt stop",
	};
	struct kh_halt_entry e = { .pid = 4242, .start_time = 99887766 };
	const char nul[] = "keyhole-halt 1\npid 1\nstart_time 2\nqmp /q\0\n";
	struct kh_halt_entry out;
	unsigned int i;

	CHECK(parses("keyhole-halt 1\npid 1\nstart_time 0\nqmp /q\n"),
	      "a plain entry is refused");
	CHECK(parses("keyhole-halt 1\npid 1\nstart_time 0\nqmp /q\nhalt gdbstub-monitor\n"),
	      "an entry with its halt is refused");
	CHECK(parses("keyhole-halt 1\npid 2147483647\nstart_time 18446744073709551615\nlibvirt qemu:///system\nuuid " UUID "\n"),
	      "the largest numbers are refused");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!parses(bad[i]), "accepted bad entry %u: %s", i, bad[i]);
	CHECK(kh_halt_entry_parse(nul, sizeof(nul) - 1, &out),
	      "accepted an entry with a NUL byte");

	strcpy(e.qmp_path, "/run/vm 1/qmp.sock");
	round_trip(&e);
	strcpy(e.halt, "gdbstub");
	round_trip(&e);
	strcpy(e.halt, "stop");
	e.qmp_path[0] = '\0';
	strcpy(e.libvirt_uri, "qemu:///system");
	strcpy(e.uuid, UUID);
	round_trip(&e);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	      "cannot write %s", path);
	close(fd);
}

static int entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	CHECK(d, "opendir %s", dir);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") &&
					      strcmp(de->d_name, ".."));
	closedir(d);
	return n;
}

static int exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !access(path, F_OK);
}

/*
 * Entries that recovery must drop without touching a process: this very
 * process under a start time it does not have (a reused pid), a pid that
 * no process has, a file whose name and contents disagree (it names this
 * process, which is not QEMU and has no such socket), an unfinished
 * write, a malformed file.
 */
static void recovery(void)
{
	char dir[] = "/tmp/kh-halt-journal.XXXXXX", name[64], text[512];
	struct kh_halt_entry me = { .pid = getpid() };
	struct kh_err err = { 0 };
	uint64_t start;
	int n;

	CHECK(mkdtemp(dir), "mkdtemp");
	CHECK(!kh_halt_start_time(getpid(), &start), "own start time");
	strcpy(me.qmp_path, "/nonexistent/qmp.sock");

	me.start_time = start + 1;
	CHECK(!kh_halt_journal_write(dir, &me, &err), "%s", err.msg);
	kh_halt_entry_name(&me, name, sizeof(name));
	CHECK(exists(dir, name), "kh_halt_journal_write left no %s", name);
	CHECK(entries(dir) == 1, "kh_halt_journal_write left %d files",
	      entries(dir));

	put(dir, "2147483646-5",
	    "keyhole-halt 1\npid 2147483646\nstart_time 5\nqmp /q\n");
	/* The real identity in the name, another in the text. */
	snprintf(text, sizeof(text),
		 "keyhole-halt 1\npid %d\nstart_time %llu\nqmp /nonexistent/q\n",
		 (int)getpid(), (unsigned long long)start + 7);
	snprintf(name, sizeof(name), "%d-%llu", (int)getpid(),
		 (unsigned long long)start);
	put(dir, name, text);
	put(dir, ".1-2.123", "keyhole-halt 1\npid 1\nstart_time 2\n");
	put(dir, "junk", "hello\n");

	n = kh_halt_recover(dir, NULL, NULL, &err);
	CHECK(n == 0, "recovery resumed %d guests (%s)", n, err.msg);
	kh_halt_entry_name(&me, text, sizeof(text));
	CHECK(!exists(dir, text), "kept an entry of a reused pid");
	CHECK(!exists(dir, "2147483646-5"), "kept an entry of a dead pid");
	CHECK(!exists(dir, name), "kept an entry whose name lies");
	CHECK(!exists(dir, ".1-2.123"), "kept an unfinished entry");
	CHECK(!exists(dir, "junk"), "kept a malformed entry");

	/* Others may not write the journal: its entries would be theirs. */
	CHECK(!chmod(dir, 0777), "chmod");
	CHECK(kh_halt_recover(dir, NULL, NULL, &err) == -EPERM,
	      "recovery trusted a world-writable journal");
	CHECK(!chmod(dir, 0700), "chmod");
	CHECK(!rmdir(dir), "rmdir %s: %m", dir);
}

int main(void)
{
	parsing();
	recovery();
	return KH_PASS;
}
