/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkeyhole: host-side introspection of live QEMU/KVM Linux guests.
 *
 * One kh_ctx per program holds what VMs can share (kernel profiles, the
 * on-disk profile cache); one kh_vm per introspected VM. A kh_vm is safe to
 * use from several threads at once: every read carries its own state and
 * every call its own struct kh_err. Nothing in the library is global.
 *
 * Guest memory is untrusted: every walk is bounded and every pointer
 * checked; what could not be read consistently is reported in the result
 * (see KH_RESULT_*), never silently dropped.
 */
#ifndef LIBKEYHOLE_H
#define LIBKEYHOLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every public call that can fail fills one of these and returns -errno. */
struct kh_err {
	int code;		/* positive errno */
	char msg[512];		/* one sentence naming what was wrong */
};

struct kh_ctx;
struct kh_vm;

/*
 * The library reads no environment: every setting comes from here or from
 * struct kh_vm_config, so that a daemon can choose each one per VM. The
 * keyhole command maps its environment variables onto them.
 */
struct kh_ctx_config {
	/* Kernel profile cache directory; NULL or "": no disk cache. */
	const char *cache_dir;
};

int kh_ctx_new(const struct kh_ctx_config *cfg, struct kh_ctx **ctxp,
	       struct kh_err *err);
void kh_ctx_free(struct kh_ctx *ctx);

/*
 * A debug log for the whole process (NULL: off, the default): log gets
 * one sentence per decision the library makes while it attaches, such as
 * which process a VM spec named, each access technique tried and why it
 * was passed over, and where the RAM layout and the guest kernel were
 * found. Set it before opening VMs.
 */
void kh_set_debug_log(void (*log)(void *opaque, const char *msg),
		      void *opaque);

/*
 * The halt journal (Documentation/broker.md, "Surviving a crash"): a
 * directory, the caller's alone (not group- or other-writable), where the
 * library notes each running guest it halts, from just before the QMP
 * "stop" until its "cont". A process that was killed while it held guests
 * halted leaves their entries; kh_halt_recover() in its successor resumes
 * them. Set it before opening VMs; NULL or "": no journal (the default).
 */
int kh_ctx_set_halt_journal(struct kh_ctx *ctx, const char *dir,
			    struct kh_err *err);

/*
 * Resumes the guests a dead process left halted, from the journal in dir:
 * an entry whose QEMU process still runs (same pid and start time) and is
 * paused is resumed ("cont", or virDomainResume for a libvirt domain) and
 * removed; one whose process is gone, or that runs, or is in any state but
 * paused, is removed and nothing is done to it. log (may be NULL) gets one
 * sentence per entry. Returns how many guests were resumed, or a negative
 * errno when dir cannot be read; an entry that could not be handled stays
 * for the next call, and its error is also in err.
 */
int kh_halt_recover(const char *dir,
		    void (*log)(void *opaque, const char *msg), void *opaque,
		    struct kh_err *err);

/* How the guest RAM layout (GPA -> QEMU virtual address) is learnt. */
enum kh_layout_source {
	KH_LAYOUT_AUTO = 0,	/* QMP when QEMU has a socket, else maps */
	KH_LAYOUT_QMP,		/* query-memdev + info mtree -f + gpa2hva */
	KH_LAYOUT_MAPS,		/* memory backend found in /proc/PID/maps */
};

/*
 * How far a halting snapshot (pmemsave, dump, migrate) is: bytes of guest
 * RAM copied of total, and how long the guest has been halted so far (0
 * while it still runs). Called from the thread that takes the snapshot,
 * as it goes.
 */
typedef void (*kh_progress_fn)(void *opaque, const char *technique,
			       uint64_t done, uint64_t total,
			       uint64_t halted_ns);

struct kh_vm_config {
	const char *technique;	/* NULL: fastest available live technique */
	enum kh_layout_source layout;
	/* Sockets that override the ones found on QEMU's command line. */
	const char *qmp_path;
	const char *gdb_path;	/* the gdbstub's unix socket */
	const char *qga_path;	/* the guest agent's chardev socket */
	/* Where snapshots are made; NULL: /var/tmp, else /tmp. */
	const char *tmpdir;
	/* A new file the dump, migrate and bgsnap techniques keep their copy
	 * of guest RAM in, rather than a temporary one; NULL: none. */
	const char *keep_snapshot;
	/*
	 * The libvirt connection URI for domains libvirt runs (their QEMU
	 * monitor is libvirtd's); NULL: qemu:///system, as virsh as root.
	 */
	const char *libvirt_uri;
	kh_progress_fn progress;	/* NULL: none */
	void *progress_opaque;
};

/*
 * Every QEMU process on the host, as /proc and libvirt's run-state files
 * show it, without attaching to any (keyhole list, keyholed).
 *
 * Which processes are QEMU: those whose executable (/proc/PID/exe, with
 * the " (deleted)" an upgrade leaves cut off) is named qemu-system-* or
 * qemu-kvm. The kernel shows another user's executable only to who may
 * ptrace it; for such a process its argv[0] or its comm is taken at its
 * word instead (it is not one the caller could introspect). Processes
 * only, never their threads.
 *
 * Identity: a pid can be reused once its process is gone; the pair (pid,
 * start_time) cannot. name and uuid are what the process's command line
 * says, which its owner chooses (and a compromised QEMU can rewrite): a
 * label, not proof. The libvirt fields are set only when libvirt's pid
 * file for a domain of that name holds this pid, libvirt's uuid taken
 * from its status XML where the caller may read it (root, for the system
 * instance), else from -uuid. No libvirt library is involved.
 *
 * The fields that come from the command line are "" or 0 when it could
 * not be read or parsed; kh_vm_open() on the process says why.
 */
struct kh_qemu_proc {
	pid_t pid;
	uint64_t start_time;	/* /proc/PID/stat field 22: clock ticks
				 * (sysconf(_SC_CLK_TCK)) after host boot */
	uid_t uid;		/* real uid and gid of QEMU */
	gid_t gid;
	char name[256];		/* -name (guest=NAME or NAME), or "" */
	char uuid[37];		/* -uuid, or "" */
	char libvirt_name[256];	/* the libvirt domain it is, or "" */
	char libvirt_uuid[37];
	char libvirt_uri[32];	/* "qemu:///system", "qemu:///session" */
	uint64_t ram_bytes;	/* -m, or its memory backend's size; 0 unknown */
	char ram_backend[8];	/* "memfd", "file", "anon", "" unknown */
	char qmp_path[108];	/* the QMP unix socket on its argv, or "" */
};

/*
 * Every QEMU process, sorted by pid, in *list (malloc'd; free() it).
 * Processes that exit meanwhile are left out.
 */
int kh_qemu_discover(struct kh_qemu_proc **list, unsigned int *nr,
		     struct kh_err *err);

/*
 * The same for one pid: -ESRCH when there is no such process (or no
 * longer, or pid is a thread's), -ENOEXEC when it is not QEMU.
 */
int kh_qemu_identify(pid_t pid, struct kh_qemu_proc *proc,
		     struct kh_err *err);

/*
 * Attaches to a VM. spec is a QEMU pid, the path of its QMP unix socket,
 * the value of its -name or -uuid option, or the name or UUID of a libvirt
 * domain (libvirt passes both to QEMU).
 */
int kh_vm_open(struct kh_ctx *ctx, const char *spec,
	       const struct kh_vm_config *cfg, struct kh_vm **vmp,
	       struct kh_err *err);
void kh_vm_close(struct kh_vm *vm);

