// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: kh_qemu_discover() and kh_qemu_identify() find a QEMU process
 * by its executable's name (" (deleted)" after an upgrade too, and by
 * argv[0] for a caller that may not see the executable), with the
 * identity /proc gives it (pid, start time, real ids) and what its
 * command line says (-name, -uuid, RAM and backend, the QMP socket made
 * absolute); that a hostile command line (bytes that are not UTF-8, a
 * -name too long, over 1 MiB, more arguments than the parser takes, an
 * option with no value) still lists the process, with those fields
 * empty and JSON that encodes; that a libvirt identity needs libvirt's
 * pid file (a session's, in real files here); and that a thread, a
 * zombie, a kernel thread, this very process and a process that exits
 * while the host is scanned are never listed.
 *
 * The "QEMU" is this test program under the name qemu-system-khtest:
 * real processes with whatever argv is wanted, and no guest to boot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "libkeyhole.h"
#include "qemu/discover.h"

#define FAKE "qemu-system-khtest"
#define MiB (1ull << 20)
#define UUID "0b6e1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d"
#define XML_UUID "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

static char tmpdir[] = "/tmp/kh-discover.XXXXXX";
static char fake[64];
static char rundir_base[64];
static pid_t fakes[16];
static unsigned int nr_fakes;

static void cleanup(void)
{
	char cmd[128];
	unsigned int i;

	for (i = 0; i < nr_fakes; i++)
		if (fakes[i] > 0) {
			kill(fakes[i], SIGKILL);
			waitpid(fakes[i], NULL, 0);
		}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	if (rundir_base[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir_base);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", rundir_base);
	}
}

/* A copy of this program, whose executable is then named like QEMU. */
static void make_fake(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe '%s' && chmod 0755 '%s'",
		 (int)getpid(), path, path);
	CHECK(!system(cmd), "%s", cmd);
}

/*
 * Starts exe with argv (argv[0] included) in tmpdir, as uid if not 0;
 * returns once the process runs exe.
 */
/* Whether process pid's argv[0] is arg0 yet. */
static int argv0_is(pid_t pid, const char *arg0)
{
	char path[64], buf[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n && !strncmp(buf, arg0, sizeof(buf) - 1);
}

static pid_t start_as(const char *exe, const char *const *argv, uid_t uid)
{
	char link[64], target[256];
	pid_t pid;
	int i;

	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (chdir(tmpdir))
			_exit(126);
		if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
			    setresuid(uid, uid, uid)))
			_exit(126);
		execve(exe, (char *const *)argv, (char *const[]){ NULL });
		_exit(127);
	}
	fakes[nr_fakes++] = pid;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	/*
	 * exec points exe at the new program before it sets up argv: the
	 * fake has started once both are its own, or a look at its
	 * command line in between finds none.
	 */
	for (i = 0; i < 500; i++) {
		ssize_t n = readlink(link, target, sizeof(target) - 1);

		if (n > 0 && (target[n] = '\0', strstr(target, FAKE)) &&
		    argv0_is(pid, argv[0]))
			return pid;
		usleep(10000);
	}
	CHECK(0, "fake QEMU %d did not start", (int)pid);
	return -1;
}

static pid_t start(const char *const *argv)
{
	return start_as(fake, argv, 0);
}

static uint64_t start_time_of(pid_t pid)
{
	char path[64], line[1024], *p;
	unsigned long long t = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	CHECK(f && fgets(line, sizeof(line), f), "read %s", path);
	fclose(f);
	p = strrchr(line, ')');
	for (i = 0; i < 20; i++)
		p = strchr(p + 1, ' ');
	CHECK(sscanf(p + 1, "%llu", &t) == 1, "starttime in %s", line);
	return t;
}

/* The entry of pid in a fresh discovery, or NULL. */
static struct kh_qemu_proc *discovered(pid_t pid, struct kh_qemu_proc *out)
{
	struct kh_qemu_proc *list;
	struct kh_err err = { 0 };
	unsigned int nr, i;
	int found = 0;

	CHECK(!kh_qemu_discover(&list, &nr, &err), "discover: %s", err.msg);
	for (i = 0; i < nr; i++) {
		CHECK(!i || list[i - 1].pid < list[i].pid, "not sorted by pid");
		if (list[i].pid == pid) {
			*out = list[i];
			found = 1;
		}
	}
	free(list);
	return found ? out : NULL;
}

