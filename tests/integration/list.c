// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole list` shows the guest under test with its QEMU pid,
 * the start time /proc gives that pid, its -name, no libvirt domain and
 * the RAM size and backend it was booted with, as JSON and as text, and
 * nothing that is not a process; --probe adds the guest kernel's release
 * as the guest's own uname says it and the techniques that work, among
 * them the one the other tests use (keyhole's default, as `keyhole vm`
 * names it); and a caller sees only the VMs it may ptrace: nobody sees
 * a QEMU of its own (when the kernel lets it read that QEMU's memory)
 * and none of root's, in text and in JSON.
 */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"

#define NOBODY 65534

/* vm.sh's --mem: a number of MiB, or with an M or G suffix. */
static unsigned long long mem_bytes(const char *mem)
{
	char *end;
	unsigned long long n = strtoull(mem, &end, 10);

	if (toupper((unsigned char)*end) == 'G')
		return n << 30;
	return n << 20;
}

static unsigned long long start_time_of(int pid)
{
	char path[64], line[1024], *p;
	unsigned long long t = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	CHECK(f && fgets(line, sizeof(line), f), "cannot read %s", path);
	fclose(f);
	p = strrchr(line, ')');
	for (i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	CHECK(p && sscanf(p + 1, "%llu", &t) == 1, "no start time in %s",
	      line);
	return t;
}

/* Every entry is a process of the host (not a thread) and in pid order. */
static void check_processes(json_t *list)
{
	char path[64], line[256];
	int prev = 0, tgid;
	size_t i;
	json_t *vm;
	FILE *f;

	json_array_foreach(list, i, vm) {
		int pid = json_integer_value(json_object_get(vm, "pid"));

		CHECK(pid > prev, "list not sorted by pid at %d", pid);
		prev = pid;
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		f = fopen(path, "r");
		if (!f)
			continue;	/* exited since */
		tgid = 0;
		while (fgets(line, sizeof(line), f))
			sscanf(line, "Tgid: %d", &tgid);
		fclose(f);
		CHECK(tgid == pid, "pid %d listed, a thread of %d", pid, tgid);
	}
}

static void check_json(const struct guest *g, const char *mem)
{
	json_t *doc, *list, *vm;
	char qmp[8];
	int status;

	doc = keyhole_json(&status, "list");
	CHECK(status == 0, "list: exit %d: %s", status, json_dumps(doc, 0));
	list = doc_list(doc, "list");
	check_processes(list);
	vm = json_by_pid(list, g->pid);
	CHECK(vm, "list does not show the guest's QEMU %d: %s", g->pid,
	      json_dumps(list, 0));
	CHECK(!strcmp(json_need_str(vm, "name"), g->name), "name '%s', not '%s'",
	      json_need_str(vm, "name"), g->name);
	CHECK(json_integer_value(json_object_get(vm, "start_time")) ==
	      (json_int_t)start_time_of(g->pid), "start_time %lld",
	      (long long)json_integer_value(json_object_get(vm, "start_time")));
	CHECK(json_integer_value(json_object_get(vm, "ram_bytes")) ==
	      (json_int_t)mem_bytes(mem), "ram_bytes %lld for --mem %s",
	      (long long)json_integer_value(json_object_get(vm, "ram_bytes")),
	      mem);
	CHECK(!strcmp(json_need_str(vm, "ram_backend"), g->ram), "ram_backend %s, not %s",
	      json_need_str(vm, "ram_backend"), g->ram);
	guest_option(g->rundir, "qmp", qmp, sizeof(qmp));
	CHECK(!strcmp(json_need_str(vm, "qmp"), strcmp(qmp, "0") ? g->qmp_sock : ""),
	      "qmp '%s'", json_need_str(vm, "qmp"));
	CHECK(json_is_null(json_object_get(vm, "libvirt")) &&
	      !json_need_str(vm, "uuid")[0], "a plain QEMU with libvirt or a uuid: %s",
	      json_dumps(vm, 0));
	CHECK(json_integer_value(json_object_get(vm, "uid")) == 0,
	      "uid of root's QEMU");
	CHECK(!json_object_get(vm, "kernel_release") &&
	      !json_object_get(vm, "techniques") &&
	      !json_object_get(vm, "error"), "probe keys without --probe: %s",
	      json_dumps(vm, 0));
	json_decref(doc);
	printf("ok: JSON list shows pid %d as %s, %s of %s RAM\n", g->pid,
	       g->name, mem, g->ram);
}

/* The text line of pid, split into its columns. */
static int text_columns(const char *out, int pid, char cols[8][256])
{
	char *copy = strdup(out), *line, *save = NULL;
	int n = 0, header = 0;

	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!header) {
			header = 1;
			CHECK(sscanf(line, "%255s %255s %255s %255s %255s %255s %255s",
				     cols[0], cols[1], cols[2], cols[3],
				     cols[4], cols[5], cols[6]) == 7 &&
			      !strcmp(cols[0], "PID") &&
			      !strcmp(cols[6], "TECHNIQUES"),
			      "list's header: '%s'", line);
			continue;
		}
		if (atoi(line) != pid)
			continue;
		n = sscanf(line, "%255s %255s %255s %255s %255s %255s %255s",
			   cols[0], cols[1], cols[2], cols[3], cols[4],
			   cols[5], cols[6]);
		break;
	}
	free(copy);
	return n;
}

