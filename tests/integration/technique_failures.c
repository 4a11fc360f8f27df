// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves that every way a technique can fail is reported clearly and
 * leaves the guest running and no file behind: an unknown technique (the
 * error lists the known ones); each technique this guest must not have
 * (technique.h; the error says why and how to enable it); the QMP socket missing; the QMP socket busy with
 * another client; the snapshot directory full (a 1 MiB tmpfs as
 * KEYHOLE_TMPDIR) for pmemsave and dump; and, on the PVH guest only (it
 * needs its own QEMU), QEMU killed in the middle of a pmemsave and of a
 * dump.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "technique.h"

static struct guest g;
static char work[] = "/var/tmp/kh-test-fail.XXXXXX";
static char full[4200], away[4200];
static int mounted, moved, bare_pid;

static void cleanup(void)
{
	char path[4200];

	if (moved)
		rename(away, g.qmp_sock);
	if (mounted)
		umount2(full, MNT_DETACH);
	if (bare_pid > 0)
		kill(bare_pid, SIGKILL);
	rmdir(full);
	snprintf(path, sizeof(path), "%s/snap", work);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/q.pid", work);
	unlink(path);
	snprintf(path, sizeof(path), "%s/q.sock", work);
	unlink(path);
	rmdir(work);
}

/* keyhole's exit status and its stderr+stdout. */
static char *keyhole(int *status, const char *env, const char *args, int pid)
{
	return run_capture(status, "%s %s %s %d 2>&1", env,
			   env_or("KEYHOLE", "build/bin/keyhole"), args, pid);
}

static void expect_error(const char *env, const char *args, const char *what,
			 const char *needle1, const char *needle2)
{
	int status;
	char *out = keyhole(&status, env, args, g.pid);

	CHECK(status == 1 && strstr(out, needle1) &&
	      (!needle2 || strstr(out, needle2)),
	      "%s: exit %d, expected an error with '%s'%s%s: %s", what,
	      status, needle1, needle2 ? " and " : "", needle2 ? needle2 : "",
	      out);
	fprintf(stderr, "%s: %s", what, out);
	free(out);
}

static void guest_runs(const char *after)
{
	int status;
	char *out = run_capture(&status, "%s -t 10 --qmp '%s' '{\"execute\":\"query-status\"}'",
				env_or("TRUTH", "truth"), g.qmp_sock);

	CHECK(status == 0 && strstr(out, "\"running\": true"),
	      "after %s the guest is not running: %s", after, out);
	free(out);
}

static void dir_empty(const char *dir, const char *after)
{
	struct dirent *d;
	DIR *dh = opendir(dir);

	CHECK(dh, "cannot open %s", dir);
	while ((d = readdir(dh)))
		CHECK(d->d_name[0] == '.' || !strcmp(d->d_name, "lost+found"),
		      "after %s, %s/%s was left behind", after, dir, d->d_name);
	closedir(dh);
}

/* Holds the monitor: a QMP monitor serves one client at a time. */
static int hold_qmp(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char greeting[256];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	CHECK(fd >= 0, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g.qmp_sock);
	CHECK(!connect(fd, (struct sockaddr *)&sa, sizeof(sa)),
	      "connect %s: %s", g.qmp_sock, strerror(errno));
	CHECK(read(fd, greeting, sizeof(greeting)) > 0, "no QMP greeting");
	return fd;
}

/* A QEMU of our own with 1 GiB of RAM and no guest: it may be killed. */
static int start_bare_qemu(void)
{
	char sock[4200], pidfile[4200];

	snprintf(sock, sizeof(sock), "%s/q.sock", work);
	snprintf(pidfile, sizeof(pidfile), "%s/q.pid", work);
	bare_pid = spawn_qemu_daemon("-accel tcg -m 1G -nodefaults -display none -name kh-fail-victim",
				     sock, pidfile);
	return bare_pid;
}