/*
 * Guest RAM handed over as a file (keyholed's "ram" command,
 * Documentation/broker-protocol.md): the memfd or file that backs every
 * RAM range, opened read-only, and where each range lies in it; or, for
 * RAM no file holds (anonymous memory), a keyhole.ko session of its own
 * on the QEMU process, whose read-only mapping is at offset = GPA. A
 * process that holds one maps guest RAM itself, with nobody in the read
 * path. A file grants reading guest RAM and nothing else (no write, no
 * access to QEMU's other memory, no control of the VM); a session grants
 * what keyhole.ko lets its holder do to that QEMU process: read any of
 * its readable memory (its ranges can be set anew) and pause its vCPUs
 * for as long as the holder keeps renewing the pause (ended when the fd
 * closes), which is why it goes only to callers with those rights.
 */
#define KH_RAM_FILE_MAX_RANGES 32

enum kh_ram_file_kind {
	KH_RAM_FILE_BACKEND,	/* QEMU's memfd or file, read-only */
	KH_RAM_FILE_KMOD,	/* keyhole.ko's per-VM fd (kmap) */
};

struct kh_ram_file {
	enum kh_ram_file_kind kind;
	uint64_t kmod_session;	/* KMOD: its id in keyhole.ko's events */
	int fd;			/* the RAM backend, O_RDONLY */
	int pidfd;		/* the QEMU process (exit shows), or -1 */
	pid_t pid;		/* the QEMU process, for messages */
	char name[256];		/* its -name or libvirt domain, or "" */
	unsigned int nr;
	struct {
		uint64_t gpa, size;
		uint64_t offset;	/* of the range's first byte in fd */
	} range[KH_RAM_FILE_MAX_RANGES];
};

/*
 * Opens the file behind vm's guest RAM (fd and pidfd are new; the
 * caller closes them). For RAM no file holds, with KH_RAM_FILE_MAY_KMOD
 * in flags, a keyhole.ko session when the module is loaded (made with
 * the caller's rights: only for a caller that may use /dev/keyhole
 * itself), else -ENODEV; -ENOTSUP when the ranges lie in different
 * files.
 */
#define KH_RAM_FILE_MAY_KMOD	(1u << 0)

int kh_vm_ram_file(struct kh_vm *vm, unsigned int flags,
		   struct kh_ram_file *ram, struct kh_err *err);

/*
 * Attaches to a VM through such a file: technique memmap on a backend,
 * kmap on a keyhole.ko session, the guest kernel located as kh_vm_open()
 * does. fd and pidfd stay the
 * caller's (they are duplicated). cfg's technique and layout must be
 * unset.
 */
int kh_vm_open_ram_file(struct kh_ctx *ctx, const struct kh_ram_file *ram,
			const struct kh_vm_config *cfg, struct kh_vm **vmp,
			struct kh_err *err);

struct kh_ram_range {
	uint64_t gpa;		/* first guest-physical address */
	uint64_t size;		/* bytes */
	uint64_t hva;		/* address in the QEMU process */
};

struct kh_vm_info {
	pid_t pid;			/* the QEMU process */
	const char *name;		/* -name, or "" */
	const char *technique;		/* access technique in use */
	const char *layout_source;	/* "qmp" or "maps" */
	unsigned int nr_ranges;
	const struct kh_ram_range *ranges;
	const char *kernel_release;	/* e.g. "6.1.0-26-amd64" */
	const char *kernel_banner;	/* the guest's linux_banner */
	uint64_t kernel_phys;		/* physical address of _text */
	uint64_t kernel_virt;		/* virtual address of _text */
	uint64_t kaslr_slide;		/* kernel_virt - link-time _text */
	uint64_t page_offset_base;	/* start of the direct map */
	unsigned int paging_levels;	/* 4 or 5 */
	int profile_from_cache;		/* profile was loaded from disk */
	double attach_ms;		/* wall time spent in kh_vm_open */
	unsigned int technique_props;	/* KH_TECHNIQUE_* of technique */
};

/* Pointers in info stay valid until kh_vm_close(). */
void kh_vm_get_info(const struct kh_vm *vm, struct kh_vm_info *info);

/* One element of a batched read. */
struct kh_read {
	uint64_t addr;		/* guest-physical or kernel-virtual */
	void *buf;
	uint32_t len;
	int32_t result;		/* out: 0 or -errno for this element */
};

/*
 * The access techniques, as the taxonomy of Suneja et al. (VEE 2015)
 * describes them, and whether each can work on a given VM.
 */
#define KH_TECHNIQUE_LIVE	(1u << 0)	/* the guest keeps running */
#define KH_TECHNIQUE_HALTING	(1u << 1)	/* the guest is stopped */
#define KH_TECHNIQUE_SNAPSHOT	(1u << 2)	/* reads a copy, not RAM */
#define KH_TECHNIQUE_AGENT	(1u << 3)	/* needs guest cooperation */
#define KH_TECHNIQUE_INTERFACE	(1u << 4)	/* via a QEMU interface */
#define KH_TECHNIQUE_MAPPED	(1u << 5)	/* no system call per read */

struct kh_technique {
	const char *name;
	const char *klass;		/* "I" to "VIII" */
	const char *description;
	unsigned int props;		/* KH_TECHNIQUE_* */
	int available;
	char reason[512];		/* why not, and what would enable it */
};

/*
 * Every technique for the VM named by spec, in order of preference, with
 * its availability found by really opening it. *listp is malloc'd.
 */
int kh_techniques(const char *spec, const struct kh_vm_config *cfg,
		  struct kh_technique **listp, unsigned int *nr,
		  struct kh_err *err);

/* Guest-physical reads; returns how many elements failed, or -errno. */
int kh_read_phys(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err);
/* Kernel-virtual reads (through the guest's own page tables). */
int kh_read_kva(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		struct kh_err *err);

/*
 * For measuring: the guest-physical reads this thread's operations ask
 * for, recorded in order from kh_trace_start() to kh_trace_stop(), as
 * the walkers asked (before a crawl's page cache widens them to pages).
 * kh_trace_replay() copies exactly those bytes, in that order, from the
 * mapping of guest RAM of vm (memmap or kmap, on the same guest): the
 * floor under the cost of whatever was traced. The first replay finds
 * each read in the mapping and warms it; time the later ones, on the same
 * vm. One trace records per thread at a time (a second start takes over);
 * stop and free it on the thread that started it.
 */
struct kh_trace;
int kh_trace_start(struct kh_trace **tracep, struct kh_err *err);
void kh_trace_stop(struct kh_trace *trace);
uint64_t kh_trace_bytes(const struct kh_trace *trace);
size_t kh_trace_reads(const struct kh_trace *trace);
int kh_trace_replay(struct kh_vm *vm, struct kh_trace *trace,
		    struct kh_err *err);
void kh_trace_free(struct kh_trace *trace);

/* Counters of what a VM handle has done, for cost accounting. */
struct kh_stats {
	uint64_t read_calls;	/* system calls (or equivalent) issued */
	uint64_t read_elems;	/* batch elements served */
	uint64_t read_bytes;
};
void kh_vm_get_stats(const struct kh_vm *vm, struct kh_stats *stats);

/* Flags that say how much of a result can be trusted. */
#define KH_RESULT_INCOMPLETE	(1u << 0)	/* walk stopped early */
#define KH_RESULT_INCONSISTENT	(1u << 1)	/* guest changed during walk */

#define KH_COMM_LEN 16
#define KH_TTY_LEN 32	/* "pts/" and a number, or a driver's name and index */