static void check_text(const struct guest *g, const char *mem)
{
	char cols[8][256], ram[32];
	int status;
	char *out = run_capture(&status, "%s list",
				env_or("KEYHOLE", "keyhole"));

	CHECK(status == 0, "list: exit %d: %s", status, out);
	CHECK(text_columns(out, g->pid, cols) == 7,
	      "list shows no line of 7 columns for pid %d:\n%s", g->pid, out);
	/* As list shows sizes: the largest unit with a whole number. */
	if (mem_bytes(mem) % (1ull << 30))
		snprintf(ram, sizeof(ram), "%lluM", mem_bytes(mem) >> 20);
	else
		snprintf(ram, sizeof(ram), "%lluG", mem_bytes(mem) >> 30);
	CHECK(!strcmp(cols[1], g->name) && !strcmp(cols[2], "-") &&
	      !strcmp(cols[3], "-") && !strcmp(cols[4], ram) &&
	      !strcmp(cols[5], "-") && !strcmp(cols[6], "-"),
	      "text line for pid %d: %s %s %s %s %s %s (want %s - - %s - -)",
	      g->pid, cols[1], cols[2], cols[3], cols[4], cols[5], cols[6],
	      g->name, ram);
	free(out);
}

/* The release the guest's own uname gives (its truth daemon's info). */
static void guest_release(const struct guest *g, char *release, size_t size)
{
	char *out = guest_truth(g, "info"), *line, *save = NULL;

	release[0] = '\0';
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "release ", 8))
			snprintf(release, size, "%s", line + 8);
	free(out);
	CHECK(release[0], "the truth daemon's info has no release");
}

/* The technique keyhole picks by default, which the other tests use. */
static void default_technique(const struct guest *g, char *name, size_t size)
{
	json_t *doc;
	int status;

	doc = keyhole_json(&status, "vm %d", g->pid);
	CHECK(status == 0 && json_is_string(json_object_get(doc, "technique")),
	      "vm %d: exit %d: %s", g->pid, status, json_dumps(doc, 0));
	snprintf(name, size, "%s",
		 json_string_value(json_object_get(doc, "technique")));
	json_decref(doc);
}

static void check_probe(const struct guest *g)
{
	char release[128], technique[32], cols[8][256], want[40];
	json_t *doc, *list, *vm, *t;
	int status, found = 0;
	size_t i;
	char *out;

	guest_release(g, release, sizeof(release));
	default_technique(g, technique, sizeof(technique));

	doc = keyhole_json(&status, "list --probe");
	CHECK(status == 0, "list --probe: exit %d: %s", status,
	      json_dumps(doc, 0));
	list = doc_list(doc, "list");
	vm = json_by_pid(list, g->pid);
	CHECK(vm, "list --probe does not show pid %d", g->pid);
	CHECK(!json_object_get(vm, "error"), "probing the guest failed: %s",
	      json_dumps(vm, 0));
	CHECK(!strcmp(json_need_str(vm, "kernel_release"), release),
	      "kernel_release '%s', the guest says '%s'",
	      json_need_str(vm, "kernel_release"), release);
	CHECK(json_is_array(json_object_get(vm, "techniques")),
	      "no techniques array: %s", json_dumps(vm, 0));
	json_array_foreach(json_object_get(vm, "techniques"), i, t)
		found |= !strcmp(json_string_value(t), technique);
	CHECK(found, "techniques %s lack %s, the default",
	      json_dumps(json_object_get(vm, "techniques"), 0), technique);
	json_decref(doc);

	out = run_capture(&status, "%s list --probe 2>/dev/null",
			  env_or("KEYHOLE", "keyhole"));
	CHECK(status == 0 && text_columns(out, g->pid, cols) == 7,
	      "list --probe: exit %d:\n%s", status, out);
	snprintf(want, sizeof(want), ",%s,", technique);
	snprintf(cols[7], sizeof(cols[7]), ",%s,", cols[6]);
	CHECK(!strcmp(cols[5], release) && strstr(cols[7], want),
	      "text --probe: kernel %s techniques %s (want %s, with %s)",
	      cols[5], cols[6], release, technique);
	free(out);
	printf("ok: --probe: kernel %s, techniques with %s\n", release,
	       technique);
}