static void test_exe_rule(void)
{
	static const struct {
		const char *path;
		int qemu;
	} cases[] = {
		{ "/usr/bin/qemu-system-x86_64", 1 },
		{ "/usr/bin/qemu-system-x86_64 (deleted)", 1 },
		{ "qemu-system-aarch64", 1 },
		{ "/usr/libexec/qemu-kvm", 1 },
		{ "/usr/libexec/qemu-kvm (deleted)", 1 },
		{ "qemu-system-", 0 },
		{ "qemu-system- (deleted)", 0 },
		{ "/usr/bin/qemu-kvmx", 0 },
		{ "/usr/bin/xqemu-system-x86_64", 0 },
		{ "/opt/qemu-system-x86_64/bin/sh", 0 },
		{ "/usr/bin/qemu-img", 0 },
		{ "", 0 },
		{ " (deleted)", 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(kh_qemu_exe_is_qemu(cases[i].path) == cases[i].qemu,
		      "'%s' should%s be QEMU", cases[i].path,
		      cases[i].qemu ? "" : " not");
}

static void test_identity(void)
{
	char name[64];
	const char *argv[] = {
		fake, "-accel", "tcg", "--name", name, "-uuid", UUID,
		"-m", "768M", "-object",
		"memory-backend-memfd,id=mem,size=768M,share=on",
		"-machine", "pc,memory-backend=mem", "-qmp",
		"unix:rel.sock,server=on,wait=off", NULL,
	};
	struct kh_qemu_proc p, q;
	struct kh_err err = { 0 };
	char sock[128];
	pid_t pid;

	snprintf(name, sizeof(name), "guest=kh-disc-%d,debug-threads=on",
		 (int)getpid());
	pid = start(argv);
	CHECK(discovered(pid, &p), "fake QEMU %d not discovered", (int)pid);
	snprintf(sock, sizeof(sock), "kh-disc-%d", (int)getpid());
	CHECK(!strcmp(p.name, sock), "name '%s'", p.name);
	snprintf(sock, sizeof(sock), "%s/rel.sock", tmpdir);
	CHECK(!strcmp(p.uuid, UUID), "uuid '%s'", p.uuid);
	CHECK(p.ram_bytes == 768 * MiB && !strcmp(p.ram_backend, "memfd"),
	      "ram %llu %s", (unsigned long long)p.ram_bytes, p.ram_backend);
	CHECK(!strcmp(p.qmp_path, sock), "qmp '%s', not '%s'", p.qmp_path,
	      sock);
	CHECK(p.uid == 0 && p.gid == 0, "ids %u %u", p.uid, p.gid);
	CHECK(p.start_time == start_time_of(pid), "start time %llu",
	      (unsigned long long)p.start_time);
	CHECK(!p.libvirt_name[0] && !p.libvirt_uuid[0] && !p.libvirt_uri[0],
	      "no libvirt without a pid file, yet '%s'", p.libvirt_name);

	CHECK(!kh_qemu_identify(pid, &q, &err), "identify: %s", err.msg);
	CHECK(!memcmp(&p, &q, sizeof(p)), "identify differs from discover");
}

/* Command lines a process may have: listed, with what could be read. */
static void test_hostile(void)
{
	static char big[9][120 * 1024];
	char long_name[300], many_args_name[] = "kh-many";
	const char *argv[4200 + 4];
	struct kh_qemu_proc p;
	json_t *doc;
	char *text;
	pid_t pid;
	unsigned int i;

	/* Not UTF-8, with a terminal escape: encodes, printable. */
	pid = start((const char *[]){ fake, "-name", "kh\xff\xfe\x1b[2J",
				      "-m", "1G", NULL });
	CHECK(discovered(pid, &p), "non-UTF-8 name: not discovered");
	CHECK(!strcmp(p.name, "kh\xff\xfe\x1b[2J") && p.ram_bytes == 1ull << 30 &&
	      !strcmp(p.ram_backend, "anon"), "non-UTF-8 name: '%s'", p.name);
	doc = kh_json_qemu_procs(&p, 1);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	CHECK(text && strstr(text, "\"name\":\"kh???[2J\""),
	      "non-UTF-8 name as JSON: %s", text ? text : "(none)");
	free(text);
	json_decref(doc);

	/* A -name longer than the field: none rather than half. */
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	pid = start((const char *[]){ fake, "-m", "2G", "-name", long_name,
				      NULL });
	CHECK(discovered(pid, &p), "long name: not discovered");
	CHECK(!p.name[0] && !p.ram_bytes && !p.ram_backend[0] &&
	      p.start_time == start_time_of(pid),
	      "long name: name '%.8s...' ram %llu", p.name,
	      (unsigned long long)p.ram_bytes);

	/* Over 1 MiB of arguments. */
	argv[0] = fake;
	argv[1] = "-name";
	argv[2] = "kh-big";
	for (i = 0; i < 9; i++) {
		memset(big[i], 'b', sizeof(big[i]) - 1);
		big[i][sizeof(big[i]) - 1] = '\0';
		argv[3 + i] = big[i];
	}
	argv[12] = NULL;
	pid = start(argv);
	CHECK(discovered(pid, &p), "1 MiB argv: not discovered");
	CHECK(!p.name[0], "1 MiB argv: name '%s'", p.name);

	/* More arguments than the parser takes, then an option's value. */
	argv[1] = "-name";
	argv[2] = many_args_name;
	for (i = 3; i < 4200 + 2; i++)
		argv[i] = "x";
	argv[i++] = "-m";
	argv[i] = NULL;
	pid = start(argv);
	CHECK(discovered(pid, &p), "4200 arguments: not discovered");
	CHECK(!p.name[0], "4200 arguments: name '%s'", p.name);

	/* The last option has no value: the rest is read. */
	pid = start((const char *[]){ fake, "-name", "kh-last", "-uuid",
				      NULL });
	CHECK(discovered(pid, &p) && !strcmp(p.name, "kh-last") && !p.uuid[0],
	      "an option without a value: name '%s'", p.name);
}

/* Who may not see the executable goes by argv[0]. */
static void test_unprivileged_view(void)
{
	struct kh_qemu_proc p;
	struct kh_err err = { 0 };
	pid_t pid, child;
	int status;

	pid = start((const char *[]){ fake, "-name", "kh-root", NULL });
	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(126);
		if (kh_qemu_identify(pid, &p, &err)) {
			fprintf(stderr, "as nobody: %s\n", err.msg);
			_exit(1);
		}
		_exit(strcmp(p.name, "kh-root") || p.uid != 0 ? 2 : 0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0,
	      "nobody's view of root's QEMU: status 0x%x", status);
}

/* An upgrade replaces the binary under a running QEMU. */
static void test_deleted(void)
{
	char path[128];
	struct kh_qemu_proc p;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/bin/" FAKE, tmpdir);
	make_fake(path);
	pid = start_as(path, (const char *[]){ path, "-name", "kh-old", NULL },
		       0);
	CHECK(!unlink(path), "unlink %s", path);
	CHECK(discovered(pid, &p) && !strcmp(p.name, "kh-old"),
	      "a QEMU whose executable was deleted is not discovered");
}

/* A session domain, by libvirt's pid file and status XML. */
static void test_libvirt_session(void)
{
	uid_t uid = 0x7ffd0000u + (getpid() & 0xffff);
	char dir[128], path[256], xml[512], name[32];
	struct kh_qemu_proc p;
	pid_t pid;
	FILE *f;

	snprintf(name, sizeof(name), "kh-lv-%d", (int)getpid());
	snprintf(rundir_base, sizeof(rundir_base), "/run/user/%u",
		 (unsigned int)uid);
	snprintf(dir, sizeof(dir), "%s/libvirt/qemu/run", rundir_base);
	snprintf(path, sizeof(path), "mkdir -p '%s' && chown -R %u:%u '%s'",
		 dir, (unsigned int)uid, (unsigned int)uid, rundir_base);
	CHECK(!system(path), "%s", path);
	pid = start_as(fake, (const char *[]){ fake, "-name", name,
			"-uuid", UUID, NULL }, uid);

	CHECK(discovered(pid, &p) && !p.libvirt_name[0],
	      "libvirt without a pid file");
	CHECK(p.uid == uid && p.gid == uid, "ids %u %u", p.uid, p.gid);

	snprintf(path, sizeof(path), "%s/%s.pid", dir, name);
	f = fopen(path, "w");
	CHECK(f && fprintf(f, "%d", (int)pid + 1) > 0 && !fclose(f) &&
	      !chown(path, uid, uid), "write %s", path);
	CHECK(discovered(pid, &p) && !p.libvirt_name[0],
	      "libvirt by a pid file of another process");

	f = fopen(path, "w");
	CHECK(f && fprintf(f, "%d", (int)pid) > 0 && !fclose(f), "write %s",
	      path);
	CHECK(discovered(pid, &p), "session domain not discovered");
	CHECK(!strcmp(p.libvirt_name, name) && !strcmp(p.libvirt_uuid, UUID) &&
	      !strcmp(p.libvirt_uri, "qemu:///session"),
	      "session domain: '%s' '%s' '%s'", p.libvirt_name,
	      p.libvirt_uuid, p.libvirt_uri);

	/* libvirt's status XML over what the process says of itself. */
	snprintf(path, sizeof(path), "%s/%s.xml", dir, name);
	snprintf(xml, sizeof(xml),
		 "<domstatus state='running' pid='%d'>\n<domain type='kvm'>\n<name>%s</name>\n<uuid>" XML_UUID "</uuid>\n</domain>\n</domstatus>\n",
		 (int)pid, name);
	f = fopen(path, "w");
	CHECK(f && fputs(xml, f) >= 0 && !fclose(f) && !chown(path, uid, uid) &&
	      !chmod(path, 0600), "write %s", path);
	CHECK(discovered(pid, &p) && !strcmp(p.libvirt_uuid, XML_UUID) &&
	      !strcmp(p.uuid, UUID), "status XML: libvirt uuid '%s'",
	      p.libvirt_uuid);
}

static void *idle(void *arg)
{
	pause();
	return arg;
}

/* A thread of process pid other than its first, once it has one. */
static pid_t other_thread(pid_t pid)
{
	char path[64];
	struct dirent *de;
	pid_t tid = 0;
	DIR *dir;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	for (i = 0; i < 500 && !tid; i++) {
		dir = opendir(path);
		CHECK(dir, "opendir %s", path);
		while ((de = readdir(dir)))
			if (atoi(de->d_name) > 0 && atoi(de->d_name) != pid)
				tid = atoi(de->d_name);
		closedir(dir);
		if (!tid)
			usleep(10000);
	}
	CHECK(tid, "process %d started no thread", (int)pid);
	return tid;
}

/* What is not a QEMU process says so, and is not listed. */
static void test_not_qemu(void)
{
	struct kh_qemu_proc p;
	struct kh_err err = { 0 };
	pid_t tid, zombie, pid;
	int r;

	r = kh_qemu_identify(getpid(), &p, &err);
	CHECK(r == -ENOEXEC && strstr(err.msg, "not a QEMU process"),
	      "this test: %d %s", r, err.msg);
	CHECK(!discovered(getpid(), &p), "this test was discovered");

	/* kthreadd, unless this pid namespace shows no kernel thread. */
	if (!access("/proc/2/stat", F_OK)) {
		r = kh_qemu_identify(2, &p, &err);
		CHECK(r == -ENOEXEC && strstr(err.msg, "kernel thread"),
		      "kthreadd: %d %s", r, err.msg);
	}

	/* A fake QEMU's thread: the process is listed, never the thread. */
	pid = start((const char *[]){ fake, "-name", "kh-threads",
				      "--threads", NULL });
	tid = other_thread(pid);
	r = kh_qemu_identify(tid, &p, &err);
	CHECK(r == -ESRCH && strstr(err.msg, "thread"), "a thread: %d %s", r,
	      err.msg);
	CHECK(discovered(pid, &p) && !discovered(tid, &p),
	      "the process, not its thread, is listed");

	zombie = start((const char *[]){ fake, "-name", "kh-zombie", NULL });
	kill(zombie, SIGKILL);
	/* Not reaped: a zombie until cleanup. */
	usleep(100000);
	r = kh_qemu_identify(zombie, &p, &err);
	CHECK(r == -ESRCH && strstr(err.msg, "zombie"), "zombie: %d %s", r,
	      err.msg);
	CHECK(!discovered(zombie, &p), "a zombie was discovered");

	r = kh_qemu_identify(0x3ffffff0, &p, &err);
	CHECK(r == -ESRCH && strstr(err.msg, "no process"),
	      "no such pid: %d %s", r, err.msg);
}

/* Processes come and go while the host is scanned: no error, ever. */
static void test_churn(void)
{
	struct kh_qemu_proc *list;
	struct kh_err err = { 0 };
	unsigned int nr, round;
	pid_t churner;

	churner = fork();
	CHECK(churner >= 0, "fork");
	if (!churner) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			pid_t pid = fork();

			if (!pid) {
				execl(fake, fake, "-name", "kh-churn", NULL);
				_exit(127);
			}
			usleep(2000);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	fakes[nr_fakes++] = churner;
	for (round = 0; round < 200; round++) {
		CHECK(!kh_qemu_discover(&list, &nr, &err),
		      "discover while processes come and go: %s", err.msg);
		free(list);
	}
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	/* The fake QEMU: idles, with a thread when asked. */
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, FAKE)) {
		pthread_t thread;

		/* Dies with its parent: the test, or one that churns. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			return 0;

		if (argc > 3 && !strcmp(argv[3], "--threads"))
			pthread_create(&thread, NULL, idle, NULL);
		for (;;)
			pause();
	}

	test_exe_rule();
	if (geteuid())
		SKIP("the exe rule passes; the rest needs root (processes of other users)");
	CHECK(mkdtemp(tmpdir) && !chmod(tmpdir, 0755), "mkdtemp");
	atexit(cleanup);
	snprintf(fake, sizeof(fake), "%s/bin", tmpdir);
	CHECK(!mkdir(fake, 0755), "mkdir %s", fake);
	snprintf(fake, sizeof(fake), "%s/" FAKE, tmpdir);
	make_fake(fake);

	test_identity();
	test_hostile();
	test_unprivileged_view();
	test_deleted();
	test_libvirt_session();
	test_not_qemu();
	test_churn();
	return KH_PASS;
}