struct kh_task {
	uint64_t addr;		/* kernel virtual address of task_struct */
	int32_t pid;		/* thread id */
	int32_t tgid;		/* process id */
	int32_t ppid;		/* tgid of real_parent */
	uint32_t uid;		/* real uid */
	uint32_t gid;		/* real gid */
	char state;		/* letter as in /proc/PID/stat */
	char comm[KH_COMM_LEN];
	uint32_t flags;		/* PF_* (PF_EXITING, PF_KTHREAD, ...) */
	uint32_t exit_state;	/* EXIT_ZOMBIE, EXIT_DEAD or 0 */
	uint64_t start_time;	/* ns since boot (CLOCK_BOOTTIME) */
	uint64_t mm;		/* struct mm_struct, 0 for kernel threads */
	uint32_t nr_threads;	/* threads in the thread group */
	/* With KH_TASKS_DETAILS (else 0 and ""): what ps -ef adds. */
	uint32_t euid, egid;	/* effective ids, as Uid:/Gid: second */
	/*
	 * ns on a CPU, as ps's TIME (utime + stime of /proc/PID/stat): a
	 * thread's own in a list of threads, its whole thread group's
	 * (threads that exited included) in a list of processes.
	 */
	uint64_t cpu_time;
	/* The controlling terminal as ps names it ("pts/0"); "" for none. */
	char tty[KH_TTY_LEN];
	/*
	 * With KH_TASKS_CMDLINE: its process's argv, NUL-separated as
	 * /proc/PID/cmdline (in the list's memory); NULL when it has none
	 * (a kernel thread, a zombie) or it could not be read (marked).
	 */
	const char *cmdline;
	size_t cmdline_len;
};

/* How far a result can be trusted; embedded in every result below. */
struct kh_result {
	unsigned int flags;		/* KH_RESULT_* */
	char problem[256];		/* why flags are set, or "" */
};

struct kh_task_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_task *tasks;
	unsigned int flags;	/* the KH_TASKS_* it was walked with */
	/* With KH_TASKS_DETAILS: the guest's boot by its clock (kh_os_info). */
	int64_t boot_time;
	char *arena;		/* what the tasks' pointers point into */
};

#define KH_TASKS_THREADS	(1u << 0)	/* one entry per thread */
#define KH_TASKS_DETAILS	(1u << 1)	/* euid, egid, cpu_time, tty */
#define KH_TASKS_CMDLINE	(1u << 2)	/* each process's argv */

int kh_tasks(struct kh_vm *vm, unsigned int flags, struct kh_task_list **listp,
	     struct kh_err *err);
void kh_task_list_free(struct kh_task_list *list);

/*
 * The rest of a process's state, read through its own page tables and
 * mm_struct: argv (NUL-separated, as /proc/PID/cmdline), resident pages.
 * -ENOENT for a task without an mm (kernel thread, zombie).
 */
int kh_task_cmdline(struct kh_vm *vm, const struct kh_task *task, char *buf,
		    size_t size, size_t *len, struct kh_err *err);
int kh_task_rss(struct kh_vm *vm, const struct kh_task *task,
		uint64_t *pages, struct kh_err *err);
/*
 * The environment, NUL-separated, as /proc/PID/environ: the bytes from
 * env_start to env_end (at most size, and 128 KiB) that are resident;
 * *len 0 for a process that has none yet. -ENOENT as kh_task_cmdline.
 */
int kh_task_environ(struct kh_vm *vm, const struct kh_task *task, char *buf,
		    size_t size, size_t *len, struct kh_err *err);

/* OS and CPUs, as uname(2), /proc/uptime and /proc/loadavg show them. */
struct kh_os_info {
	char sysname[65];
	char nodename[65];	/* hostname */
	char release[65];
	char version[65];
	char machine[65];
	char domainname[65];
	double uptime;		/* seconds since boot */
	unsigned int cpus_online;
	unsigned int cpus_possible;
	double loadavg[3];
	struct kh_result result;	/* e.g. uptime read mid-update */
	/* When it booted by its own clock, ns since the epoch; 0: unknown. */
	int64_t boot_time;
};
int kh_os_info(struct kh_vm *vm, struct kh_os_info *info, struct kh_err *err);

/* Memory in KiB, with /proc/meminfo's meanings. */
struct kh_mem_info {
	uint64_t total;		/* MemTotal */
	uint64_t free;		/* MemFree */
	uint64_t available;	/* MemAvailable */
	uint64_t buffers;	/* Buffers */
	uint64_t cached;	/* Cached */
	uint64_t shmem;		/* Shmem */
	struct kh_result result;
};
int kh_mem_info(struct kh_vm *vm, struct kh_mem_info *mem, struct kh_err *err);

/* Loaded kernel modules, as /proc/modules. */
struct kh_module {
	uint64_t addr;		/* struct module */
	char name[56];
	uint64_t size;		/* bytes, as /proc/modules */
	int32_t refcount;
	char state[12];		/* Live, Loading, Unloading */
	/*
	 * The modules that use this one, "a,b", in the order of the
	 * guest's /proc/modules; "" for none (or without
	 * CONFIG_MODULE_UNLOAD, which keeps no such list). A user that
	 * is no module is "?" (a comma in a name is too); a list too long
	 * ends in "...".
	 */
	char used_by[256];
};
struct kh_module_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_module *modules;
};
int kh_modules(struct kh_vm *vm, struct kh_module_list **listp,
	       struct kh_err *err);
void kh_module_list_free(struct kh_module_list *list);

/*
 * The kernel log, as dmesg and /dev/kmsg show it: every finalized record
 * of the printk ring buffer (Linux 5.10+), oldest first. Records the
 * guest overwrote while they were read are dropped, and the result says
 * how many.
 */
#define KH_KMSG_SUBSYSTEM_LEN 16
#define KH_KMSG_DEVICE_LEN 48
struct kh_kmsg {
	uint64_t seq;		/* /dev/kmsg's sequence number */
	uint64_t ts_nsec;	/* local_clock() at logging: since boot */
	uint64_t desc_id;	/* the ring descriptor's id */
	size_t text_off;	/* the text, NUL-terminated, at list->text + */
	uint16_t text_len;	/* ... its bytes, unescaped (may hold NUL) */
	uint8_t facility;	/* syslog's: 0 kern, 1 user, ... */
	uint8_t level;		/* 0 emerg ... 7 debug */
	uint8_t flags;		/* LOG_NEWLINE 2, LOG_CONT 8 */
	uint32_t caller_id;	/* a thread id, or 0x80000000 | a CPU */
	char subsystem[KH_KMSG_SUBSYSTEM_LEN];	/* dev_printk's, or "" */
	char device[KH_KMSG_DEVICE_LEN];
};
struct kh_kmsg_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_kmsg *msgs;
	char *text;
};
int kh_dmesg(struct kh_vm *vm, struct kh_kmsg_list **listp,
	     struct kh_err *err);
void kh_kmsg_list_free(struct kh_kmsg_list *list);

/*
 * The kernel's own symbols, as /proc/kallsyms lists them (not modules'):
 * decoded from the guest's kallsyms tables when attaching, at this
 * boot's addresses, in address order (then name), one per name (the
 * global one of a name static symbols share, else the first). match, if
 * not NULL, keeps the names that contain it.
 */
struct kh_symbol {
	uint64_t addr;
	char type;		/* nm's letter: T t D d B b R r A ... */
	const char *name;	/* in list->names */
};
struct kh_symbol_list {
	unsigned int nr;
	struct kh_symbol *symbols;
	char *names;
};
int kh_kallsyms(struct kh_vm *vm, const char *match,
		struct kh_symbol_list **listp, struct kh_err *err);
void kh_symbol_list_free(struct kh_symbol_list *list);

/*
 * Each process's credentials (or one's: pid > 0), as /proc/PID/status's
 * Uid:, Gid: and Cap*: lines, read from its real_cred as /proc does, by
 * pid. shared_with names the other processes on the same real_cred (at
 * most KH_CRED_SHARED, found among all processes): processes get a cred
 * of their own at fork, so any is a finding (a task pointed at another's
 * cred, as rootkits do). A process whose cred cannot be read (it exited)
 * is left out, marked.
 */
#define KH_CRED_SHARED 8
struct kh_cred {
	int32_t pid;
	char comm[KH_COMM_LEN];
	uint64_t addr;		/* task_struct */
	uint64_t cred, real_cred;
	uint32_t uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
	uint64_t cap_inheritable, cap_permitted, cap_effective,
		 cap_bounding, cap_ambient;
	unsigned int nr_shared;
	int32_t shared_with[KH_CRED_SHARED];
};
struct kh_cred_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_cred *creds;
};
int kh_creds(struct kh_vm *vm, int32_t pid, struct kh_cred_list **listp,
	     struct kh_err *err);
