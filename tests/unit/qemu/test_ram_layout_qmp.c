// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest RAM layout and the access techniques.
 *
 * First the pure parsers against replies recorded from QEMU 7.2 (in
 * tests/unit/data/, see README.md there). Then, when qemu-system-x86_64 is
 * installed, against a live paused QEMU (-S: RAM is laid out, no guest
 * runs): the QMP and maps layouts must agree, bytes written with
 * /proc/PID/mem must read back through every technique, a busy QMP socket
 * must fail fast, anonymous RAM without QMP must be refused, and reads
 * after QEMU exits must say -ESRCH. Exits 4 (skip) after the recorded part
 * when there is no QEMU to start.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "access/ram_backing.h"
#include "access/technique.h"
#include "qemu/ram_layout.h"
#include "qemu/ram_layout_parse.h"
#include "qemu/qmp.h"
#include "qemu/process.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define G4 (4 * GiB)

static char data_dir[4096];

static char *slurp(const char *name)
{
	char path[8192];
	struct stat st;
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	f = fopen(path, "r");
	CHECK(f, "cannot open %s", path);
	CHECK(!fstat(fileno(f), &st), "stat %s", path);
	buf = malloc(st.st_size + 1);
	CHECK(buf && fread(buf, 1, st.st_size, f) == (size_t)st.st_size,
	      "read %s", path);
	buf[st.st_size] = '\0';
	fclose(f);
	return buf;
}

struct want {
	uint64_t gpa, size, offset;
	const char *region;
};

static void check_recorded(const char *tag, const struct want *want,
			   unsigned int nr_want)
{
	char ids[KH_MEMDEV_MAX][KH_REGION_NAME], name[256];
	const char *names[KH_MEMDEV_MAX];
	struct kh_mtree_ram ram[KH_LAYOUT_MAX_RANGES];
	struct kh_err err = { 0 };
	unsigned int nr_ids, nr, i;
	json_t *memdev;
	char *text;
	int r;

	snprintf(name, sizeof(name), "qemu72-%s.memdev.json", tag);
	text = slurp(name);
	memdev = json_loads(text, 0, NULL);
	CHECK(memdev, "%s is not JSON", name);
	free(text);
	r = kh_parse_memdev_ids(memdev, ids, KH_MEMDEV_MAX, &nr_ids, &err);
	CHECK(!r && nr_ids, "%s: %d %s", tag, r, err.msg);
	json_decref(memdev);
	for (i = 0; i < nr_ids; i++)
		names[i] = ids[i];

	snprintf(name, sizeof(name), "qemu72-%s.mtree.txt", tag);
	text = slurp(name);
	r = kh_parse_mtree_ram(text, names, nr_ids, ram, KH_LAYOUT_MAX_RANGES,
			       &nr, &err);
	free(text);
	CHECK(!r, "%s: %s", tag, err.msg);
	CHECK(nr == nr_want, "%s: %u ranges, want %u", tag, nr, nr_want);
	for (i = 0; i < nr; i++)
		CHECK(ram[i].gpa == want[i].gpa &&
		      ram[i].size == want[i].size &&
		      ram[i].offset == want[i].offset &&
		      !strcmp(ram[i].region, want[i].region),
		      "%s range %u: %" PRIx64 "+%" PRIx64 " @%" PRIx64 " %s",
		      tag, i, ram[i].gpa, ram[i].size, ram[i].offset,
		      ram[i].region);
}

/* What the machine computes must match what QEMU really did. */
static void check_split(const char *machine, uint64_t ram, uint64_t maxb,
			uint64_t want_below, uint64_t want_above)
{
	struct kh_err err = { 0 };
	uint64_t below, above;
	int r;

	r = kh_ram_split(machine, ram, maxb, &below, &above, &err);
	CHECK(!r, "%s: %s", machine, err.msg);
	CHECK(below == want_below && above == want_above,
	      "%s %" PRIu64 " MiB: below %" PRIx64 " above %" PRIx64, machine,
	      ram >> 20, below, above);
}