/* Runs bin with argv as nobody; its stdout into out. */
static int run_as_nobody(const char *bin, char *const argv[], char *out,
			 size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fds[2], status;
	pid_t child;

	CHECK(!pipe(fds), "pipe");
	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	close(fds[1]);
	while (len < size - 1 &&
	       (n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 126 &&
	      WEXITSTATUS(status) != 127, "could not run %s as nobody: 0x%x",
	      bin, status);
	return WEXITSTATUS(status);
}

/* A QEMU of nobody's: no guest, paused before its firmware ran. */
static pid_t start_nobody_qemu(const char *name)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (chdir("/") || setgroups(0, NULL) ||
		    setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(126);
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-accel",
		       "tcg", "-S", "-nodefaults", "-display", "none", "-m",
		       "64M", "-name", name, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Whether the kernel lets nobody read QEMU pid's memory (the oracle). */
static int nobody_may_read(pid_t pid)
{
	char path[64];
	int status;
	pid_t child = fork();

	CHECK(child >= 0, "fork");
	if (!child) {
		int fd;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(126);
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		fd = open(path, O_RDONLY);
		_exit(fd >= 0 ? 0 : 1);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) != 126, "nobody's check: 0x%x", status);
	return WEXITSTATUS(status) == 0;
}

static void check_unprivileged(const struct guest *g)
{
	char dir[] = "/tmp/kh-list-nobody.XXXXXX", bin[64], name[64];
	char cols[8][256], out[1 << 16];
	char *const json_argv[] = { bin, "--json", "--cache-dir", "", "list",
				    NULL };
	char *const text_argv[] = { bin, "--cache-dir", "", "list", NULL };
	json_t *doc, *list, *vm;
	pid_t own;
	int status, expect_own, tries;

	if (geteuid() != 0)
		SKIP("the unprivileged case needs root to drop privileges");
	/* A copy nobody can reach: the checkout may not be. */
	CHECK(mkdtemp(dir) && !chmod(dir, 0755), "mkdtemp: %s",
	      strerror(errno));
	snprintf(bin, sizeof(bin), "%s/keyhole", dir);
	free(run_capture(&status, "install -m 0755 '%s' '%s'",
			 env_or("KEYHOLE", "keyhole"), bin));
	CHECK(status == 0, "cannot copy keyhole to %s", bin);

	snprintf(name, sizeof(name), "kh-list-nobody-%d", (int)getpid());
	own = start_nobody_qemu(name);
	/* QEMU runs once its name is its executable's. */
	for (tries = 0; tries < 500; tries++) {
		char exe[256], link[64];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/exe", (int)own);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n > 0 && (exe[n] = '\0', strstr(exe, "qemu-system")))
			break;
		usleep(10000);
	}
	CHECK(tries < 500, "nobody's QEMU did not start");
	expect_own = nobody_may_read(own);

	status = run_as_nobody(bin, json_argv, out, sizeof(out));
	doc = json_loads(out, 0, NULL);
	CHECK(status == 0 && doc, "list as nobody: exit %d: %s", status, out);
	keyhole_doc_rule(doc, status, "--json list (as nobody)");
	list = doc_list(doc, "list");
	CHECK(!json_by_pid(list, g->pid), "nobody sees root's QEMU %d", g->pid);
	vm = json_by_pid(list, own);
	CHECK(!vm == !expect_own,
	      "nobody %s its own QEMU, which the kernel %s it to read",
	      vm ? "sees" : "does not see", expect_own ? "allows" : "forbids");
	if (vm)
		CHECK(!strcmp(json_need_str(vm, "name"), name) &&
		      json_integer_value(json_object_get(vm, "uid")) == NOBODY,
		      "nobody's QEMU: %s", json_dumps(vm, 0));
	json_decref(doc);

	status = run_as_nobody(bin, text_argv, out, sizeof(out));
	/* The header first; PID is right-aligned, like the pids. */
	CHECK(status == 0 && !strncmp(out + strspn(out, " "), "PID ", 4),
	      "text list as nobody: exit %d: %s", status, out);
	CHECK(text_columns(out, g->pid, cols) == 0,
	      "nobody sees root's QEMU %d in text:\n%s", g->pid, out);
	CHECK(!text_columns(out, own, cols) == !expect_own,
	      "nobody's QEMU in text:\n%s", out);

	kill(own, SIGKILL);
	waitpid(own, NULL, 0);
	unlink(bin);
	rmdir(dir);
	printf("ok: nobody sees none of root's VMs%s\n",
	       expect_own ? ", and its own" : "");
}

int main(int argc, char **argv)
{
	char mem[32];
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	guest_option(g.rundir, "mem", mem, sizeof(mem));
	CHECK(mem[0], "no mem in %s/options", g.rundir);

	check_json(&g, mem);
	check_text(&g, mem);
	check_probe(&g);
	check_unprivileged(&g);
	return KH_PASS;
}