void kh_cred_list_free(struct kh_cred_list *list);

/*
 * The command history of each running bash (each process whose comm is
 * "bash"; with pid > 0, that process's whatever its name), as its own
 * `history` lists it, read from its heap as Volatility's linux.bash
 * reads it (readline's entries, each stamped "#SECONDS"; walk/
 * bash_history.c): by pid, then in the order of the history list. An
 * entry the scan found outside that list comes after it, by time, with
 * in_list 0. A heap that cannot be read, is only partly read (larger
 * than 32 MiB, pages swapped out) or holds more than the scan takes
 * marks the result incomplete; a process that exits meanwhile, and its
 * entries, inconsistent. A process with no history (a script) has none.
 */
struct kh_bash_entry {
	int32_t pid;
	char comm[KH_COMM_LEN];
	int64_t time;		/* seconds since the epoch */
	uint64_t addr;		/* the HIST_ENTRY, in the process */
	int in_list;
	char *command;		/* as typed (any bytes but NUL), cut at 64 KiB */
};
struct kh_bash_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_bash_entry *entries;
	unsigned int nr_shells;	/* processes whose heap was read */
};
int kh_bash_history(struct kh_vm *vm, int32_t pid, struct kh_bash_list **listp,
		    struct kh_err *err);
void kh_bash_list_free(struct kh_bash_list *list);

/*
 * Every mount namespace's mounts (the namespaces of all processes), in
 * the order /proc/PID/mounts lists them, as its lines give them: device,
 * mount point, file system type, and the generic options that lead its
 * options column (rw or ro, then nosuid, nodev, noexec, noatime,
 * nodiratime, relatime, nosymfollow, sync, dirsync, mand, lazytime); a
 * file system's own options (its show_options()) are not read. Plus
 * what /proc/PID/mountinfo adds: the mount's id and its parent's.
 */
struct kh_mount {
	uint64_t addr;		/* struct mount */
	uint32_t ns;		/* its namespace's inode number */
	int32_t id, parent_id;
	char devname[256];	/* "none" when it has none */
	char path[512];
	char fstype[32];
	char options[128];
};
struct kh_mount_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_mount *mounts;
};
int kh_mounts(struct kh_vm *vm, struct kh_mount_list **listp,
	      struct kh_err *err);
void kh_mount_list_free(struct kh_mount_list *list);

/*
 * The loaded eBPF programs and maps (Volatility's ebpf), in id order as
 * bpftool prog and bpftool map list them, from the kernel's prog_idr and
 * map_idr. Types are named as bpftool names them ("socket_filter",
 * "kprobe", "hash", ...; a number for a type keyhole does not know).
 */
struct kh_bpf_prog {
	uint64_t addr;		/* struct bpf_prog */
	uint32_t id, type;
	char type_name[24];
	char name[16];		/* BPF_OBJ_NAME_LEN */
	uint8_t tag[8];
	uint32_t xlated_bytes;	/* its instructions, 8 bytes each */
	uint32_t jited_bytes;	/* its native code, 0 when not JITed */
	uint64_t load_time;	/* ns since boot (CLOCK_BOOTTIME) */
};
struct kh_bpf_map {
	uint64_t addr;		/* struct bpf_map */
	uint32_t id, type;
	char type_name[24];
	char name[16];
	uint32_t key_size, value_size, max_entries, flags;
};
struct kh_bpf_list {
	struct kh_result result;
	unsigned int nr_progs, nr_maps;
	struct kh_bpf_prog *progs;
	struct kh_bpf_map *maps;
};
int kh_ebpf(struct kh_vm *vm, struct kh_bpf_list **listp, struct kh_err *err);
void kh_bpf_list_free(struct kh_bpf_list *list);

/*
 * What a rootkit changes to hide itself, found by comparing what the
 * guest kernel keeps of the same thing in two places, or by checking a
 * hook against the code it must point at (Volatility's psxview,
 * check_modules, check_syscall, check_idt, malfind, and hooks that live
 * outside the kernel's own text). One finding per thing found; a clean
 * guest has none.
 */
enum kh_check_id {
	KH_CHECK_HIDDEN_PROCESSES,	/* in the pid IDR, a children list or a
					 * run queue, not the task list */
	KH_CHECK_HIDDEN_MODULES,	/* in sysfs or the loader's memory, not
					 * the modules list */
	KH_CHECK_SYSCALLS,		/* sys_call_table entries */
	KH_CHECK_IDT,			/* interrupt gates */
	KH_CHECK_KPROBES,		/* handlers outside the kernel's text */
	KH_CHECK_FTRACE,		/* ftrace callbacks outside it */
	KH_CHECK_NETFILTER,		/* hooks outside the kernel's text */
	KH_CHECK_MALFIND,		/* executable anonymous or memfd memory */
	KH_CHECK_PROCFS,		/* /proc's operations, /proc/net's too */
	KH_CHECK_TTY,			/* tty drivers' and line disciplines' */
	KH_CHECK_NR
};
/* "hidden_processes", ... as the JSON and the CLI name them. */
const char *kh_check_name(enum kh_check_id id);

struct kh_finding {
	enum kh_check_id check;
	char what[160];		/* a sentence: what is wrong */
	int32_t pid;		/* the process concerned, or 0 */
	char comm[KH_COMM_LEN];	/* its name, or "" */
	uint64_t addr;		/* the object: task, module, table slot ... */
	uint64_t target;	/* the code it points at, or 0 */
	uint64_t end;		/* the end of a memory range found, or 0 */
	char target_sym[128];	/* "symbol+0x10", "module+0x40", or "" */
	char owner[80];		/* the module that holds target, or "";
				 * " (hidden)" after a 55-byte name fits */
	char expected[128];	/* what it should be, or "" */
	/*
	 * Hooks (kprobes, ftrace, netfilter), as kh_hooks() lists them too,
	 * and operations tables (procfs, tty):
	 */
	char hooked[128];	/* the probed or traced code, "ipv4 LOCAL_IN";
				 * the object: "/proc/net/tcp", "tty ttyS0" */
	char role[24];		/* "pre", "post", "kretprobe", "entry"; "func",
				 * "saved_func"; "hook"; the table's member:
				 * "show", "receive_buf" */
	int32_t priority;	/* a netfilter hook's */
	uint32_t netns;		/* its network namespace's inode number */
	int suspect;		/* kh_check() reports it (always, there) */
};
struct kh_check_status {
	int ran;		/* the check could run on this kernel */
	unsigned int examined;	/* objects it compared */
	unsigned int findings;
	char problem[256];	/* why it did not run, or what it missed */
};
struct kh_check_report {
	struct kh_result result;	/* marked when a check missed things */
	struct kh_check_status checks[KH_CHECK_NR];
	unsigned int nr;
	struct kh_finding *findings;
};
/* mask: bits (1 << KH_CHECK_*) to run, 0 for every check. */
int kh_check(struct kh_vm *vm, unsigned int mask,
	     struct kh_check_report **reportp, struct kh_err *err);
void kh_check_report_free(struct kh_check_report *report);

/*
 * Every hook the kprobes, ftrace and netfilter checks look at, whether it
 * is a finding or not (Volatility's kprobes, tracing.ftrace and
 * netfilter listings): mask bits (1 << KH_CHECK_KPROBES, _FTRACE,
 * _NETFILTER), 0 for the three. One finding per handler: a kprobe's
 * pre, post and kretprobe handlers, an ftrace_ops's callback (and its
 * saved_func when a pid filter put another in front), each netfilter
 * hook of every network namespace; suspect where kh_check() would
 * report it, target_sym naming the code in the kernel or a module. The
 * status's findings count every hook. At most 65536 are listed (marked);
 * past that a suspect one takes the place of a listed harmless one.
 */