static void test_recorded(void)
{
	static const struct want pc_default[] = {
		{ 0, 0xc0000, 0, "pc.ram" },
		{ 0x100000, 0x7f00000, 0x100000, "pc.ram" },
	};
	static const struct want pc_1g[] = {
		{ 0, 0xc0000, 0, "pc.ram" },
		{ 0x100000, 0x3ff00000, 0x100000, "pc.ram" },
	};
	static const struct want pc_4g[] = {
		{ 0, 0xc0000, 0, "pc.ram" },
		{ 0x100000, 0xbff00000, 0x100000, "pc.ram" },
		{ G4, 0x40000000, 0xc0000000, "pc.ram" },
	};
	static const struct want pc_4g_file[] = {
		{ 0, 0xc0000, 0, "ram0" },
		{ 0x100000, 0xbff00000, 0x100000, "ram0" },
		{ G4, 0x40000000, 0xc0000000, "ram0" },
	};
	static const struct want q35_2g[] = {
		{ 0, 0xc0000, 0, "pc.ram" },
		{ 0x100000, 0x7ff00000, 0x100000, "pc.ram" },
	};
	static const struct want q35_4g[] = {
		{ 0, 0xc0000, 0, "pc.ram" },
		{ 0x100000, 0x7ff00000, 0x100000, "pc.ram" },
		{ G4, 0x80000000, 0x80000000, "pc.ram" },
	};
	static const struct want q35_3g_memfd[] = {
		{ 0, 0xc0000, 0, "mem" },
		{ 0x100000, 0x7ff00000, 0x100000, "mem" },
		{ G4, 0x40000000, 0x80000000, "mem" },
	};
	static const struct want pc_vga[] = {	/* vga-lowmem at 0xa0000 */
		{ 0, 0xa0000, 0, "pc.ram" },
		{ 0x100000, 0x1ff00000, 0x100000, "pc.ram" },
	};
	static const struct want q35_numa2[] = {
		{ 0, 0xc0000, 0, "m0" },
		{ 0x100000, 0x3ff00000, 0x100000, "m0" },
		{ 0x40000000, 0x40000000, 0, "m1" },
	};
#define REC(tag, w) check_recorded(tag, w, sizeof(w) / sizeof(w[0]))
	REC("pc-default", pc_default);
	REC("pc-1g", pc_1g);
	REC("pc-4g", pc_4g);
	REC("pc-4g-file", pc_4g_file);
	REC("q35-2g", q35_2g);
	REC("q35-4g", q35_4g);
	REC("q35-3g-memfd", q35_3g_memfd);
	REC("pc-vga", pc_vga);
	REC("q35-numa2", q35_numa2);

	/* The splits QEMU made above, and its documented examples. */
	check_split("", 128 * MiB, 0, 128 * MiB, 0);
	check_split("pc", 1 * GiB, 0, 1 * GiB, 0);
	check_split("pc", 4 * GiB, 0, 3 * GiB, 1 * GiB);
	check_split("pc-i440fx-7.2", 0xe0000000, 0, 3 * GiB, 512 * MiB);
	check_split("pc", 0xdff00000, 0, 0xdff00000, 0);
	check_split("pc-i440fx-1.7", 4 * GiB, 0, 0xe0000000, 512 * MiB);
	check_split("pc", 4 * GiB, 2 * GiB, 2 * GiB, 2 * GiB);
	check_split("pc", 3968 * MiB, 4 * GiB, 3968 * MiB, 0);
	check_split("q35", 2 * GiB, 0, 2 * GiB, 0);
	check_split("q35", 3 * GiB, 0, 2 * GiB, 1 * GiB);
	check_split("pc-q35-7.2", 4 * GiB, 0, 2 * GiB, 2 * GiB);
	check_split("q35", 0xb0000000, 0, 2 * GiB, 0x30000000);
	check_split("q35", 0xaff00000, 0, 0xaff00000, 0);
	{
		struct kh_err err = { 0 };
		uint64_t b, a;

		CHECK(kh_ram_split("microvm", GiB, 0, &b, &a, &err) ==
		      -ENOTSUP && strstr(err.msg, "-qmp unix:"),
		      "microvm: %s", err.msg);
	}
}

