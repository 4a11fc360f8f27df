/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The access technique interface: how guest-physical bytes are obtained
 * from a QEMU process. One file per technique (access_*.c), each exporting
 * a const struct kh_access_ops. Everything above this layer (the guest
 * kernel layer, the extractors) reads only through it.
 */
#ifndef KH_ACCESS_H
#define KH_ACCESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "libkeyhole.h"
#include "qemu/ram_layout.h"
#include "qemu/process.h"

struct kh_access;

struct kh_access_ops {
	const char *name;		/* "procmem", "pvreadv", ... */
	const char *description;	/* one line for users */
	const char *klass;		/* the paper's class, "I" to "VIII" */
	unsigned int props;		/* KH_TECHNIQUE_* */
	/*
	 * Reads address QEMU by pid, not by a handle on its memory: the
	 * engine confirms QEMU is still alive after each public operation,
	 * so a reused pid can never be read by mistake.
	 */
	int pid_addressed;
	/*
	 * One read carries many places (process_vm_readv's iovecs): pages
	 * are worth fetching ahead, all in one read (kernel/page_cache.c).
	 */
	int batches;
	int (*open)(struct kh_access *acc, struct kh_err *err);
	/*
	 * Reads a batch. The caller guarantees each element lies inside one
	 * RAM range of acc->layout (addr is a GPA). Sets every element's
	 * result; returns how many failed, or -errno when the whole batch
	 * failed (-ESRCH: the QEMU process has gone).
	 */
	int (*read)(struct kh_access *acc, struct kh_read *reads,
		    unsigned int nr);
	void (*close)(struct kh_access *acc);
	/*
	 * Optional members; NULL when the technique has no such operation.
	 *
	 * map: the technique's bytes for [gpa, gpa + len) without a system
	 * call (class IV), or NULL to fall back to read. The pointer stays
	 * valid until close.
	 */
	const void *(*map)(struct kh_access *acc, uint64_t gpa, uint64_t len);
	/*
	 * scan: as read, for a few bytes from each of many places read once
	 * (the search for the kernel probes every 2 MiB of RAM). A technique
	 * that maps guest RAM reads these without touching its mapping,
	 * whose every first touch of 2 MiB costs a page fault and a page
	 * table page kept for as long as the VM is attached.
	 */
	int (*scan)(struct kh_access *acc, struct kh_read *reads,
		    unsigned int nr);
	/*
	 * pause/resume: halting techniques (classes VI, VIII) stop the guest
	 * around each public operation of the engine; the engine counts
	 * nesting, so each is called once per outermost operation. resume
	 * must leave a guest its owner had paused still paused, and must
	 * work even after pause failed half-way.
	 */
	int (*pause)(struct kh_access *acc, struct kh_err *err);
	int (*resume)(struct kh_access *acc, struct kh_err *err);
	/*
	 * halt/unhalt: a live technique that can also stop the guest when
	 * the caller asks (kh_vm_pause), but not around each operation
	 * (kmap and kread, through keyhole.ko); without them kh_vm_pause
	 * uses QMP. keep_halted: renews a pause or halt that ends by itself
	 * (keyhole.ko's watchdog); -ETIMEDOUT when it had ended.
	 */
	int (*halt)(struct kh_access *acc, struct kh_err *err);
	int (*unhalt)(struct kh_access *acc, struct kh_err *err);
	int (*keep_halted)(struct kh_access *acc, struct kh_err *err);
	/*
	 * snapshot_take/release: copying techniques (classes II, III) copy
	 * guest RAM at take; reads then see that copy until release. open
	 * takes the first snapshot, close releases the last one, and every
	 * temporary file or socket is gone after release.
	 */
	int (*snapshot_take)(struct kh_access *acc, struct kh_err *err);
	void (*snapshot_release)(struct kh_access *acc);
	/*
	 * tasks: agent techniques (class I) see OS-level state, not memory:
	 * they fill the process list from the guest's own /proc. read then
	 * fails with -EOPNOTSUPP and memory-only extractors say so.
	 */
	int (*tasks)(struct kh_access *acc, struct kh_task **tasks,
		     size_t *nr, struct kh_err *err);
	/*
	 * probe: whether open would work, without its cost (a snapshot
	 * technique's open copies all of guest RAM). NULL: availability is
	 * found by open and close. Its error says what is missing and what
	 * would enable the technique.
	 */
	int (*probe)(struct kh_access *acc, struct kh_err *err);
};