int kh_hooks(struct kh_vm *vm, unsigned int mask,
	     struct kh_check_report **reportp, struct kh_err *err);

/* Network interfaces of the initial network namespace. */
#define KH_IFADDR_MAX 16
struct kh_ifaddr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network byte order */
	unsigned int prefixlen;
};
struct kh_iface {
	char name[16];
	int32_t index;
	uint32_t netns;		/* its network namespace's inode number */
	uint32_t flags;		/* IFF_*, as /sys/class/net/NAME/flags */
	/*
	 * As SIOCGIFFLAGS and ip link show them (dev_get_flags()): flags
	 * with RUNNING, LOWER_UP and DORMANT from the link's state.
	 */
	uint32_t link_flags;
	uint8_t operstate;	/* IF_OPER_*: 0 unknown .. 6 up */
	uint16_t type;		/* ARPHRD_*: 1 ether, 772 loopback */
	uint32_t mtu;
	uint8_t mac[32];
	uint32_t mac_len;
	uint32_t nr_addrs;
	struct kh_ifaddr addrs[KH_IFADDR_MAX];
	uint64_t dev;		/* struct net_device */
	/*
	 * With kh_iface_stats(), where stats is 1: what /proc/net/dev and
	 * ip -s show, summed over the CPUs as the driver's own
	 * ndo_get_stats64 does (loopback, dummy, tunnels' tstats) or from
	 * dev->stats for a driver without one. 0: a driver that keeps
	 * counters its own way, not read.
	 */
	int stats;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};
struct kh_iface_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_iface *ifaces;
};
int kh_ifaces(struct kh_vm *vm, struct kh_iface_list **listp,
	      struct kh_err *err);
void kh_iface_list_free(struct kh_iface_list *list);
/* Fills the counters. Failures mark the list; -errno: VM gone. */
int kh_iface_stats(struct kh_vm *vm, struct kh_iface_list *list,
		   struct kh_err *err);

/*
 * Open files, as readlink(/proc/PID/fd/FD) and lsof show them. The bytes
 * of type and path past their NUL are unspecified.
 */
struct kh_file {
	int32_t pid;		/* tgid */
	/* The thread whose own fd table has it (unshare(CLONE_FILES)); 0:
	 * the process's table, which its threads share */
	int32_t tid;
	int32_t fd;
	char type[8];		/* REG DIR CHR BLK FIFO SOCK LNK a_inode */
	uint64_t inode;
	char path[256];		/* "/dev/null", "socket:[123]", "pipe:[45]" */
	uint64_t addr;		/* struct file */
	uint64_t sock;		/* struct sock of a socket, else 0 */
	/* With kh_file_details() (else 0): what lsof adds. */
	char mode;		/* 'r', 'w', 'u' (both), as lsof's FD suffix; ' ' */
	uint64_t pos;		/* the file offset */
	uint64_t size;		/* the inode's size */
	uint32_t dev;		/* its file system's (MAJOR << 20 | MINOR) */
	uint32_t rdev;		/* a device file's device, the same way */
	uint16_t family;	/* a socket's AF_*, else 0 */
};
struct kh_file_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_file *files;
	int details;		/* kh_file_details() filled them */
};
/* pid 0: every process. */
int kh_files(struct kh_vm *vm, int32_t pid, struct kh_file_list **listp,
	     struct kh_err *err);
void kh_file_list_free(struct kh_file_list *list);
/*
 * Fills each file's mode, offset, size, devices and socket family, as lsof
 * shows them. Reads that fail mark the list; -errno when the VM is gone.
 */
int kh_file_details(struct kh_vm *vm, struct kh_file_list *list,
		    struct kh_err *err);

/* Network connections, as /proc/net/{tcp,tcp6,udp,udp6,unix}. */
#define KH_CONN_PIDS 8
struct kh_conn {
	char proto[8];		/* tcp tcp6 udp udp6 unix */
	uint8_t local[16];	/* network byte order; IPv4 in the first 4 */
	uint8_t remote[16];
	uint16_t lport, rport;	/* host byte order */
	char state[16];		/* ESTABLISHED, LISTEN, ...; udp: UNCONN or
				 * ESTABLISHED; unix: LISTEN, CONNECTED,
				 * UNCONNECTED */
	char type[12];		/* stream, dgram, seqpacket */
	uint64_t inode;
	char path[108];		/* unix: bound path ("@..." abstract), or "" */
	uint64_t sock;		/* struct sock (or its mini-socket) */
	char found[8];		/* "fd": a process holds it open; "hash":
				 * only the kernel's socket hash tables
				 * have it (kh_conns_unheld) */
	int mini;		/* found "hash" as a TIME_WAIT or request
				 * mini-socket: no struct sock, no queues */
	uint32_t nr_pids;
	int32_t pids[KH_CONN_PIDS];	/* processes holding it open */
	/*
	 * With kh_conn_queues(), as ss shows them: a listener's pending
	 * and most connections; else bytes not yet read and not yet sent
	 * (acknowledged, for TCP; memory charged, for UDP and unix).
	 */
	uint32_t recv_q, send_q;
};
struct kh_conn_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_conn *conns;
	int queues;		/* kh_conn_queues() filled them */
};
int kh_conns(struct kh_vm *vm, struct kh_conn_list **listp,
	     struct kh_err *err);
/*
 * kh_conns() from open files already in hand (kh_files(), of every
 * process or of one), sparing the walk of the fd tables that finding the
 * sockets costs: the sockets among files.
 */
int kh_conns_of(struct kh_vm *vm, const struct kh_file_list *files,
		struct kh_conn_list **listp, struct kh_err *err);
void kh_conn_list_free(struct kh_conn_list *list);
/*
 * Adds to list the TCP and UDP sockets that no process holds, from the
 * kernel's socket hash tables (TCP's established and listening hashes,
 * UDP's table): connections not yet accept()ed, TIME_WAIT, half-open
 * requests (SYN_RECV), kernel sockets, and sockets whose only reference
 * is in flight (an SCM_RIGHTS message nobody received). Each has found
 * "hash" and no pids, and its socket's inode (0 when it has none, as
 * /proc/net/tcp says). Failures mark the list; -errno: VM gone.
 */
int kh_conns_unheld(struct kh_vm *vm, struct kh_conn_list *list,
		    struct kh_err *err);
/* Fills recv_q and send_q. Failures mark the list; -errno: VM gone. */
int kh_conn_queues(struct kh_vm *vm, struct kh_conn_list *list,
		   struct kh_err *err);

/* A process's memory map, as /proc/PID/maps. */
struct kh_vma {
	uint64_t start, end;
	char perms[5];		/* "r-xp" */
	uint64_t offset;	/* bytes into the file */
	uint64_t inode;
	/* file, [heap], [stack], [vdso], or ""; bytes past the NUL unset */
	char path[256];
	uint64_t file;		/* the struct file mapped, or 0 */
	/* With kh_vma_devices(): the file's file system, MAJOR << 20 | MINOR. */
	uint32_t dev;
};
struct kh_vma_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_vma *vmas;
	int devices;		/* kh_vma_devices() filled them */
};
int kh_maps(struct kh_vm *vm, int32_t pid, struct kh_vma_list **listp,
	    struct kh_err *err);
/*
 * Fills each file mapping's dev, the device column of /proc/PID/maps.
 * Reads that fail mark the list; -errno when the VM is gone.
 */
int kh_vma_devices(struct kh_vm *vm, struct kh_vma_list *list,
		   struct kh_err *err);
void kh_vma_list_free(struct kh_vma_list *list);

