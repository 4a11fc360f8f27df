// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: each kind of bad input gets one clear message naming the problem
 * and a non-zero exit, as text and as JSON, and never a crash or a hang:
 * a pid that does not exist, a process that is not QEMU, an unknown VM
 * name, an unknown technique, a caller without ptrace rights, a QMP socket
 * held by another client, and a QEMU whose guest is not (yet) Linux.
 */
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest.h"

static void expect_error(const char *args, const char *needle)
{
	const char *msg;
	json_t *doc;
	int status;

	doc = keyhole_json(&status, "%s", args);
	msg = json_string_value(json_object_get(doc, "error"));
	CHECK(status != 0 && status < 128, "keyhole %s: exit %d", args, status);
	CHECK(msg, "keyhole --json %s: no error object: %s", args,
	      json_dumps(doc, 0));
	CHECK(strstr(msg, needle), "keyhole %s: '%s' does not mention '%s'",
	      args, msg, needle);
	printf("ok: keyhole %s -> %s\n", args, msg);
	json_decref(doc);
}

static void expect_text_error(const char *args, const char *needle)
{
	char *out;
	int status;

	out = run_capture(&status, "%s %s 2>&1", env_or("KEYHOLE", "keyhole"),
			  args);
	CHECK(status != 0 && status < 128, "keyhole %s: exit %d", args, status);
	CHECK(strstr(out, needle) && strchr(out, '\n') == out + strlen(out) - 1,
	      "keyhole %s: want one line mentioning '%s', got: %s", args,
	      needle, out);
	free(out);
}

/*
 * keyhole --json ps as nobody (uid and gid 65534, no groups), dropped to
 * here rather than through a tool that may be missing: must fail with a
 * permission error. The runner is root (it starts QEMU and mounts
 * tmpfs); a non-root caller cannot take this case, and says so.
 */
static void unprivileged(int qemu_pid)
{
	char pid[16], out[8192], dir[] = "/tmp/kh-nobody.XXXXXX", bin[64];
	const char *msg;
	size_t len = 0;
	ssize_t n;
	json_t *doc;
	int fds[2], status;
	pid_t child;

	if (geteuid() != 0)
		SKIP("the unprivileged case needs root to drop privileges");
	snprintf(pid, sizeof(pid), "%d", qemu_pid);
	/*
	 * A copy nobody can reach: the checkout may lie under a directory
	 * only root may enter (mktemp -d makes them 0700).
	 */
	CHECK(mkdtemp(dir) && !chmod(dir, 0755), "mkdtemp: %s",
	      strerror(errno));
	snprintf(bin, sizeof(bin), "%s/keyhole", dir);
	free(run_capture(&status, "install -m 0755 '%s' '%s'",
			 env_or("KEYHOLE", "keyhole"), bin));
	CHECK(status == 0, "cannot copy keyhole to %s", bin);
	CHECK(!pipe(fds), "pipe");
	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(126);
		execl(bin, "keyhole", "--json", "--cache-dir", "", "ps", pid,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (len < sizeof(out) - 1 &&
	       (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	unlink(bin);
	rmdir(dir);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 126 &&
	      WEXITSTATUS(status) != 127,
	      "could not run keyhole as nobody: status 0x%x", status);
	doc = json_loads(out, 0, NULL);
	msg = json_string_value(json_object_get(doc, "error"));
	CHECK(WEXITSTATUS(status) != 0 && msg && strstr(msg, "permission"),
	      "unprivileged ps: exit %d: %s", WEXITSTATUS(status), out);
	keyhole_doc_rule(doc, WEXITSTATUS(status), "--json ps (as nobody)");
	printf("ok: unprivileged -> %s\n", msg);
	json_decref(doc);
}

/* Holds the guest's QMP monitor so that keyhole finds it busy. */
static int hold_qmp(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char greeting[4096];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK(fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)),
	      "cannot connect to %s", path);
	CHECK(read(fd, greeting, sizeof(greeting)) > 0, "no QMP greeting");
	return fd;
}

/* A QEMU whose RAM holds no kernel: paused before its firmware ran. */
static pid_t start_bare_qemu(const char *dir, char *qmp, size_t size)
{
	char pidfile[4096], cmd[8192], *out;
	int status;
	FILE *f;
	int pid = 0;

	snprintf(qmp, size, "%s/bare-qmp.sock", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/bare.pid", dir);
	snprintf(cmd, sizeof(cmd),
		 "qemu-system-x86_64 -accel tcg -S -nodefaults -display none "
		 "-m 256M -object memory-backend-memfd,id=mem,size=256M,share=on "
		 "-machine pc,memory-backend=mem -qmp unix:%s,server=on,wait=off "
		 "-daemonize -pidfile %s 2>&1", qmp, pidfile);
	out = run_capture(&status, "%s", cmd);
	CHECK(status == 0, "cannot start a bare QEMU: %s", out);
	free(out);
	f = fopen(pidfile, "r");
	CHECK(f && fscanf(f, "%d", &pid) == 1, "no pid in %s", pidfile);
	fclose(f);
	return pid;
}

int main(int argc, char **argv)
{
	char args[8192], qmp[4096];
	struct guest g;
	pid_t bare;
	int fd;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	expect_error("ps 999999999", "no process");
	expect_text_error("ps 999999999", "no process");
	snprintf(args, sizeof(args), "ps %d", (int)getpid());
	expect_error(args, "not a QEMU");
	expect_error("ps no-such-vm-name", "no-such-vm-name");
	snprintf(args, sizeof(args), "--technique warp ps %d", g.pid);
	expect_error(args, "unknown technique");
	expect_error("ps", "expected one VM");
	expect_error("frobnicate", "unknown command");

	/* Someone who may not ptrace QEMU may not introspect it either. */
	unprivileged(g.pid);

	/* A QMP monitor serves one client: a busy one must fail, not hang. */
	fd = hold_qmp(g.qmp_sock);
	snprintf(args, sizeof(args), "--layout qmp vm %d", g.pid);
	expect_error(args, "in use by another client");
	close(fd);

	/* A VM with no Linux in it. */
	bare = start_bare_qemu(g.rundir, qmp, sizeof(qmp));
	snprintf(args, sizeof(args), "ps %d", (int)bare);
	expect_error(args, "no Linux kernel found");
	kill(bare, SIGKILL);
	return KH_PASS;
}
