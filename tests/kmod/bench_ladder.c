// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark (not a test): the raw-access ladder through the engine, with
 * keyhole.ko's techniques beside the others, on one real Linux L2 (the
 * project's test guest, tests/guest/vm.sh, nested KVM, memfd RAM so that
 * memmap works too). For each technique, one row:
 *
 *   attach_ms	kh_vm_open: find the kernel, symbols and types
 *   read_{8,64,4096}B_us	one kh_read_phys of one random warm read
 *		(mean over the reads; halting techniques pause per call)
 *   seq_MBps	64 MiB as 64 reads of 1 MiB in one kh_read_phys
 *   ps_ms, ps_cpu_ms	one process walk (kh_tasks): wall and CPU time
 *   halted_ms	how long the technique kept the guest stopped in it
 *
 * libkeyhole is loaded with dlopen (kmod programs do not link it).
 * Nested virtualisation under TCG inflates absolute numbers: compare the
 * rows with each other.
 */
#include <dlfcn.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "libkeyhole.h"

#define NR_LIVE		2000	/* random reads per size, live techniques */
#define NR_HALTING	50	/* each one pauses the guest */
#define SEQ_CHUNK	(1u << 20)
#define SEQ_CHUNKS	64

static const char *const techniques[] = { "kmap", "memmap", "pvreadv",
					  "kread", "procmem", "kpause",
					  "ptrace" };

static char rundir[] = "/tmp/kt-ladder.XXXXXX";
static char vm_sh[4096];
static int started;
static struct guest g;

static struct {
	__typeof__(kh_ctx_new) *ctx_new;
	__typeof__(kh_ctx_free) *ctx_free;
	__typeof__(kh_vm_open) *vm_open;
	__typeof__(kh_vm_close) *vm_close;
	__typeof__(kh_vm_get_info) *vm_get_info;
	__typeof__(kh_read_phys) *read_phys;
	__typeof__(kh_tasks) *tasks;
	__typeof__(kh_task_list_free) *task_list_free;
	__typeof__(kh_vm_get_access_cost) *get_access_cost;
} lib;