/*
 * The ELF objects mapped in every process (or in process pid), as
 * Volatility's linux.elfs lists them: each file mapping at offset 0 whose
 * first bytes are an ELF header, from its start to the end of the
 * mappings of the same file that follow it; exe for the one mapped from
 * the process's executable (mm->exe_file). With libs, the executables
 * are left out: the libraries and the dynamic loader. A header page that
 * is not present is listed with resident 0 and no type when the object
 * has an executable mapping (keyhole never faults a page in). At most
 * 65536 objects per process and 2^20 in all, marked. By pid, then
 * address.
 */
struct kh_elf {
	int32_t pid;
	char comm[KH_COMM_LEN];
	uint64_t start, end;
	uint64_t inode;
	char path[256];
	uint16_t type;		/* e_type: 1 REL, 2 EXEC, 3 DYN, 4 CORE */
	uint8_t bits;		/* 32 or 64 (EI_CLASS), 0 if neither */
	uint8_t resident;
	uint8_t exe;
};
struct kh_elf_list {
	struct kh_result result;
	unsigned int nr;
	struct kh_elf *elfs;
};
int kh_elfs(struct kh_vm *vm, int32_t pid, int libs,
	    struct kh_elf_list **listp, struct kh_err *err);
void kh_elf_list_free(struct kh_elf_list *list);

/*
 * Halting the guest: stops every vCPU and resumes it. Pauses nest; a
 * guest that was already paused by someone else is left paused by the
 * matching resume. A halting technique uses its own pause; kmap uses
 * keyhole.ko's (no monitor involved); otherwise QMP "stop" and "cont"
 * (libvirt's suspend and resume for a domain), which need the VM's QMP
 * socket or its libvirt connection.
 */
int kh_vm_pause(struct kh_vm *vm, struct kh_err *err);
int kh_vm_resume(struct kh_vm *vm, struct kh_err *err);
/*
 * keyhole.ko ends a pause by itself after its pause_timeout_ms (2 s by
 * default), so that a holder that died never leaves a guest frozen. A
 * caller that keeps a guest paused for longer calls this more often than
 * that (reads under the pause renew it too). 0, or -ETIMEDOUT when the
 * module had ended the pause already: the guest ran meanwhile (it is
 * paused again now). A pause through QMP needs no renewal: 0. -EINVAL
 * without a pause.
 */
int kh_vm_keep_paused(struct kh_vm *vm, struct kh_err *err);
/*
 * The id keyhole.ko gave this handle's attachment, which its netlink
 * events (family "keyhole") carry: 0, or -ENOENT when the technique does
 * not attach through the module.
 */
int kh_vm_kmod_session(const struct kh_vm *vm, uint64_t *session_id);

/*
 * The inconsistency types of Suneja et al. (VEE 2015) section 5.1, counted
 * per crawl (Documentation/consistency.md says how each is detected).
 */
struct kh_consistency {
	unsigned int zombie;		/* I.A: dead, not yet reaped */
	unsigned int dying;		/* I.B: exiting, state still there */
	unsigned int as_good_as_dead;	/* I.C: exiting, mm already gone */
	unsigned int fresh;		/* I.D: too young to be whole */
	unsigned int died;		/* II.A: died during the crawl */
	unsigned int changed;		/* II.B: attributes changed during it */
};

/* Per process with an mm: what the task list does not hold. */
struct kh_proc_state {
	int32_t pid;
	uint64_t task, mm;		/* its task_struct and mm_struct */
	struct kh_vma_list *maps;
	uint64_t rss_pages;
	size_t cmdline_len;		/* NUL-separated, as /proc/PID/cmdline */
	char cmdline[1024];		/* truncated beyond this */
};

/* One monitoring iteration: the paper's whole generic state. */
struct kh_crawl {
	struct kh_os_info os;
	struct kh_mem_info mem;
	struct kh_task_list *tasks;	/* threads included */
	struct kh_module_list *modules;
	struct kh_iface_list *ifaces;
	struct kh_file_list *files;
	struct kh_conn_list *conns;
	unsigned int nr_procs;
	struct kh_proc_state *procs;	/* per process with an mm */
	struct kh_consistency consistency;
	unsigned int nr_skipped;	/* tasks whose state was not read */
	struct kh_result result;	/* first problem of any part */
	double wall_ms, cpu_ms;		/* cost of this crawl */
	uint64_t read_calls, read_bytes;
	int paused;			/* the guest was halted throughout */
	/* kh_crawl_since: processes whose state was kept, not walked */
	unsigned int nr_reused;
	/* With KH_CRAWL_CHECK: keyhole check's report, else NULL. */
	struct kh_check_report *check;
	struct kh_crawl_memo *memo;	/* internal: what the next one checks */
};

#define KH_CRAWL_PAUSE	(1u << 0)	/* halt the guest while crawling */
/*
 * Every read goes to the technique as the walkers ask for it, with no
 * page cache for the crawl: what a crawl cost before there was one, for
 * comparison. A technique that maps guest RAM has no such cache anyway.
 */
#define KH_CRAWL_UNCACHED (1u << 1)
/*
 * Every rootkit check too (kh_check), at the crawl's end, on the same
 * hold: the crawl record gains "check". The check takes the crawl's task
 * list, modules and memory maps rather than reading them again, and
 * under kh_crawl_since fetches ahead the pages the last crawl's check
 * read: it then costs less than the crawl itself.
 */
#define KH_CRAWL_CHECK	(1u << 2)
/*
 * The page cache, but no walk reads ahead (the task list through the pid
 * IDR, files' paths breadth first; pvreadv only): what a crawl cost
 * before the read-ahead, for comparison. The results are the same.
 */
#define KH_CRAWL_NO_READ_AHEAD (1u << 3)

int kh_crawl(struct kh_vm *vm, unsigned int flags, struct kh_crawl **crawlp,
	     struct kh_err *err);

/*
 * A crawl's budget, so that no guest (a slow technique, a huge guest, a
 * hostile one) can make a crawl take a caller's time or memory without
 * end. time_ms: wall time from the crawl's start; past it every read
 * fails, the walks end and the crawl fails with ETIME (checked every 16
 * read batches, so it overshoots by at most 16 batches; one read that
 * hangs ends by the technique's own timeout). memory_bytes: what the
 * crawl's results hold, counted after each walk and each process's maps
 * (a walk alone is bounded by what guest RAM could hold); over it the
 * crawl fails with ENOBUFS. 0 is no limit. A failed crawl frees what it
 * had read, and a guest it halted runs again.
 */
struct kh_crawl_budget {
	uint32_t time_ms;
	uint64_t memory_bytes;
};
int kh_crawl_within(struct kh_vm *vm, unsigned int flags,
		    const struct kh_crawl_budget *budget,
		    struct kh_crawl **crawlp, struct kh_err *err);
void kh_crawl_free(struct kh_crawl *crawl);

/*
 * An incremental crawl: kh_crawl_within that also keeps, per process,
 * every read its state (maps, argv, rss) came from, and takes prev (an
 * earlier kh_crawl_since of the same VM, or NULL) into account: a process
 * of prev whose reads all give the same bytes again, read now in one
 * batch, keeps prev's state instead of being walked again (nr_reused
 * counts them). Never stale: the state kept is exactly what walking again
 * would return, and a state read while the guest changed under it is
 * never kept. Everything else, and the task list that the consistency
 * counters come from, is read afresh: the counters are a full crawl's.
 * prev stays the caller's; free both.
 */
int kh_crawl_since(struct kh_vm *vm, unsigned int flags,
		   const struct kh_crawl_budget *budget,
		   const struct kh_crawl *prev, struct kh_crawl **crawlp,
		   struct kh_err *err);

/*
 * What the access technique cost the guest, summed over the handle's life:
 * how long it kept the guest stopped (halting techniques, and snapshots
 * that stop it), and how long taking snapshots took.
 */
struct kh_access_cost {
	uint64_t halted_ns;
	uint64_t snapshot_ns;
};
void kh_vm_get_access_cost(const struct kh_vm *vm,
			   struct kh_access_cost *cost);

