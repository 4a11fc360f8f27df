// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark (not a test): the cost of reading guest RAM, on one KVM L2
 * whose payload filled its RAM, by every path side by side. Prints
 * "key value" lines; times are nanoseconds, median and p99.
 *
 *   read_{map,local,procmem,pvreadv}_{8,64,4096}B_{median,p99}_ns
 *	warm random reads of that size: through keyhole's mapping, from a
 *	local malloc'd buffer of the same size (the floor), pread of
 *	/proc/PID/mem, process_vm_readv. Each sample is the mean of a
 *	group of reads, so the clock's own cost does not swamp 8 B reads.
 *   first_touch_map_{median,p99}_ns
 *	the first read of each page of a fresh mapping: one fault each
 *   batch_{ioctl,pvreadv}_{1,16,256}_{median,p99}_ns
 *	one call reading that many random 64 B pieces: KEYHOLE_READ vs
 *	process_vm_readv with as many iovecs
 *   ratio_* derived from the medians: map vs local, procmem vs map
 *
 * Nested virtualisation under TCG inflates absolute numbers: compare
 * the paths with each other, not with bare metal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/vmfd.h"

#define MEM_MIB 128
#define AREA_GPA (4ULL << 20)
#define AREA_LEN (64ULL << 20)
#define SAMPLES 2000
#define GROUP 16		/* reads per timed sample */
#define TOUCH_PAGES 4096
#define MAX_BATCH 256
#define PIECE 64

enum path { MAP, LOCAL, PROCMEM, PVREADV };
static const char *const path_name[] = { "map", "local", "procmem", "pvreadv" };

static uint64_t samples[SAMPLES > TOUCH_PAGES ? SAMPLES : TOUCH_PAGES];
static volatile uint64_t sink;
static uint8_t scratch[4096 * GROUP];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Prints key_median_ns and key_p99_ns of n samples; returns the median. */
static uint64_t report(const char *key, uint64_t *s, unsigned int n)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	printf("%s_median_ns %llu\n", key, (unsigned long long)s[n / 2]);
	printf("%s_p99_ns %llu\n", key, (unsigned long long)s[n * 99 / 100]);
	return s[n / 2];
}

struct ctx {
	pid_t pid;
	int vmfd, memfd;
	uint64_t hva;		/* QEMU's address of AREA_GPA */
	const uint8_t *map;	/* the mapping of AREA_GPA */
	uint8_t *local;
};

static void read_one(struct ctx *c, enum path p, uint64_t off, size_t size,
		     uint8_t *dst)
{
	struct iovec l = { .iov_base = dst, .iov_len = size };
	struct iovec r = { .iov_base = (void *)(uintptr_t)(c->hva + off),
			   .iov_len = size };

	switch (p) {
	case MAP:
		memcpy(dst, c->map + off, size);
		break;
	case LOCAL:
		memcpy(dst, c->local + off, size);
		break;
	case PROCMEM:
		CHECK(pread(c->memfd, dst, size, (off_t)(c->hva + off)) ==
		      (ssize_t)size, "pread /proc/PID/mem");
		break;
	case PVREADV:
		CHECK(process_vm_readv(c->pid, &l, 1, &r, 1, 0) == (ssize_t)size,
		      "process_vm_readv");
		break;
	}
}

static uint64_t bench_reads(struct ctx *c, enum path p, size_t size)
{
	static uint64_t offs[GROUP];
	char key[64];
	unsigned int i, j;
	uint64_t t0;

	for (i = 0; i < SAMPLES; i++) {
		for (j = 0; j < GROUP; j++)
			offs[j] = (random() % (AREA_LEN / size)) * size;
		t0 = now_ns();
		for (j = 0; j < GROUP; j++)
			read_one(c, p, offs[j], size, scratch + j * 4096);
		samples[i] = (now_ns() - t0) / GROUP;
		sink += scratch[0];
	}
	snprintf(key, sizeof(key), "read_%s_%zuB", path_name[p], size);
	return report(key, samples, SAMPLES);
}

/*
 * One untimed pass of random reads per path: whichever path is timed
 * first would otherwise pay the cold caches and TLBs (the L0 emulator's
 * among them) for all of them.
 */
static void warm_up(struct ctx *c)
{
	unsigned int i;
	enum path p;

	for (p = MAP; p <= PVREADV; p++)
		for (i = 0; i < SAMPLES * GROUP; i++)
			read_one(c, p, (random() % (AREA_LEN / 64)) * 64, 64,
				 scratch);
	sink += scratch[0];
}