static void load_lib(const char *build)
{
	char path[4200];
	void *h;

	snprintf(path, sizeof(path), "%s/lib/libkeyhole.so.0", build);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CHECK(h, "dlopen %s: %s", path, dlerror());
#define SYM(field, name)						\
	do {								\
		lib.field = (__typeof__(lib.field))dlsym(h, name);	\
		CHECK(lib.field, "%s has no %s", path, name);		\
	} while (0)
	SYM(ctx_new, "kh_ctx_new");
	SYM(ctx_free, "kh_ctx_free");
	SYM(vm_open, "kh_vm_open");
	SYM(vm_close, "kh_vm_close");
	SYM(vm_get_info, "kh_vm_get_info");
	SYM(read_phys, "kh_read_phys");
	SYM(tasks, "kh_tasks");
	SYM(task_list_free, "kh_task_list_free");
	SYM(get_access_cost, "kh_vm_get_access_cost");
#undef SYM
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void cleanup(void)
{
	char *out;
	int status;

	if (started) {
		out = run_capture(&status, "'%s' stop '%s' 2>&1", vm_sh,
				  rundir);
		free(out);
	}
	out = run_capture(&status, "rm -rf '%s'", rundir);
	free(out);
}

/* The largest RAM range: where random and sequential reads go. */
static const struct kh_ram_range *largest(const struct kh_vm_info *info)
{
	const struct kh_ram_range *best = &info->ranges[0];
	unsigned int r;

	for (r = 1; r < info->nr_ranges; r++)
		if (info->ranges[r].size > best->size)
			best = &info->ranges[r];
	return best;
}

/* Mean microseconds of one read of len at nr random GPAs, warm. */
static double random_reads(struct kh_vm *vm, const struct kh_ram_range *rr,
			   uint32_t len, unsigned int nr)
{
	static uint8_t buf[4096];
	struct kh_err err = { 0 };
	unsigned int i, pass;
	double t0 = 0;

	for (pass = 0; pass < 2; pass++) {
		srand(42);	/* the same GPAs: the second pass is warm */
		if (pass)
			t0 = now_ms();
		for (i = 0; i < nr; i++) {
			uint64_t off = ((uint64_t)rand() * 4096 +
					(uint64_t)rand() % 4096) %
				       (rr->size - len);
			struct kh_read r = { .addr = rr->gpa + off,
					     .buf = buf, .len = len };

			CHECK(lib.read_phys(vm, &r, 1, &err) == 0,
			      "read of %u bytes: %s", len, err.msg);
		}
	}
	return (now_ms() - t0) * 1e3 / nr;
}

static double sequential(struct kh_vm *vm, const struct kh_ram_range *rr,
			 uint8_t *buf)
{
	struct kh_read reads[SEQ_CHUNKS];
	struct kh_err err = { 0 };
	uint64_t start = rr->gpa + (16u << 20);
	unsigned int i;
	double t0;

	CHECK(rr->size >= (16u << 20) + SEQ_CHUNKS * (uint64_t)SEQ_CHUNK,
	      "RAM range too small for the sequential read");
	for (i = 0; i < SEQ_CHUNKS; i++)
		reads[i] = (struct kh_read){
			.addr = start + i * (uint64_t)SEQ_CHUNK,
			.buf = buf + i * (uint64_t)SEQ_CHUNK,
			.len = SEQ_CHUNK };
	t0 = now_ms();
	CHECK(lib.read_phys(vm, reads, SEQ_CHUNKS, &err) == 0,
	      "sequential read: %s", err.msg);
	return SEQ_CHUNKS * (double)SEQ_CHUNK / 1e6 / ((now_ms() - t0) / 1e3);
}

static void row(struct kh_ctx *ctx, const char *name, uint8_t *seq_buf)
{
	struct kh_vm_config cfg = { .technique = name };
	struct kh_task_list *list;
	struct kh_access_cost before, after;
	struct kh_err err = { 0 };
	const struct kh_ram_range *rr;
	struct kh_vm_info info;
	struct kh_vm *vm = NULL;
	double t0, c0, attach, ps, ps_cpu, lat[3], mbps;
	static const uint32_t sizes[] = { 8, 64, 4096 };
	unsigned int s, nr;
	char spec[32];
	int halting;

	snprintf(spec, sizeof(spec), "%d", g.pid);
	t0 = now_ms();
	if (lib.vm_open(ctx, spec, &cfg, &vm, &err)) {
		printf("%-8s unavailable: %s\n", name, err.msg);
		return;
	}
	attach = now_ms() - t0;
	lib.vm_get_info(vm, &info);
	halting = !!(info.technique_props & KH_TECHNIQUE_HALTING);
	nr = halting ? NR_HALTING : NR_LIVE;
	rr = largest(&info);
	for (s = 0; s < 3; s++)
		lat[s] = random_reads(vm, rr, sizes[s], nr);
	mbps = sequential(vm, rr, seq_buf);
	lib.get_access_cost(vm, &before);
	t0 = now_ms();
	c0 = cpu_ms();
	CHECK(!lib.tasks(vm, 0, &list, &err), "ps through %s: %s", name,
	      err.msg);
	ps = now_ms() - t0;
	ps_cpu = cpu_ms() - c0;
	lib.get_access_cost(vm, &after);
	lib.task_list_free(list);
	lib.vm_close(vm);
	printf("%-8s %9.1f %9.2f %9.2f %9.2f %9.0f %9.1f %9.1f %9.3f\n",
	       name, attach, lat[0], lat[1], lat[2], mbps, ps, ps_cpu,
	       (after.halted_ns - before.halted_ns) / 1e6);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *build = getenv("KT_BUILD"), *repo = getenv("KT_REPO");
	char truth[4200], *out;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	uint8_t *seq_buf;
	unsigned int t;
	int status;

	CHECK(build && repo, "KT_BUILD and KT_REPO must be set (tests/kmod/run)");
	snprintf(truth, sizeof(truth), "%s/guest/truth", build);
	setenv("TRUTH", truth, 1);
	load_lib(build);
	atexit(cleanup);

	snprintf(vm_sh, sizeof(vm_sh), "%s/tests/guest/vm.sh", repo);
	CHECK(mkdtemp(rundir), "mkdtemp %s", rundir);
	started = 1;
	out = run_capture(&status,
			  "'%s' start '%s' --images '%s/guest' --boot pvh --ram memfd --mem 512M --name kt-ladder --timeout 150 2>&1",
			  vm_sh, rundir, build);
	CHECK(status == 0, "vm.sh start failed: %s", out);
	fprintf(stderr, "%s", out);
	free(out);
	guest_load(&g, rundir);

	seq_buf = malloc(SEQ_CHUNKS * (size_t)SEQ_CHUNK);
	CHECK(seq_buf, "out of memory");
	CHECK(!lib.ctx_new(NULL, &ctx, &err), "%s", err.msg);
	printf("L2: Linux, nested KVM, 512 MiB memfd RAM; %u random reads per size (%u for halting techniques)\n",
	       NR_LIVE, NR_HALTING);
	printf("%-8s %9s %9s %9s %9s %9s %9s %9s %9s\n", "name",
	       "attach_ms", "read8_us", "read64_us", "read4K_us", "seq_MBps",
	       "ps_ms", "ps_cpu_ms", "halted_ms");
	/* The kernel's profile is built once per context: not in a row. */
	row(ctx, "procmem", seq_buf);
	printf("(the row above built the profile; the rows below share it)\n");
	for (t = 0; t < sizeof(techniques) / sizeof(techniques[0]); t++)
		row(ctx, techniques[t], seq_buf);
	lib.ctx_free(ctx);
	free(seq_buf);
	return KH_PASS;
}