static void test_gpa2hva(void)
{
	struct kh_err err = { 0 };
	uint64_t hva;

	CHECK(!kh_parse_gpa2hva("Host virtual address for 0x100000 (mem) is 0x7f98d40ff000\r\n",
				0x100000, "mem", &hva, &err) &&
	      hva == 0x7f98d40ff000ull, "%s", err.msg);
	CHECK(kh_parse_gpa2hva("Host virtual address for 0xfffffff0 (pc.bios) is 0x7f99dac3fff0\r\n",
			       0xfffffff0, "mem", &hva, &err) == -EPROTO,
	      "wrong region accepted");
	CHECK(kh_parse_gpa2hva("No memory is mapped at address 0x100000000\r\n",
			       G4, NULL, &hva, &err) == -EPROTO &&
	      strstr(err.msg, "No memory is mapped"), "%s", err.msg);
	CHECK(kh_parse_gpa2hva("Memory at address 0xa0000 is not RAM\r\n",
			       0xa0000, NULL, &hva, &err) == -EPROTO,
	      "not RAM accepted");
}

static void test_maps(void)
{
	static const char maps[] =
		"55d0c0000000-55d0c0100000 r-xp 00000000 fe:01 123   /usr/bin/qemu-system-x86_64\n"
		"7f0000000000-7f0040000000 rwxp 00000000 00:00 0 \n"
		"7f98d3fff000-7f9913fff000 rw-s 00000000 00:01 1028                       /memfd:memory-backend-memfd (deleted)\n"
		"7f9913fff000-7f9993fff000 rw-s 40000000 00:01 1028                       /memfd:memory-backend-memfd (deleted)\n"
		"7f9a00000000-7f9a00100000 rw-s 00000000 00:01 1029                       /memfd:memory-backend-memfd (deleted)\n"
		"7f9b00000000-7f9b00001000 rw-s 00000000 00:01 77                         /memfd:other (deleted)";
	struct kh_layout layout;
	struct kh_err err = { 0 };
	uint64_t hva, size;
	int r;

	r = kh_parse_maps_backend(maps, strlen(maps),
				  "/memfd:memory-backend-memfd", 3 * GiB,
				  &hva, &size, &err);
	CHECK(!r && hva == 0x7f98d3fff000ull && size == 3 * GiB,
	      "%d %s %" PRIx64 " %" PRIx64, r, err.msg, hva, size);
	/* Without a size to tell them apart, two memfds are ambiguous. */
	r = kh_parse_maps_backend(maps, strlen(maps),
				  "/memfd:memory-backend-memfd", 1, &hva,
				  &size, &err);
	CHECK(r == -ENOTUNIQ, "%d %s", r, err.msg);
	r = kh_parse_maps_backend(maps, strlen(maps), "/dev/shm/vm", 1, &hva,
				  &size, &err);
	CHECK(r == -ENOENT, "%d %s", r, err.msg);

	CHECK(!kh_layout_from_split(0x7f98d3fff000ull, 2 * GiB, GiB, &layout,
				    &err), "%s", err.msg);
	CHECK(layout.nr == 3 && layout.range[0].size == 0xa0000 &&
	      layout.range[1].gpa == 0x100000 &&
	      layout.range[1].hva == 0x7f98d40ff000ull &&
	      layout.range[2].gpa == G4 &&
	      layout.range[2].hva == 0x7f98d3fff000ull + 2 * GiB,
	      "split layout");
	CHECK(kh_layout_find(&layout, 0x9ffff) == &layout.range[0], "find");
	CHECK(!kh_layout_find(&layout, 0xa0000), "find hole");
	CHECK(kh_layout_find(&layout, G4 + GiB - 1) == &layout.range[2],
	      "find top");
	CHECK(!kh_layout_find(&layout, G4 + GiB), "find past end");
	CHECK(kh_layout_ram_size(&layout) == 3 * GiB - 0x60000, "size");
}

/* ---- Live QEMU ---- */

struct qemu {
	pid_t pid;
	char sock[108];
};

static struct qemu vms[3];
static char vm_name[64];	/* unique, so parallel runs do not collide */

static void kill_vms(void)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		if (vms[i].pid > 0) {
			kill(vms[i].pid, SIGKILL);
			waitpid(vms[i].pid, NULL, 0);
			vms[i].pid = 0;
		}
		if (vms[i].sock[0])
			unlink(vms[i].sock);
	}
}

static const char *qemu_bin(void)
{
	static const char *const bins[] = {
		"/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64",
	};
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (!access(bins[i], X_OK))
			return bins[i];
	return NULL;
}