/*
 * Snapshot techniques (KH_TECHNIQUE_SNAPSHOT): replaces the handle's copy
 * of guest RAM with a new one; later reads see the new one. -EOPNOTSUPP
 * for other techniques. Not to be called while other threads read.
 */
int kh_vm_snapshot(struct kh_vm *vm, struct kh_err *err);

/*
 * Results as text and JSON, the same for every program that prints them
 * (the keyhole command, a daemon). Text that comes from guest memory is
 * made printable (except where said below), so that a hostile guest can
 * neither steer a terminal nor make a string that is not valid UTF-8.
 * The kh_format_* helpers give the text forms of fields that both the
 * encoders and a program's text tables show; every buffer's size counts
 * its NUL and is at least 1, and what does not fit is cut.
 */

/*
 * Copies the C string in to out (size bytes, NUL-terminated): printable
 * ASCII kept, every other byte '?'; at most size - 1 bytes of in are
 * read, so in need not be terminated within size.
 */
void kh_printable(const char *in, size_t size, char *out);

/* "02:00:00:00:00:42" from len bytes; "" for none; whole bytes only. */
void kh_format_mac(const uint8_t *mac, unsigned int len, char *buf,
		   size_t size);

/*
 * "10.99.0.1/24", "fd00:99::1/64"; "?" and -1 for a family other than
 * AF_INET and AF_INET6, else 0.
 */
int kh_format_ifaddr(const struct kh_ifaddr *addr, char *buf, size_t size);

/*
 * One end of a connection, as netstat shows it: "127.0.0.1:7777",
 * "[::1]:7780"; a unix socket's printable path at the local end, "-" at
 * the remote end or without a path.
 */
void kh_format_endpoint(const struct kh_conn *conn, int local, char *buf,
			size_t size);

/*
 * The printable comm of process tgid in tasks, which must be sorted by
 * pid (it is looked up by binary search); "?" if it is not there or
 * tasks is NULL. out holds KH_COMM_LEN bytes.
 */
void kh_format_comm(const struct kh_task_list *tasks, int32_t tgid,
		    char *out);

/* A technique's KH_TECHNIQUE_* properties: "live,mapped"; "" for none. */
void kh_format_technique_props(unsigned int props, char *buf, size_t size);

/*
 * Each kh_json_* returns a new reference (json_decref() it), or NULL when
 * jansson cannot build it (out of memory, or a string it must refuse, as
 * said below). Objects keep their keys in the order given here (dump
 * them with JSON_PRESERVE_ORDER); addresses are "0x..." strings, counts
 * and sizes integers, times seconds or milliseconds as reals. The lists'
 * encoders give arrays and leave out the result's flags and problem:
 * kh_json_listing() makes one a document.
 */

/*
 * Every document a program shows keeps one rule: it is an object that
 * says how the reads behind it went, "incomplete" (true when something
 * could not be read and is missing: KH_RESULT_INCOMPLETE) and "problems"
 * [TEXT] (what the reads met: empty when the result has no flags, else
 * its problem, printable). kh_json_result() adds the two to the object
 * doc (0, or -1 when doc is not an object or out of memory; result NULL
 * is a complete one). kh_json_listing() makes a list doc: {key: list,
 * "incomplete", "problems"}; it takes list's reference, also when it
 * fails (NULL), and returns NULL when list is NULL.
 */
int kh_json_result(json_t *doc, const struct kh_result *result);
json_t *kh_json_listing(const char *key, json_t *list,
			const struct kh_result *result);

/*
 * [{"pid", "tgid", "ppid", "uid", "gid", "state" (one letter), "comm",
 * "start_time" (seconds since boot), "threads"}], in the list's order.
 * A list walked with KH_TASKS_DETAILS adds "addr", "euid", "egid",
 * "start_utc" ("2026-12-05T19:46:11Z", null when the boot time is
 * unknown), "cpu_time" (seconds) and "tty" (null for none); one with
 * KH_TASKS_CMDLINE adds "cmdline" [argv] (null when it has none).
 */
json_t *kh_json_tasks(const struct kh_task_list *list);

/*
 * {"sysname", "nodename", "release", "version", "machine", "domainname",
 * "uptime_s", "cpus_online", "cpus_possible", "loadavg" [1, 5,
 * 15 minutes]}.
 */
json_t *kh_json_os_info(const struct kh_os_info *info);

/*
 * {"total_kb", "free_kb", "available_kb", "buffers_kb", "cached_kb",
 * "shmem_kb"}.
 */
json_t *kh_json_mem_info(const struct kh_mem_info *mem);

/*
 * [{"addr", "name", "size_bytes", "refcount" (-1: not counted), "used_by"
 * (the names of the modules that use it), "state"}].
 */
json_t *kh_json_modules(const struct kh_module_list *list);

/*
 * [{"seq", "ts_ns", "facility" and "level" (names as dmesg -x gives
 * them: "kern", "user", ...; "emerg" ... "debug"), "caller" ("T123" a
 * thread, "C1" a CPU), "text" (escaped as /dev/kmsg escapes it: every
 * byte below 0x20, from 0x7f, and the backslash as \xHH), "cont" (a
 * continuation of the record before it), and "subsystem" and "device"
 * when dev_printk gave them}].
 */
json_t *kh_json_dmesg(const struct kh_kmsg_list *list);

/*
 * {"pid", "comm", "environ" [entries, printable as argv's are]} from a
 * process's environment as kh_task_environ() read it.
 */
json_t *kh_json_environ(const struct kh_task *task, const char *env,
			size_t len);

/*
 * [{"pid", "comm", "addr" (task_struct), "cred", "real_cred", "uid",
 * "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid", "cap_inh",
 * "cap_prm", "cap_eff", "cap_bnd", "cap_amb" (hex strings, as
 * /proc/PID/status's Cap*:), "shared_with" [pids]}].
 */
json_t *kh_json_creds(const struct kh_cred_list *list);

/*
 * [{"pid", "comm", "time" (seconds since the epoch), "command" (kept if
 * valid UTF-8, as bash's `history` prints any byte; else printable),
 * "addr" (the HIST_ENTRY, hex), "in_list"}].
 */
json_t *kh_json_bash(const struct kh_bash_list *list);

/*
 * A kh_hooks() report's hooks of one kind (check): [{"addr" (the kprobe,
 * ftrace_ops or nf_hook_entry), "hooked", "role", "target",
 * "target_symbol", "owner", "suspect", "what"}, and for netfilter
 * "priority" and "netns"].
 */
json_t *kh_json_hooks(const struct kh_check_report *report,
		      enum kh_check_id check);

/*
 * [{"pid", "comm", "start", "end" (hex), "path" (as a map's), "inode",
 * "type" ("EXEC", "DYN", "REL", "CORE", another e_type as a number, or
 * null when not resident), "bits" (32, 64, or null), "exe"}].
 */
json_t *kh_json_elfs(const struct kh_elf_list *list);

/* [{"addr", "type" (one letter), "name" (printable)}]. */
json_t *kh_json_kallsyms(const struct kh_symbol_list *list);

/*
 * {"progs" [{"id", "type", "name", "tag" (16 hex digits), "xlated_bytes",
 * "jited_bytes", "load_time_ns", "addr"}], "maps" [{"id", "type",
 * "name", "key_size", "value_size", "max_entries", "flags", "addr"}]}.
 */
json_t *kh_json_ebpf(const struct kh_bpf_list *list);

/*
 * [{"ns", "id", "parent_id", "devname", "path", "fstype", "options"}]
 * (guest text made printable).
 */
json_t *kh_json_mounts(const struct kh_mount_list *list);

/*
 * {"findings" [{"check", "what", "pid", "comm", "addr", "end", "target",
 * "target_symbol", "owner", "expected", "hooked"} (pid, comm and each
 * address or name only when the finding has one)], "checks" [{"name", "ran",
 * "examined", "findings", "problem"}]}.
 */
