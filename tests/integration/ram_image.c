// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: a QEMU restored from a RAM image, which has touched none of
 * its guest's RAM, is a VM keyhole attaches to and walks. The guest is
 * stopped and its RAM copied (the memfd QEMU holds, or pmemsave of
 * anonymous RAM), then a second QEMU starts at -S on that file as a
 * shared file backend without prealloc, as a VM restored or cloned from
 * a saved image starts. Its pagemap shows no page present: only the file
 * knows which pages hold the guest. Every task the guest itself reports
 * before and after the copy, unchanged, must be in `keyhole ps` of the
 * copy with the same fields, through every live technique that reads
 * such a QEMU.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ps_views.h"

static struct guest g;
static char work[] = "/var/tmp/kh-test-image.XXXXXX";
static char image[4200], sock[4200], pidfile[4200];
static int stopped, copy_pid;

static void qmp(const char *sock_path, const char *cmd)
{
	int status;
	char *out = run_capture(&status, "%s -t 300 --qmp '%s' '%s' 2>&1",
				env_or("TRUTH", "truth"), sock_path, cmd);

	CHECK(status == 0 && strstr(out, "\"return\""), "QMP %s: %s", cmd,
	      out);
	free(out);
}

static void cleanup(void)
{
	if (stopped)
		qmp(g.qmp_sock, "{\"execute\":\"cont\"}");
	stopped = 0;
	if (copy_pid > 0)
		kill(copy_pid, SIGKILL);
	unlink(image);
	unlink(sock);
	unlink(pidfile);
	rmdir(work);
}

/* QEMU's fd of its RAM memfd: the largest memfd it holds. */
static int ram_memfd(int pid)
{
	char dir[64], path[4200], link[4200];
	off_t best_size = 0;
	struct dirent *d;
	struct stat st;
	int best = -1;
	ssize_t n;
	DIR *dh;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	dh = opendir(dir);
	CHECK(dh, "cannot open %s", dir);
	while ((d = readdir(dh))) {
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "/memfd:", 7) || stat(path, &st) ||
		    st.st_size <= best_size)
			continue;
		best = atoi(d->d_name);
		best_size = st.st_size;
	}
	closedir(dh);
	CHECK(best >= 0, "QEMU pid %d holds no memfd", pid);
	return best;
}

/* The guest's RAM, as QEMU's RAM block holds it, into image. */
static void save_ram(const char *mem)
{
	char cmd[4400];
	int status;
	char *out;

	qmp(g.qmp_sock, "{\"execute\":\"stop\"}");
	stopped = 1;
	if (!strcmp(g.ram, "memfd")) {
		/* Sparse: pages the guest never touched stay holes. */
		out = run_capture(&status,
				  "cp --sparse=always /proc/%d/fd/%d '%s' 2>&1",
				  g.pid, ram_memfd(g.pid), image);
		CHECK(status == 0, "copying the guest's memfd: %s", out);
		free(out);
	} else {
		/* Anonymous RAM of a pc guest of 1 GiB: gpa is its offset. */
		CHECK(!strcmp(g.machine, "pc"),
		      "anonymous RAM is copied by gpa, which is the file offset only on pc, not %s",
		      g.machine);
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"pmemsave\",\"arguments\":{\"val\":0,\"size\":%llu,\"filename\":\"%s\"}}",
			 (unsigned long long)strtoull(mem, NULL, 10) << 30,
			 image);
		qmp(g.qmp_sock, cmd);
	}
	qmp(g.qmp_sock, "{\"execute\":\"cont\"}");
	stopped = 0;
}

/* A QEMU at -S on the image, without prealloc: nothing of it touched. */
static void start_copy(const char *mem)
{
	char args[8600];

	snprintf(args, sizeof(args),
		 "-S -accel tcg -m %s -nodefaults -display none -object memory-backend-file,id=mem,size=%s,mem-path=%s,share=on -machine %s,memory-backend=mem -name kh-restored",
		 mem, mem, image, g.machine);
	copy_pid = spawn_qemu_daemon(args, sock, pidfile);
}

/* File and shared memory QEMU has in its page tables, in KiB. */
static long rss_kib(int pid)
{
	char path[64], line[256];
	long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	CHECK(f, "no %s", path);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "RssShmem:", 9) ||
		    !strncmp(line, "RssFile:", 8))
			kib += atol(strchr(line, ':') + 1);
	fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "memmap", "pvreadv",
						  "procmem" };
	struct truth_task *before, *after;
	int nr_before, nr_after, i, j, status, matched = 0;
	struct view views[3];
	char mem[32];
	json_t *doc;
	long rss;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	guest_option(argv[1], "mem", mem, sizeof(mem));
	CHECK(mkdtemp(work), "mkdtemp");
	snprintf(image, sizeof(image), "%s/ram.img", work);
	snprintf(sock, sizeof(sock), "%s/qmp.sock", work);
	snprintf(pidfile, sizeof(pidfile), "%s/qemu.pid", work);
	atexit(cleanup);

	nr_before = guest_truth_ps(&g, &before);
	save_ram(mem);
	nr_after = guest_truth_ps(&g, &after);
	start_copy(mem);
	/*
	 * What this proves needs a QEMU that touched little of its RAM (its
	 * own program and libraries count here too), not one that mapped
	 * all of it as prealloc would.
	 */
	rss = rss_kib(copy_pid);
	fprintf(stderr, "QEMU on the image: %ld KiB of file memory mapped before keyhole\n",
		rss);
	CHECK(rss < (long)(strtoull(mem, NULL, 10) << 20) / 4,
	      "QEMU on the image mapped %ld KiB of %s before keyhole read any",
	      rss, mem);

	for (i = 0; i < 3; i++) {
		char *what = malloc(4200);

		snprintf(what, 4200, "ps -T of the restored copy via %s",
			 techniques[i]);
		views[i].what = what;
		/* Its list, of a document kept to the end. */
		doc = keyhole_json_whole(&status, "--technique %s ps -T %d",
					 techniques[i], copy_pid);
		CHECK(status == 0, "%s: exit %d: %s", what, status,
		      json_dumps(doc, 0));
		views[i].doc = doc_list(doc, "ps");
	}
	for (i = 0; i < nr_before; i++) {
		if (!stable(&before[i], after, nr_after))
			continue;
		matched++;
		for (j = 0; j < 3; j++)
			compare(&views[j], &before[i], 1);
	}
	CHECK(matched > 20, "only %d stable tasks to compare", matched);
	CHECK(count_comm(views[0].doc, "kh-threads") == 8,
	      "kh-threads has %d threads in the copy, expected 8",
	      count_comm(views[0].doc, "kh-threads"));
	fprintf(stderr, "%d stable tasks of the guest found in its restored copy by %zu techniques\n",
		matched, sizeof(techniques) / sizeof(techniques[0]));
	return 0;
}