static void bench_first_touch(struct ctx *c)
{
	const uint8_t *fresh;
	unsigned int i;
	uint64_t t0;

	fresh = kh_map(c->vmfd, AREA_GPA, (uint64_t)TOUCH_PAGES * 4096);
	CHECK(fresh != MAP_FAILED, "mmap: %s", strerror(errno));
	for (i = 0; i < TOUCH_PAGES; i++) {
		t0 = now_ns();
		sink += *(volatile const uint64_t *)(fresh + (uint64_t)i * 4096);
		samples[i] = now_ns() - t0;
	}
	report("first_touch_map", samples, TOUCH_PAGES);
	munmap((void *)fresh, (uint64_t)TOUCH_PAGES * 4096);
}

static void bench_batches(struct ctx *c, unsigned int n)
{
	static struct keyhole_read_entry e[MAX_BATCH];
	static struct iovec l[MAX_BATCH], r[MAX_BATCH];
	static uint8_t bufs[MAX_BATCH][PIECE];
	struct keyhole_read rd = { .size = sizeof(rd), .nr = n,
				   .entry_size = sizeof(e[0]),
				   .entries = (uintptr_t)e };
	char key[64];
	unsigned int i, j, rounds = n >= 256 ? 200 : SAMPLES;
	uint64_t t0, off;

	for (i = 0; i < rounds; i++) {
		for (j = 0; j < n; j++) {
			off = (random() % (AREA_LEN / PIECE)) * PIECE;
			e[j] = (struct keyhole_read_entry){ .gpa = AREA_GPA + off,
				.buf = (uintptr_t)bufs[j], .len = PIECE };
		}
		t0 = now_ns();
		CHECK(ioctl(c->vmfd, KEYHOLE_READ, &rd) == 0 && !rd.nr_failed,
		      "KEYHOLE_READ");
		samples[i] = now_ns() - t0;
	}
	snprintf(key, sizeof(key), "batch_ioctl_%u", n);
	report(key, samples, rounds);

	for (i = 0; i < rounds; i++) {
		for (j = 0; j < n; j++) {
			off = (random() % (AREA_LEN / PIECE)) * PIECE;
			l[j] = (struct iovec){ bufs[j], PIECE };
			r[j] = (struct iovec){ (void *)(uintptr_t)(c->hva + off), PIECE };
		}
		t0 = now_ns();
		CHECK(process_vm_readv(c->pid, l, n, r, n, 0) == (ssize_t)n * PIECE,
		      "process_vm_readv");
		samples[i] = now_ns() - t0;
	}
	snprintf(key, sizeof(key), "batch_pvreadv_%u", n);
	report(key, samples, rounds);
}

int main(void)
{
	struct kt_l2_opts opts = { .smp = 1, .mem_mib = MEM_MIB,
				   .accel = KT_ACCEL_KVM, .fill = true };
	uint64_t med[4][3];
	static const size_t sizes[] = { 8, 64, 4096 };
	char path[64];
	struct kt_l2 l2;
	struct ctx c;
	unsigned int p, s;
	int dev;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2");
	c.pid = l2.pid;
	c.hva = l2.hva0 + AREA_GPA;
	c.vmfd = kh_attach(dev, l2.pid);
	CHECK(c.vmfd >= 0, "attach: %s", strerror(-c.vmfd));
	CHECK(kh_set_range(c.vmfd, 0, l2.hva0, l2.mem_bytes) == 0, "range");
	c.map = kh_map(c.vmfd, AREA_GPA, AREA_LEN);
	CHECK(c.map != MAP_FAILED, "mmap: %s", strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)l2.pid);
	c.memfd = open(path, O_RDONLY);
	CHECK(c.memfd >= 0, "%s", path);
	c.local = malloc(AREA_LEN);
	CHECK(c.local, "malloc");
	memset(c.local, 0x5a, AREA_LEN);

	bench_first_touch(&c);
	/* warm: every page of the area mapped before timing reads */
	for (uint64_t off = 0; off < AREA_LEN; off += 4096)
		sink += c.map[off];
	srandom(1);
	warm_up(&c);
	for (s = 0; s < 3; s++)
		for (p = MAP; p <= PVREADV; p++)
			med[p][s] = bench_reads(&c, p, sizes[s]);
	for (s = 0; s < 3; s++) {
		printf("ratio_map_vs_local_%zuB %.2f\n", sizes[s],
		       (double)med[MAP][s] / (med[LOCAL][s] ? med[LOCAL][s] : 1));
		printf("ratio_procmem_vs_map_%zuB %.1f\n", sizes[s],
		       (double)med[PROCMEM][s] / (med[MAP][s] ? med[MAP][s] : 1));
	}
	bench_batches(&c, 1);
	bench_batches(&c, 16);
	bench_batches(&c, 256);

	close(c.memfd);
	munmap((void *)c.map, AREA_LEN);
	close(c.vmfd);
	free(c.local);
	kt_l2_stop(&l2);
	close(dev);
	return KH_PASS;
}