static void start_qemu(struct qemu *q, const char *name, const char *extra[])
{
	const char *argv[32];
	char qmp[160];
	unsigned int n = 0, i;
	struct stat st;

	snprintf(q->sock, sizeof(q->sock), "/tmp/kh-test-%d-%s.sock",
		 (int)getpid(), name);
	unlink(q->sock);
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", q->sock);
	argv[n++] = qemu_bin();
	argv[n++] = "-accel";
	argv[n++] = "tcg";
	argv[n++] = "-S";
	argv[n++] = "-nodefaults";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-name";
	argv[n++] = vm_name;
	argv[n++] = "-qmp";
	argv[n++] = qmp;
	for (i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	q->pid = fork();
	CHECK(q->pid >= 0, "fork");
	if (!q->pid) {
		int fd = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 0);
		dup2(fd, 1);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	for (i = 0; i < 200 && stat(q->sock, &st); i++)
		usleep(20000);
	CHECK(!stat(q->sock, &st), "QEMU did not create %s", q->sock);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void write_mem(pid_t pid, uint64_t hva, const void *buf, size_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0, "open %s", path);
	CHECK(pwrite(fd, buf, len, hva) == (ssize_t)len, "write guest RAM");
	close(fd);
}

static void open_acc(struct kh_access *acc, const struct kh_access_ops *ops,
		     pid_t pid, const struct kh_layout *layout)
{
	struct kh_err err = { 0 };

	memset(acc, 0, sizeof(*acc));
	acc->ops = ops;
	acc->pid = pid;
	acc->pidfd = syscall(SYS_pidfd_open, pid, 0);
	acc->pagemap_fd = -1;
	acc->layout = layout;
	CHECK(!ops->open(acc, &err), "%s open: %s", ops->name, err.msg);
}

static void close_acc(struct kh_access *acc)
{
	acc->ops->close(acc);
	close(acc->pidfd);
}

static void bench(struct kh_access *acc)
{
	static char buf[256][4096];
	struct kh_read rd[256];
	unsigned int i, iters = 2000;
	double t0 = 0, single, small, batch;

	/* 256 pages, touched before timing: no host page faults. */
	for (i = 0; i < iters; i++) {
		rd[0].addr = 0x100000 + (uint64_t)(i * 7919 % 256) * 4096;
		rd[0].buf = buf[0];
		rd[0].len = 4096;
		if (i == 256)
			t0 = now_us();
		CHECK(acc->ops->read(acc, rd, 1) == 0, "bench read");
	}
	single = (now_us() - t0) / (iters - 256);
	t0 = now_us();
	for (i = 0; i < iters; i++) {
		rd[0].addr = 0x100000 + (uint64_t)(i * 7919 % 256) * 4096;
		rd[0].len = 64;
		CHECK(acc->ops->read(acc, rd, 1) == 0, "bench read");
	}
	small = (now_us() - t0) / iters;
	for (i = 0; i < 256; i++) {
		rd[i].addr = 0x100000 + (uint64_t)(i * 7919 % 256) * 4096 + 64;
		rd[i].buf = buf[i];
		rd[i].len = 64;
	}
	t0 = now_us();
	for (i = 0; i < 200; i++)
		CHECK(acc->ops->read(acc, rd, 256) == 0, "bench batch");
	batch = (now_us() - t0) / (200 * 256);
	fprintf(stderr, "%-8s one 4 KiB read %.2f us, one 64 B read %.2f us, 64 B reads in batches of 256 %.3f us each\n",
		acc->ops->name, single, small, batch);
}

/*
 * Writes the page at gpa through QEMU's RAM memfd, not through QEMU: the
 * file holds it, QEMU's page tables do not.
 */
static void file_only_page(const struct kh_access *acc, uint64_t gpa)
{
	const struct kh_ram_range *rr = kh_layout_find(acc->layout, gpa);
	struct kh_ram_backing b;
	char self[64];
	int ro, rw;

	CHECK(rr, "gpa 0x%" PRIx64 " is not RAM", gpa);
	CHECK(!kh_ram_backing_find(acc->pid, rr->hva + (gpa - rr->gpa), 4096,
				   &b), "no mapping of gpa 0x%" PRIx64, gpa);
	ro = kh_ram_backing_open(acc->pid, b.inode);
	CHECK(ro >= 0, "cannot open QEMU's memfd: %s", strerror(-ro));
	snprintf(self, sizeof(self), "/proc/self/fd/%d", ro);
	rw = open(self, O_RDWR | O_CLOEXEC);
	CHECK(rw >= 0, "cannot reopen QEMU's memfd to write: %s",
	      strerror(errno));
	CHECK(pwrite(rw, "kh", 2, b.offset + rr->hva + (gpa - rr->gpa) -
		     b.start) == 2, "pwrite: %s", strerror(errno));
	close(rw);
	close(ro);
}

static void test_live_memfd(void)
{
	static const char *extra[] = {
		"-M", "q35", "-m", "3G", "-object",
		"memory-backend-memfd,id=mem,size=3G,share=on",
		"-machine", "memory-backend=mem", NULL,
	};
	struct kh_layout lq, lm;
	struct kh_target t;
	struct kh_err err = { 0 };
	struct kh_qmp *qmp, *qmp2;
	struct kh_access acc[2];
	struct kh_residency *res;
	unsigned int i, j;
	uint8_t map[4], map8[8];
	char pat[64], pat2[64];
	char b[6][64];
	double t0;
	int r;

	start_qemu(&vms[0], "memfd", extra);

	/* All three spellings of the VM find it. */
	CHECK(!kh_target_resolve(vm_name, &t, &err), "%s", err.msg);
	CHECK(t.pid == vms[0].pid, "by name: pid %d", (int)t.pid);
	CHECK(!kh_target_resolve(vms[0].sock, &t, &err), "%s", err.msg);
	CHECK(t.pid == vms[0].pid && !strcmp(t.qmp_path, vms[0].sock),
	      "by socket: pid %d", (int)t.pid);
	snprintf(pat, sizeof(pat), "%d", (int)vms[0].pid);
	CHECK(!kh_target_resolve(pat, &t, &err), "%s", err.msg);
	CHECK(t.ram_memfd && t.ram_size == 3 * GiB &&
	      !strcmp(t.machine, "q35") && !strcmp(t.name, vm_name) &&
	      !strcmp(t.qmp_path, vms[0].sock), "by pid: target fields");

	t0 = now_us();
	CHECK(!kh_qmp_connect(t.qmp_path, 2000, &qmp, &err), "%s", err.msg);
	CHECK(kh_qmp_peer_pid(qmp) == vms[0].pid, "peer pid");
	fprintf(stderr, "QMP connect %.0f us\n", now_us() - t0);

	/* One client at a time: a second one must fail, and quickly. */
	t0 = now_us();
	r = kh_qmp_connect(t.qmp_path, 300, &qmp2, &err);
	CHECK(r == -EBUSY && strstr(err.msg, "in use by another client"),
	      "busy socket: %d %s", r, err.msg);
	CHECK(now_us() - t0 < 1e6, "busy detection took too long");
	fprintf(stderr, "busy: %s\n", err.msg);

	r = kh_qmp_execute(qmp, "no-such-command", NULL, NULL, &err);
	CHECK(r == -EREMOTEIO && strstr(err.msg, "has not been found"),
	      "%d %s", r, err.msg);

	t0 = now_us();
	CHECK(!kh_layout_from_qmp(qmp, &lq, &err), "%s", err.msg);
	fprintf(stderr, "layout from QMP %.0f us\n", now_us() - t0);
	CHECK(lq.nr == 3 && kh_layout_ram_size(&lq) == 3 * GiB - 0x40000,
	      "QMP layout: %u ranges %" PRIu64, lq.nr,
	      kh_layout_ram_size(&lq));
	CHECK(lq.range[2].gpa == G4 && lq.range[2].size == GiB,
	      "high RAM");
	kh_qmp_close(qmp);

	CHECK(!kh_layout_from_maps(&t, &lm, &err), "%s", err.msg);
	/* Every maps range lies in a QMP range with the same translation. */
	for (i = 0; i < lm.nr; i++) {
		const struct kh_ram_range *m = &lm.range[i];
		const struct kh_ram_range *q = kh_layout_find(&lq, m->gpa);

		CHECK(q && m->size <= q->size - (m->gpa - q->gpa) &&
		      m->hva == q->hva + (m->gpa - q->gpa),
		      "maps range %u (%" PRIx64 "+%" PRIx64 ") disagrees with QMP",
		      i, m->gpa, m->size);
	}
	CHECK(lm.nr == 3 && lm.range[2].gpa == G4 && lm.range[2].size == GiB,
	      "maps high RAM");

	/* Write through /proc/PID/mem, read through each technique. */
	for (i = 0; i < sizeof(pat); i++) {
		pat[i] = (char)(i * 37 + 1);
		pat2[i] = (char)(i * 11 + 5);
	}
	write_mem(vms[0].pid, lq.range[1].hva + 0xfffff0 - 0x100000, pat,
		  sizeof(pat));
	write_mem(vms[0].pid, lq.range[2].hva + 0x1234, pat2, sizeof(pat2));

	open_acc(&acc[0], kh_access_lookup("procmem"), vms[0].pid, &lm);
	open_acc(&acc[1], kh_access_lookup("pvreadv"), vms[0].pid, &lq);
	for (j = 0; kh_access_all[j]; j++)
		CHECK(kh_access_lookup(kh_access_all[j]->name) ==
		      kh_access_all[j], "technique %s not found by name",
		      kh_access_all[j]->name);
	CHECK(j >= 2, "only %u techniques", j);
	CHECK(!kh_access_lookup("nope"), "lookup of unknown");

	for (j = 0; j < 2; j++) {
		struct kh_read rd[6] = {
			{ 0xfffff0, b[0], 16, 1 },	/* adjacent pair */
			{ 0x1000000, b[1], 48, 1 },
			{ 0x30000000, b[2], 8, 1 },	/* untouched: zero */
			{ 0xc0000000, b[3], 8, 1 },	/* not RAM */
			{ G4 + 0x1234, b[4], 64, 1 },
			{ 0xfffff0, b[5], 0, 1 },	/* empty */
		};

		memset(b, 0xee, sizeof(b));
		r = acc[j].ops->read(&acc[j], rd, 6);
		CHECK(r == 1, "%s: %d failed", acc[j].ops->name, r);
		for (i = 0; i < 6; i++)
			CHECK(rd[i].result == (i == 3 ? -EFAULT : 0),
			      "%s elem %u: %d", acc[j].ops->name, i,
			      rd[i].result);
		CHECK(!memcmp(b[0], pat, 16) && !memcmp(b[1], pat + 16, 48),
		      "%s: bytes at 0xfffff0", acc[j].ops->name);
		CHECK(!memcmp(b[4], pat2, 64), "%s: bytes above 4 GiB",
		      acc[j].ops->name);
		for (i = 0; i < 8; i++)
			CHECK(!b[2][i], "%s: untouched RAM not zero",
			      acc[j].ops->name);
		CHECK(acc[j].elems == 6 && acc[j].bytes == 136 &&
		      acc[j].calls >= 1 && acc[j].calls <= 4,
		      "%s counters: %" PRIu64 " calls %" PRIu64 " elems %" PRIu64 " bytes",
		      acc[j].ops->name, (uint64_t)acc[j].calls,
		      (uint64_t)acc[j].elems, (uint64_t)acc[j].bytes);
		fprintf(stderr, "%s: 6-element batch in %" PRIu64 " calls\n",
			acc[j].ops->name, (uint64_t)acc[j].calls);
	}

	/*
	 * Residency: written pages exist, a never-touched page does not
	 * (in QEMU's page tables, nor as data in its memfd).
	 */
	CHECK(!kh_residency_new(&acc[0], &res, &err), "%s", err.msg);
	CHECK(!kh_residency_get(res, 0xfff000, 0x2000, map, &err),
	      "%s", err.msg);
	CHECK(map[0] == 1 && map[1] == 1, "written pages resident %d %d",
	      map[0], map[1]);
	CHECK(!kh_residency_get(res, 0x20000000, 0x4000, map, &err),
	      "%s", err.msg);
	CHECK(!map[0] && !map[1] && !map[2] && !map[3],
	      "untouched pages resident");
	CHECK(kh_residency_get(res, 0x20000001, 0x1000, map, &err) ==
	      -EINVAL, "unaligned residency accepted");
	kh_residency_free(res);
	/*
	 * A page only the memfd holds (written to the file, never mapped by
	 * QEMU, as in a QEMU restored from a RAM image) is resident too.
	 */
	file_only_page(&acc[0], 0x20008000);
	CHECK(!kh_residency_new(&acc[0], &res, &err), "%s", err.msg);
	CHECK(!kh_residency_get(res, 0x20004000, 0x8000, map8, &err),
	      "%s", err.msg);
	for (i = 0; i < 8; i++)
		CHECK(map8[i] == (i == 4), "page %u of 8 around a page only the file holds: resident %d",
		      i, map8[i]);
	kh_residency_free(res);

	bench(&acc[0]);
	bench(&acc[1]);

	/* Once QEMU is gone, every technique says -ESRCH. */
	CHECK(!kh_access_alive(&acc[0]), "alive");
	kill(vms[0].pid, SIGKILL);
	waitpid(vms[0].pid, NULL, 0);
	vms[0].pid = 0;
	CHECK(kh_access_alive(&acc[0]) == -ESRCH, "dead");
	for (j = 0; j < 2; j++) {
		struct kh_read rd = { 0x100000, b[0], 8, 1 };

		r = acc[j].ops->read(&acc[j], &rd, 1);
		CHECK(r == -ESRCH && rd.result == -ESRCH, "%s after exit: %d",
		      acc[j].ops->name, r);
	}
	close_acc(&acc[0]);
	close_acc(&acc[1]);
}

static void test_live_anon(void)
{
	static const char *extra[] = { "-M", "pc", "-m", "4G", NULL };
	struct kh_layout layout;
	struct kh_target t;
	struct kh_err err = { 0 };
	struct kh_qmp *qmp;
	char spec[32];
	int r;

	start_qemu(&vms[1], "anon", extra);
	snprintf(spec, sizeof(spec), "%d", (int)vms[1].pid);
	CHECK(!kh_target_resolve(spec, &t, &err), "%s", err.msg);
	CHECK(!t.ram_memfd && !t.mem_path[0] && t.ram_size == 4 * GiB,
	      "anonymous target");
	r = kh_layout_from_maps(&t, &layout, &err);
	CHECK(r == -ENOTSUP && strstr(err.msg, "QMP layout") &&
	      strstr(err.msg, "memory-backend-memfd"), "%d %s", r, err.msg);
	t.qmp_path[0] = '\0';
	r = kh_layout_from_maps(&t, &layout, &err);
	CHECK(r == -ENOTSUP && strstr(err.msg, "-qmp unix:") &&
	      strstr(err.msg, "memory-backend-memfd"), "%d %s", r, err.msg);
	fprintf(stderr, "anonymous: %s\n", err.msg);

	CHECK(!kh_qmp_connect(vms[1].sock, 2000, &qmp, &err), "%s", err.msg);
	CHECK(!kh_layout_from_qmp(qmp, &layout, &err), "%s", err.msg);
	kh_qmp_close(qmp);
	CHECK(layout.nr == 3 && layout.range[1].size == 0xbff00000 &&
	      layout.range[2].gpa == G4 && layout.range[2].size == GiB &&
	      layout.range[2].hva == layout.range[0].hva + 3 * GiB,
	      "pc 4G layout");

	/* Two VMs with one name are ambiguous. */
	start_qemu(&vms[2], "twin", (const char *[]){ NULL });
	r = kh_target_resolve(vm_name, &t, &err);
	CHECK(r == -ENOTUNIQ && strstr(err.msg, "ambiguous"), "%d %s", r,
	      err.msg);
}

int main(int argc, char **argv)
{
	const char *env = getenv("KH_TEST_DATA");
	char *slash;

	/* tests/unit/data next to this source file, when run from the
	 * repository root as the runner does. */
	if (env) {
		snprintf(data_dir, sizeof(data_dir), "%s", env);
	} else {
		snprintf(data_dir, sizeof(data_dir), "%s", __FILE__);
		slash = strrchr(data_dir, '/');
		if (slash)
			strcpy(slash + 1, "data");
		else
			strcpy(data_dir, "data");
	}
	test_recorded();
	test_gpa2hva();
	test_maps();

	if (!qemu_bin())
		SKIP("recorded replies pass; no qemu-system-x86_64 for the live part");
	if (geteuid())
		SKIP("recorded replies pass; the live part needs root (ptrace access to QEMU)");
	snprintf(vm_name, sizeof(vm_name), "kh-test-%d", (int)getpid());
	atexit(kill_vms);
	test_live_memfd();
	test_live_anon();
	return KH_PASS;
}