static void kill_mid_snapshot(const char *technique)
{
	char args[64], env[4300], snapdir[4200], *out;
	int status, i, pid = start_bare_qemu();
	pid_t child;
	int fds[2];

	snprintf(snapdir, sizeof(snapdir), "%s/snap", work);
	mkdir(snapdir, 0700);
	snprintf(env, sizeof(env), "KEYHOLE_TMPDIR=%s", snapdir);
	snprintf(args, sizeof(args), "-t %s vm", technique);
	CHECK(!pipe(fds), "pipe");
	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		close(fds[0]);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		out = keyhole(&status, env, args, pid);
		printf("%d %s", status, out);
		fflush(stdout);
		_exit(0);
	}
	close(fds[1]);
	/*
	 * Kill QEMU as soon as it has started writing the snapshot (a file
	 * in the snapshot directory open), polled for: 1 GiB takes pmemsave
	 * and dump seconds under TCG, however busy the host.
	 */
	for (i = 0; !qemu_has_file_in(pid, snapdir, args, sizeof(args)); i++) {
		CHECK(i < 120000 && waitpid(child, NULL, WNOHANG) == 0,
		      "%s: QEMU opened no snapshot file in %s before keyhole ended or 120 s passed",
		      technique, snapdir);
		sleep_ms(1);
	}
	kill(pid, SIGKILL);
	bare_pid = 0;
	out = calloc(1, 4096);
	CHECK(out && read(fds[0], out, 4095) > 0, "no output from keyhole");
	close(fds[0]);
	waitpid(child, NULL, 0);
	CHECK(!strncmp(out, "1 ", 2) && strstr(out, "exited"),
	      "killing QEMU during %s: expected an error saying QEMU exited: %s",
	      technique, out);
	fprintf(stderr, "QEMU killed during %s: %s", technique, out + 2);
	free(out);
	dir_empty(snapdir, technique);
}

int main(int argc, char **argv)
{
	char env[4300];
	json_t *doc, *list, *t;
	size_t i;
	int status, fd, unavailable = 0;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	CHECK(mkdtemp(work), "mkdtemp");
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);

	expect_error("", "-t no-such ps", "unknown technique",
		     "unknown technique 'no-such'", "pmemsave");

	/*
	 * Every technique this guest must not have (technique.h), not only
	 * the first: each is refused with its own reason and what would
	 * enable it.
	 */
	doc = keyhole_json(&status, "techniques %d", g.pid);
	CHECK(status == 0, "techniques failed");
	list = doc_list(doc, "techniques");
	check_techniques(&g, list, 1);
	json_array_foreach(list, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *why;
		char args[64], what[96];

		if (json_is_true(json_object_get(t, "available")))
			continue;
		why = json_string_value(json_object_get(t, "reason"));
		snprintf(args, sizeof(args), "-t %s ps", name);
		snprintf(what, sizeof(what), "unavailable technique %s", name);
		expect_error("", args, what, "is unavailable",
			     strstr(why, "keyhole.ko") ? "modprobe keyhole" :
			     "start QEMU with");
		unavailable++;
	}
	CHECK(unavailable > 0,
	      "every technique is available: cannot test an unavailable one");
	json_decref(doc);

	snprintf(away, sizeof(away), "%s.kh-away", g.qmp_sock);
	CHECK(!rename(g.qmp_sock, away), "cannot move %s", g.qmp_sock);
	moved = 1;
	/*
	 * With a memfd backend the layout comes from /proc/PID/maps and
	 * pmemsave finds the socket gone; anonymous RAM needs QMP for the
	 * layout already, and that error names the socket.
	 */
	if (!strcmp(g.ram, "memfd"))
		expect_error("", "-t pmemsave ps", "QMP socket missing",
			     "missing", "-qmp unix:");
	else
		expect_error("", "-t pmemsave ps", "QMP socket missing",
			     g.qmp_sock, "No such file");
	CHECK(!rename(away, g.qmp_sock), "cannot move %s back", g.qmp_sock);
	moved = 0;

	fd = hold_qmp();
	expect_error("", "-t pmemsave ps", "QMP socket busy", "in use by another client", NULL);
	close(fd);
	guest_runs("a busy QMP socket");

	snprintf(full, sizeof(full), "%s/full", work);
	CHECK(!mkdir(full, 0700), "mkdir %s", full);
	CHECK(!mount("tmpfs", full, "tmpfs", 0, "size=1M"),
	      "cannot mount a 1 MiB tmpfs on %s: %s", full, strerror(errno));
	mounted = 1;
	snprintf(env, sizeof(env), "KEYHOLE_TMPDIR=%s", full);
	expect_error(env, "-t pmemsave ps", "disk full (pmemsave)",
		     "no space left in", full);
	guest_runs("pmemsave into a full directory");
	dir_empty(full, "pmemsave into a full directory");
	expect_error(env, "-t dump ps", "disk full (dump)",
		     "no space left in", full);
	guest_runs("dump into a full directory");
	dir_empty(full, "dump into a full directory");

	if (strcmp(g.boot, "pvh")) {
		fprintf(stderr, "killing QEMU mid-snapshot is tested on the PVH guest\n");
		return KH_PASS;
	}
	kill_mid_snapshot("pmemsave");
	kill_mid_snapshot("dump");
	return KH_PASS;
}