struct kh_access {
	const struct kh_access_ops *ops;
	pid_t pid;
	int pidfd;			/* keeps pid reuse from fooling us */
	int pagemap_fd;			/* /proc/PID/pagemap, or -1 */
	/*
	 * Attached through a RAM file (ram_file.c): ram_fd is it, each
	 * range's hva is its offset in the file, and residency is the
	 * file's (holes are pages the guest never touched).
	 */
	int ram_file;
	int ram_fd;
	/*
	 * Attached through a keyhole.ko session handed over (kmap on it):
	 * residency is not known, every page is read as there.
	 */
	int ram_mirror;
	const struct kh_layout *layout;
	const struct kh_target *target;	/* QMP socket, name, RAM backing */
	uint64_t kmod_session;		/* keyhole.ko's id of ours, or 0 */
	/* kh_vm_config's settings; NULL: the defaults */
	const char *tmpdir;		/* where snapshots are made */
	const char *keep_snapshot;	/* a file to keep the copy in */
	/* The context's halt journal directory; NULL or "": none. */
	const char *halt_journal;
	/* kh_vm_config's report of a halting snapshot's progress */
	kh_progress_fn progress;
	void *progress_opaque;
	/*
	 * What the technique did to the guest, for reports: time it kept the
	 * guest stopped and host CPU it spent, summed over the handle's life.
	 */
	_Atomic uint64_t halted_ns, snapshot_ns;
	void *priv;			/* the technique's own state */
	/*
	 * A technique that maps guest RAM may name its largest mapped range
	 * here (size 0: none), so that the engine copies small reads from
	 * it without a call per read (memory.c); memmap does.
	 */
	struct kh_hot_range {
		uint64_t gpa, size;
		const uint8_t *base;
	} hot;
	_Atomic uint64_t calls, elems, bytes;
	/*
	 * The QMP connection kh_vm_pause() holds while the guest is paused
	 * (else NULL), under qmp_lock: a monitor serves one client at a
	 * time, so interface techniques borrow it rather than wait for it.
	 */
	pthread_mutex_t qmp_lock;
	struct kh_qmp *held_qmp;
};

extern const struct kh_access_ops kh_access_procmem;
extern const struct kh_access_ops kh_access_memmap;
/*
 * memmap's RAM backend as one file (keyholed hands it to a client): a
 * read-only fd of the file behind every range of acc's layout, and where
 * each range starts in it. And memmap on such a file: acc's layout
 * mapped from fd at offsets[i]; acc->ops is then memmap's.
 */
int kh_memmap_file(const struct kh_access *acc, int *fdp, uint64_t *offsets,
		   struct kh_err *err);
int kh_memmap_open_fd(struct kh_access *acc, int fd, const uint64_t *offsets,
		      struct kh_err *err);
/*
 * kmap on a per-VM fd of keyhole.ko whose ranges are set (keyholed
 * hands one to a client, ram_file.c): acc's layout mapped from it at
 * offset = GPA; acc->ops is then kmap's, which owns fd from then on.
 */
int kh_kmap_open_fd(struct kh_access *acc, int fd, struct kh_err *err);
extern const struct kh_access_ops kh_access_pvreadv;
extern const struct kh_access_ops kh_access_ptrace;
extern const struct kh_access_ops kh_access_gdbstub;
extern const struct kh_access_ops kh_access_agent;
extern const struct kh_access_ops kh_access_hmp;
extern const struct kh_access_ops kh_access_bgsnap;
extern const struct kh_access_ops kh_access_migrate;
extern const struct kh_access_ops kh_access_dump;
extern const struct kh_access_ops kh_access_pmemsave;
extern const struct kh_access_ops kh_access_kmap;
extern const struct kh_access_ops kh_access_kread;
extern const struct kh_access_ops kh_access_kpause;

/* The technique called name, or NULL. */
const struct kh_access_ops *kh_access_lookup(const char *name);

/* Techniques in order of preference (fastest live first), NULL-ended. */
extern const struct kh_access_ops *const kh_access_all[];

/*
 * Which guest pages hold something (residency.c): in QEMU's page tables
 * (present or swapped), or in the file that is guest RAM where QEMU has
 * not touched them yet. Lets scans skip RAM the guest never touched,
 * which reading would otherwise allocate on the host. new opens what
 * one scan asks (the RAM files); get fills map with one byte per 4 KiB
 * page of [gpa, gpa + len).
 */
