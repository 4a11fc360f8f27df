// SPDX-License-Identifier: GPL-2.0-only
/*
 * The L2 guest of keyhole.ko's tests: QEMU on the counter payload, found
 * and read the ordinary way (QMP, HMP gpa2hva, /proc/PID/mem) so tests can
 * hold keyhole's view against it. QEMU dies with the test (PDEATHSIG) and
 * every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt.h"

#define KT_ARGS_MAX	64
#define KT_STOP_MS	5000

/* The payload: $KT_PAYLOAD, else payload/counter.elf beside this program */
static int payload_path(char *path, size_t size)
{
	const char *env = getenv("KT_PAYLOAD");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		if (snprintf(path, size, "%s", env) >= (int)size)
			return -ENAMETOOLONG;
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			return -errno;
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (!slash)
			return -ENOENT;
		*slash = '\0';
		if (snprintf(path, size, "%s/payload/counter.elf", exe) >= (int)size)
			return -ENAMETOOLONG;
	}
	if (access(path, R_OK)) {
		fprintf(stderr, "kt: payload %s: %s (make check-kmod builds it)\n",
			path, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

static void print_log(const struct kt_l2 *l2)
{
	char path[128], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/qemu.log", l2->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (n++ < 40 && fgets(line, sizeof(line), f))
		fprintf(stderr, "qemu: %s", line);
	fclose(f);
}

static void remove_dir(struct kt_l2 *l2)
{
	static const char *const names[] = { "qmp.sock", "qemu.pid", "qemu.log" };
	char path[128];
	size_t i;

	if (!l2->dir[0])
		return;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", l2->dir, names[i]);
		unlink(path);
	}
	rmdir(l2->dir);
	l2->dir[0] = '\0';
}

/* The QEMU child: never returns */
static void exec_qemu(const struct kt_l2 *l2, char **argv)
{
	char path[128];
	int fd;

	/* the L2 must not outlive the test that started it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(path, sizeof(path), "%s/qemu.log", l2->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	execvp(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Has QEMU exited? Then say how and forget its pid. */
static bool qemu_gone(struct kt_l2 *l2)
{
	int status;

	if (waitpid(l2->pid, &status, WNOHANG) != l2->pid)
		return false;
	if (WIFEXITED(status))
		fprintf(stderr, "kt: QEMU exited with status %d\n", WEXITSTATUS(status));
	else
		fprintf(stderr, "kt: QEMU killed by signal %d\n", WTERMSIG(status));
	l2->pid = 0;
	return true;
}

/* Every vCPU counted in and every counter moved since the first look? */
static int wait_payload(struct kt_l2 *l2, unsigned int timeout_ms)
{
	uint64_t deadline = kt_now_ms() + timeout_ms;
	uint64_t first[KT_CNT_MAX_CPUS] = { 0 };
	uint64_t magic = 0, ncpus = 0;
	bool have_first = false;
	unsigned int i, moved = 0;
	int err;

	while (kt_now_ms() < deadline) {
		if (qemu_gone(l2))
			return -ECHILD;
		err = kt_l2_read(l2, KT_CNT_BASE, &magic, sizeof(magic));
		if (err)
			return err;
		if (magic == KT_CNT_MAGIC) {
			err = kt_l2_read(l2, KT_CNT_NCPUS, &ncpus, sizeof(ncpus));
			if (err)
				return err;
		}
		if (magic == KT_CNT_MAGIC && ncpus == l2->smp) {
			moved = 0;
			for (i = 0; i < l2->smp; i++) {
				uint64_t v;

				err = kt_l2_counter(l2, i, &v);
				if (err)
					return err;
				if (!have_first)
					first[i] = v;
				else if (v != first[i])
					moved++;
			}
			have_first = true;
			if (moved == l2->smp)
				return 0;
		}
		usleep(10000);
	}
	if (magic != KT_CNT_MAGIC)
		fprintf(stderr, "kt: no payload magic at GPA 0x%x after %u ms (read 0x%016llx)\n",
			KT_CNT_BASE, timeout_ms, (unsigned long long)magic);
	else if (ncpus != l2->smp)
		fprintf(stderr, "kt: %llu of %u vCPUs started after %u ms\n",
			(unsigned long long)ncpus, l2->smp, timeout_ms);
	else
		fprintf(stderr, "kt: only %u of %u counters moved after %u ms\n",
			moved, l2->smp, timeout_ms);
	return -ETIMEDOUT;
}

int kt_l2_start(struct kt_l2 *l2, const struct kt_l2_opts *opts)
{
	char payload[PATH_MAX], smp[16], mem[32], backend[96], qmp_arg[128];
	char qmp_path[96], pidfile[96];
	const char *tmp = getenv("TMPDIR");
	unsigned int timeout_ms;
	char *argv[KT_ARGS_MAX];
	size_t argc = 0, i;
	int err;

	memset(l2, 0, sizeof(*l2));
	l2->smp = opts->smp ? opts->smp : 1;
	l2->accel = opts->accel;
	l2->mem_bytes = (uint64_t)(opts->mem_mib ? opts->mem_mib : 64) << 20;
	timeout_ms = opts->timeout_ms ? opts->timeout_ms : KT_L2_START_MS;
	if (l2->smp > KT_CNT_MAX_CPUS) {
		fprintf(stderr, "kt: smp %u: the payload counts at most %u CPUs\n",
			l2->smp, KT_CNT_MAX_CPUS);
		return -EINVAL;
	}
	if (l2->mem_bytes < (4 << 20) || l2->mem_bytes > ((uint64_t)KT_L2_MEM_MAX_MIB << 20)) {
		fprintf(stderr, "kt: mem %u MiB: must be 4..%u\n", opts->mem_mib,
			KT_L2_MEM_MAX_MIB);
		return -EINVAL;
	}
	if (opts->accel != KT_ACCEL_KVM && opts->accel != KT_ACCEL_TCG)
		return -EINVAL;
	if (opts->accel == KT_ACCEL_KVM && access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "kt: /dev/kvm: %s (the L1 runner loads kvm_amd)\n",
			strerror(errno));
		return -ENODEV;
	}
	err = payload_path(payload, sizeof(payload));
	if (err)
		return err;

	if (!tmp || !*tmp || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(l2->dir, sizeof(l2->dir), "%s/kt-l2.XXXXXX", tmp);
	if (!mkdtemp(l2->dir)) {
		err = -errno;
		fprintf(stderr, "kt: mkdtemp %s: %s\n", l2->dir, strerror(errno));
		l2->dir[0] = '\0';
		return err;
	}
	snprintf(qmp_path, sizeof(qmp_path), "%s/qmp.sock", l2->dir);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", qmp_path);
	snprintf(pidfile, sizeof(pidfile), "%s/qemu.pid", l2->dir);
	snprintf(smp, sizeof(smp), "%u", l2->smp);
	snprintf(mem, sizeof(mem), "%lluM", (unsigned long long)(l2->mem_bytes >> 20));
	snprintf(backend, sizeof(backend),
		 "memory-backend-memfd,id=kt-ram,size=%s,share=on", mem);

	argv[argc++] = "qemu-system-x86_64";
	argv[argc++] = "-name";
	argv[argc++] = opts->no_thread_names ? "kt" : "kt,debug-threads=on";
	argv[argc++] = "-accel";
	argv[argc++] = opts->accel == KT_ACCEL_KVM ? "kvm" : "tcg";
	argv[argc++] = "-cpu";
	argv[argc++] = opts->accel == KT_ACCEL_KVM ? "host" : "max";
	argv[argc++] = "-smp";
	argv[argc++] = smp;
	argv[argc++] = "-m";
	argv[argc++] = mem;
	argv[argc++] = "-machine";
	if (opts->mem == KT_MEM_MEMFD) {
		argv[argc++] = "pc,memory-backend=kt-ram";
		argv[argc++] = "-object";
		argv[argc++] = backend;
	} else {
		argv[argc++] = "pc";
	}
	argv[argc++] = "-kernel";
	argv[argc++] = payload;
	if (opts->fill) {
		argv[argc++] = "-append";
		argv[argc++] = "fill";
	}
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-no-user-config";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-qmp";
	argv[argc++] = qmp_arg;
	argv[argc++] = "-pidfile";
	argv[argc++] = pidfile;
	for (i = 0; opts->extra_args && opts->extra_args[i]; i++) {
		if (argc + 1 >= KT_ARGS_MAX) {
			fprintf(stderr, "kt: too many extra QEMU arguments\n");
			remove_dir(l2);
			return -E2BIG;
		}
		argv[argc++] = (char *)opts->extra_args[i];
	}
	argv[argc] = NULL;

	l2->pid = fork();
	if (l2->pid < 0) {
		err = -errno;
		l2->pid = 0;
		remove_dir(l2);
		return err;
	}
	if (l2->pid == 0)
		exec_qemu(l2, argv);

	err = kt_qmp_open(&l2->qmp, qmp_path, timeout_ms);
	if (!err)
		err = kt_gpa2hva(l2, 0, &l2->hva0);
	if (!err)
		err = wait_payload(l2, timeout_ms);
	if (err) {
		fprintf(stderr, "kt: the L2 (%s, smp %u, %s RAM) did not come up: %s\n",
			opts->accel == KT_ACCEL_KVM ? "KVM" : "TCG", l2->smp,
			opts->mem == KT_MEM_MEMFD ? "memfd" : "anonymous",
			strerror(-err));
		print_log(l2);
		kt_l2_stop(l2);
		return err;
	}
	return 0;
}

void kt_l2_stop(struct kt_l2 *l2)
{
	char reply[256];
	uint64_t deadline;

	/* without a QMP quit there is nothing to wait for */
	if (l2->pid && (!l2->qmp ||
			kt_qmp_cmd(l2->qmp, "{\"execute\":\"quit\"}", reply,
				   sizeof(reply)) < 0))
		kill(l2->pid, SIGKILL);
	kt_qmp_close(l2->qmp);
	l2->qmp = NULL;
	if (l2->pid) {
		deadline = kt_now_ms() + KT_STOP_MS;
		while (l2->pid && waitpid(l2->pid, NULL, WNOHANG) != l2->pid) {
			if (kt_now_ms() >= deadline) {
				kill(l2->pid, SIGKILL);
				waitpid(l2->pid, NULL, 0);
				break;
			}
			usleep(10000);
		}
		l2->pid = 0;
	}
	remove_dir(l2);
}

int kt_gpa2hva(struct kt_l2 *l2, uint64_t gpa, uint64_t *hva)
{
	char cmd[64], out[512];
	unsigned long long value;
	char *is, *end;
	int err;

	snprintf(cmd, sizeof(cmd), "gpa2hva 0x%llx", (unsigned long long)gpa);
	err = kt_hmp(l2->qmp, cmd, out, sizeof(out));
	if (err)
		return err;
	/* "Host virtual address for 0x0 (pc.ram) is 0x7f...\r\n" */
	is = strstr(out, " is 0x");
	if (!is) {
		fprintf(stderr, "kt: %s: %s\n", cmd, out);
		return -ENXIO;
	}
	errno = 0;
	value = strtoull(is + 4, &end, 16);
	if (errno || end == is + 4 || !value) {
		fprintf(stderr, "kt: %s: bad address in '%s'\n", cmd, out);
		return -EPROTO;
	}
	*hva = value;
	return 0;
}

int kt_l2_read(struct kt_l2 *l2, uint64_t gpa, void *buf, size_t len)
{
	if (gpa >= l2->mem_bytes || len > l2->mem_bytes - gpa) {
		fprintf(stderr, "kt: GPA 0x%llx+%zu is outside the L2's RAM\n",
			(unsigned long long)gpa, len);
		return -ERANGE;
	}
	/* below the 3 GiB split pc.ram is one block: hva0 + gpa */
	return kt_procmem_read(l2->pid, l2->hva0 + gpa, buf, len);
}

int kt_l2_counter(struct kt_l2 *l2, unsigned int cpu, uint64_t *value)
{
	if (cpu >= KT_CNT_MAX_CPUS)
		return -EINVAL;
	return kt_l2_read(l2, kt_cnt_gpa(cpu), value, sizeof(*value));
}
