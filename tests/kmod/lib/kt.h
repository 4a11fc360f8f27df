/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What keyhole.ko's test programs share (tests/kmod/test_*.c, bench_*.c):
 * an L2 guest to introspect - QEMU running the counter payload
 * (tests/kmod/payload/counter.h says what its RAM holds) - started and
 * stopped, its RAM located and read the ordinary way, its vCPU threads
 * listed, a tiny QMP client, and /dev/keyhole.
 *
 * Functions return 0 (or a count) on success and -errno on failure, and
 * say on stderr what went wrong: a test only has to CHECK the result.
 */
#ifndef KT_H
#define KT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "counter.h"

enum kt_accel {
	KT_ACCEL_KVM,	/* -accel kvm -cpu host: vCPU threads "CPU n/KVM" */
	KT_ACCEL_TCG,	/* -accel tcg -cpu max: vCPU threads "CPU n/TCG" */
};

enum kt_mem {
	KT_MEM_ANON,	/* plain -m: anonymous private RAM */
	KT_MEM_MEMFD,	/* memory-backend-memfd,share=on */
};

struct kt_l2_opts {
	unsigned int smp;		/* vCPUs, 1..KT_CNT_MAX_CPUS; 0 = 1 */
	unsigned int mem_mib;		/* 4..KT_L2_MEM_MAX_MIB; 0 = 64 */
	enum kt_accel accel;
	enum kt_mem mem;
	bool fill;			/* the payload fills RAM from 2 MiB */
	/* -name kt without debug-threads=on: no thread is "CPU n/..." */
	bool no_thread_names;
	const char *const *extra_args;	/* NULL-terminated, or NULL */
	unsigned int timeout_ms;	/* until every counter runs; 0 = default */
};

/*
 * How long an L2 may take to come up: a deadline, not a speed. On a busy
 * host the emulated L1 can take minutes to start a guest.
 */
#define KT_L2_START_MS	300000

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* RAM stays below the pc machine's 3 GiB split: one block, one hva0 */
#define KT_L2_MEM_MAX_MIB	3072

struct kt_qmp;

struct kt_l2 {
	pid_t pid;			/* the QEMU process, 0 once stopped */
	unsigned int smp;
	enum kt_accel accel;
	uint64_t mem_bytes;		/* guest RAM, all of it from GPA 0 */
	uint64_t hva0;			/* QEMU's address of GPA 0 */
	struct kt_qmp *qmp;
	char dir[64];			/* qmp.sock, qemu.pid, qemu.log */
};

/*
 * Start QEMU on the payload (-name kt,debug-threads=on unless
 * no_thread_names, a QMP socket and -pidfile in a fresh folder under
 * $TMPDIR) and wait until the payload's magic is there, every vCPU
 * counted itself in and every counter moved.
 * On failure nothing is left running and QEMU's own output is printed.
 * QEMU is killed when the thread that started it exits (PDEATHSIG): start
 * it from a thread that outlives it.
 */
int kt_l2_start(struct kt_l2 *l2, const struct kt_l2_opts *opts);
/* QMP quit, then SIGKILL if QEMU is not gone within 5 s; removes dir. */
void kt_l2_stop(struct kt_l2 *l2);

/* The host virtual address of a GPA in QEMU, from HMP gpa2hva. */
int kt_gpa2hva(struct kt_l2 *l2, uint64_t gpa, uint64_t *hva);
/* len bytes at hva in process pid through /proc/PID/mem; -EIO if short */
int kt_procmem_read(pid_t pid, uint64_t hva, void *buf, size_t len);
/* len bytes of guest RAM at gpa, through kt_procmem_read */
int kt_l2_read(struct kt_l2 *l2, uint64_t gpa, void *buf, size_t len);
/* vCPU i's counter (vCPU i has APIC id i in QEMU) */
int kt_l2_counter(struct kt_l2 *l2, unsigned int cpu, uint64_t *value);

/*
 * QEMU's vCPU threads: tids[i] = the thread named "CPU i/KVM" (or TCG:
 * suffix) for i < max, 0 where none. Returns how many were found.
 */
int kt_vcpu_threads(pid_t pid, const char *suffix, pid_t *tids,
		    unsigned int max);

/* open("/dev/keyhole", O_RDWR | O_CLOEXEC): the fd or -errno, said */
int kt_dev_open(void);

/*
 * QMP. kt_qmp_cmd sends one command (a JSON object, no newline) and puts
 * the reply object's text in reply; events in between are skipped. A
 * reply {"error": ...} returns -EREMOTEIO with the text in reply.
 */
int kt_qmp_open(struct kt_qmp **qmp, const char *path, unsigned int timeout_ms);
void kt_qmp_close(struct kt_qmp *qmp);
int kt_qmp_cmd(struct kt_qmp *qmp, const char *cmd, char *reply, size_t size);
/* HMP through human-monitor-command; out gets its text, unescaped */
int kt_hmp(struct kt_qmp *qmp, const char *cmdline, char *out, size_t size);

/* milliseconds on CLOCK_MONOTONIC */
uint64_t kt_now_ms(void);

#endif