struct kh_residency;
int kh_residency_new(struct kh_access *acc, struct kh_residency **resp,
		     struct kh_err *err);
int kh_residency_get(struct kh_residency *res, uint64_t gpa, uint64_t len,
		     uint8_t *map, struct kh_err *err);
void kh_residency_free(struct kh_residency *res);

/* 0 while the QEMU process is alive, -ESRCH once it has exited. */
int kh_access_alive(const struct kh_access *acc);

/*
 * Adds to one of acc's report counters from a mapped technique's read,
 * which is a memcpy: an atomic add there would wait for the copy's
 * stores to drain, 11% of a memmap crawl. A load and a store are enough
 * for a report; two threads reading one handle at once may lose a count.
 */
static inline void kh_access_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter,
			      atomic_load_explicit(counter,
						   memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/*
 * After an operation on QEMU failed with ret: -ESRCH if QEMU has exited,
 * else 0. When ret says the connection was lost (-ECONNRESET, -EPIPE)
 * or a file passed to QEMU is gone (-ENOENT), which is how a QEMU that is
 * being killed looks before it has exited, this waits up to a second for
 * the exit to show.
 */
int kh_access_exited_after(const struct kh_access *acc, int ret);
/* -ESRCH once QEMU has exited, waiting up to ms for it to show; else 0. */
int kh_access_exit_shows(const struct kh_access *acc, int ms);

/*
 * What the QMP-based techniques share (qmp_snapshot.c).
 *
 * kh_access_qmp connects to the VM's QMP socket and checks that QEMU
 * itself serves it. A busy or missing socket fails within a few seconds
 * whatever timeout_ms, the bound on each later command (dumps take long).
 */
struct kh_qmp;
int kh_access_qmp(const struct kh_access *acc, int timeout_ms,
		  struct kh_qmp **qmpp, struct kh_err *err);
/*
 * The same, or the connection kh_vm_pause() holds (*borrowed set, and
 * others kept off it until kh_access_qmp_put).
 */
int kh_access_qmp_get(struct kh_access *acc, int timeout_ms,
		      struct kh_qmp **qmpp, int *borrowed, struct kh_err *err);
void kh_access_qmp_put(struct kh_access *acc, struct kh_qmp *qmp,
		       int borrowed);
/* Whether the guest's vCPUs run; status gets QEMU's run state name. */
int kh_access_qmp_running(struct kh_qmp *qmp, int *running, char *status,
			  size_t size, struct kh_err *err);

/* Where snapshots are made: acc->tmpdir, else /var/tmp, else /tmp. */
const char *kh_access_tmpdir(const struct kh_access *acc);
/*
 * A new empty file there, named after what, mode 0600, for QEMU to
 * (over)write. The caller unlinks it as soon as it has opened it again.
 */
int kh_access_tmpfile(const struct kh_access *acc, const char *what,
		      char *path, size_t size, struct kh_err *err);
/*
 * A new empty file there with no name (O_TMPFILE, else unlinked at once),
 * open read-write, mode 0600: its fd, or a negative error.
 */
int kh_access_tmpfd(const struct kh_access *acc, const char *what,
		    struct kh_err *err);
/* Explains a failed write of a snapshot into dir: ENOSPC names dir. */
int kh_access_tmp_failed(const char *dir, const char *what, int code,
			 const char *detail, struct kh_err *err);

/*
 * Reports a halting snapshot's progress (acc->progress, if any): done of
 * total bytes, the guest stopped since stopped_at (ns; 0: running).
 */
void kh_access_progress(const struct kh_access *acc, uint64_t done,
			uint64_t total, uint64_t stopped_at);
/*
 * After a snapshot: the guest runs again if it ran before (was_running),
 * whatever state the snapshot left it in (migration leaves postmigrate).
 * Adds the time it was stopped since stopped_at (ns) to acc->halted_ns.
 */
int kh_access_qmp_restore(struct kh_access *acc, struct kh_qmp *qmp,
			  int was_running, uint64_t stopped_at,
			  struct kh_err *err);
/* Free bytes in dir, or UINT64_MAX when unknown. */
uint64_t kh_access_tmp_free(const char *dir);

uint64_t kh_access_now_ns(void);

#endif