json_t *kh_json_check(const struct kh_check_report *report);

/*
 * [{"name", "index", "flags" (IFF_*), "mtu", "mac" (as kh_format_mac),
 * "mac_len", "addrs" [{"family" ("inet", "inet6"), "addr" (without the
 * prefix; "?" for an unknown family), "prefixlen"}], "link_flags" (IFF_*
 * as ip link shows them, with RUNNING, LOWER_UP), "operstate" ("UP",
 * "DOWN", "UNKNOWN", ...), "link_type" ("ether", "loopback", "none", or
 * the ARPHRD_* number), "netns" (its network namespace's inode number,
 * as /proc/PID/ns/net shows it)}], every namespace's, the initial first.
 */
json_t *kh_json_ifaces(const struct kh_iface_list *list);

/*
 * [{"comm" (as kh_format_comm, from tasks sorted by pid; may be NULL),
 * "pid", "fd", "type", "inode", "path", "addr" (struct file), "sock"
 * (struct sock, "0x0" for none)}]. Tasks walked with KH_TASKS_DETAILS
 * add "euid"; a list kh_file_details() filled adds "mode" ("r", "w",
 * "u" or null), "offset", "size_bytes" (-1 past 2^63), "device" and "rdev"
 * ("MAJOR:MINOR") and "family" ("inet", "inet6", "unix", "netlink",
 * "packet", the number for another, null for a file).
 */
json_t *kh_json_files(const struct kh_file_list *list,
		      const struct kh_task_list *tasks);

/*
 * [{"proto", "local", "remote" (addresses without port, "" for unix),
 * "lport", "rport", "state", "inode", "path" (a unix socket's, or ""),
 * "sock", "pids" [...], "type" ("stream", "dgram", "seqpacket")}]; a
 * list kh_conn_queues() filled adds "recv_q" and "send_q".
 */
json_t *kh_json_conns(const struct kh_conn_list *list);

/*
 * [{"start", "end", "perms", "offset", "inode", "path"}]. A path that is
 * valid UTF-8 is kept as it is (JSON escapes its control characters), as
 * /proc/PID/maps shows any byte; any other is made printable.
 */
json_t *kh_json_vmas(const struct kh_vma_list *list);

/*
 * What kh_vm_get_info() says: {"pid", "name", "technique",
 * "layout_source", "ram" [{"gpa", "size_bytes", "hva"}], "kernel_release",
 * "kernel_banner", "kernel_phys", "kernel_virt", "kaslr_slide",
 * "page_offset_base", "paging_levels", "profile_cached", "attach_ms"}.
 * The name and the kernel's strings are kept as they are: NULL if one is
 * not valid UTF-8.
 */
json_t *kh_json_vm_info(const struct kh_vm_info *info);

/*
 * [{"name", "class", "description", one boolean per property ("live",
 * "halting", "snapshot", "agent", "interface", "mapped"), "available",
 * and "reason" when not available}], for kh_techniques()'s list.
 */
json_t *kh_json_techniques(const struct kh_technique *list, unsigned int nr);

/*
 * [{"pid", "start_time", "uid", "gid", "name", "uuid", "libvirt" {"name",
 * "uuid", "uri"} or null, "ram_bytes", "ram_backend", "qmp"}], for
 * kh_qemu_discover()'s list: the fields of struct kh_qemu_proc, "" and 0
 * as there. A string the process chose that is not valid UTF-8 is made
 * printable.
 */
json_t *kh_json_qemu_procs(const struct kh_qemu_proc *list, unsigned int nr);

/*
 * One crawl as one record (keyhole crawl prints one per line):
 * {"iteration", "cost" {"wall_ms", "cpu_ms", "read_bytes", "read_calls"},
 * "consistency" {"I.A_zombie", "I.B_dying", "I.C_as_good_as_dead",
 * "I.D_fresh", "II.A_died", "II.B_changed"}, "skipped", "paused",
 * "incomplete", "problems" (kh_json_result()), then with summary
 * "counts" {"ps", "lsmod", "ifconfig", "lsof", "ss", "proc"}, else the
 * state, each part under the name of the command that shows it alone:
 * "info", "mem", "ps", "lsmod", "ifconfig", "lsof" (comm looked up in
 * the crawl's task list, which is in the guest's order, not by pid: a
 * comm may be "?"), "ss" as the encoders above, and "proc" {"PID":
 * {"cmdline" [each argument printable], "rss_pages", "maps"}}.
 */
json_t *kh_json_crawl(const struct kh_crawl *crawl, unsigned int iteration,
		      int summary);

/*
 * Queries: each keyhole subcommand's read by name, its arguments and its
 * result as JSON, so that the keyhole command and keyholed answer a
 * command with the same code and the same document (broker/lib/query/).
 *
 * Names and arguments (an object; NULL means {}; an unknown key or a
 * value of the wrong type is EINVAL, named in err):
 *   "ps"        {"threads": bool}
 *   "vm", "info", "mem", "lsmod", "ifconfig", "netstat", "dmesg"   {}
 *   "kallsyms"  {"match": string}      (names containing it; printable
 *               ASCII, 1 to 127 bytes; default every symbol)
 *   "lsof", "envars", "creds"   {"pid": int > 0}   (one process; default
 *               every one)
 *   "bash"      {"pid": int > 0}       (that process, whatever its name;
 *               default every process named bash)
 *   "elfs", "libs"   {"pid": int > 0}  (one process; default every one)
 *   "maps"      {"pid": int > 0}       (required)
 *   "crawl"     {"pause": bool, "summary": bool, "iteration": int >= 0,
 *                "budget_ms": int >= 0, "budget_kib": int >= 0}
 *               (kh_crawl_within()'s budget; 0 or absent: none)
 *   "techniques" (kh_query_techniques(): it needs no attached VM)
 * The document is what `keyhole CMD --json` prints, sorted as it prints
 * it, before keyhole adds "technique": an object that says how the reads
 * went (kh_json_result()), a list under the name of the command that
 * shows it ({"ps": [...]}, "lsof", "lsmod", "ifconfig", "maps", "dmesg", "envars", "kallsyms", "creds",
 * "bash", "elfs", "libs", "kprobes", "ftrace", "netfilter", "techniques"; netstat's under "ss"), sorted the way the command shows
 * it (ps by tgid then pid, lsof by pid then fd).
 *
 * The name and the arguments are checked before the VM is touched, so a
 * request can be refused before attaching: with vm NULL, kh_query() fails
 * as it would with a VM for a bad name or bad arguments, and for good
 * ones with "NAME: no VM". Errors: EINVAL for an unknown name (also
 * "techniques", which is not a kh_query()), arguments that are not an
 * object, an unknown key, a value of the wrong type or out of range and
 * maps without its pid; EILSEQ when the document cannot be made (a
 * string jansson refuses, such as a banner that is not UTF-8, or out of
 * memory); else the read's own error. The document says how the reads
 * went as res.flags and res.problem do.
 */
struct kh_query_result {
	json_t *doc;		/* new reference */
	unsigned int flags;	/* KH_RESULT_* of the reads behind doc */
	char problem[256];	/* with flags: what was incomplete */
};

/*
 * 0 with res filled, or -errno with err (res then holds nothing);
 * kh_query_techniques() answers "techniques" for the VM that spec names,
 * as kh_techniques() does, with res.flags 0.
 */
int kh_query(struct kh_vm *vm, const char *name, const json_t *args,
	     struct kh_query_result *res, struct kh_err *err);
int kh_query_techniques(const char *spec, const struct kh_vm_config *cfg,
			struct kh_query_result *res, struct kh_err *err);
/* 1: a query on an attached VM; 2: "techniques"; 0: no such query. */
int kh_query_known(const char *name);
void kh_query_result_release(struct kh_query_result *res);

#ifdef __cplusplus
}
#endif

#endif
