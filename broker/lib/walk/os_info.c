// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The OS as uname(2), /proc/uptime and /proc/loadavg show it, read from the
 * kernel's own variables: init_uts_ns, the timekeeper in tk_core, the CPU
 * masks and avenrun. Everything but the timekeeper is read in one batch;
 * the timekeeper is read between two reads of its seqcount, in the same
 * batch, and read again if the guest was updating it.
 *
 * Uptime is what /proc/uptime computes, CLOCK_BOOTTIME: monotonic time plus
 * offs_boot. The monotonic part is taken as of the timekeeper's last update,
 * tkr_mono.base + (tkr_mono.xtime_nsec >> shift), because the nanoseconds
 * since then need the clocksource's current count (a TSC or HPET read on
 * the guest's CPU), which the host cannot see. The timekeeper is updated
 * every tick, so this lags the guest's value by at most one tick while the
 * guest is busy, and by the NO_HZ idle period (well under a second unless
 * every CPU idles for long) while it is idle.
 *
 * tk_core is an anonymous static struct { seqcount; struct timekeeper; },
 * so BTF has no type for it: the timekeeper sits after the seqcount, at the
 * seqcount's size rounded up to struct timekeeper's alignment. BTF gives
 * no alignment, so each plausible alignment is tried and the candidate
 * kept whose contents are self-consistent (see tk_boot_ns()).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "walk/toolkit.h"

#define UTS_LEN		64	/* __NEW_UTS_LEN: the uname(2) ABI */
#define FSHIFT		11	/* avenrun's fixed point (sched/loadavg.h) */
#define FIXED_1		(1UL << FSHIFT)
#define NSEC_PER_SEC	1000000000LL
#define TK_ATTEMPTS	20
/* Bounds on BTF sizes: the guest's BTF is as untrusted as its memory. */
#define MAX_TYPE_SIZE	4096
#define MAX_CPUMASK	4096	/* bytes: 32768 CPUs, 4 x NR_CPUS max */

/* One element of a read batch. */
static struct kh_read os_read(uint64_t addr, void *buf, uint32_t len)
{
	return (struct kh_read){ .addr = addr, .buf = buf, .len = len };
}

enum {
	UTS_NAME, UTS_SIZE, UTS_SYSNAME, UTS_NODENAME, UTS_RELEASE,
	UTS_VERSION, UTS_MACHINE, UTS_DOMAINNAME,
	SEQ_SIZE, SEQ_SEQUENCE,
	TK_SIZE, TK_MONO_CLOCK, TK_MONO_MULT, TK_MONO_SHIFT,
	TK_MONO_XTIME_NSEC, TK_MONO_BASE, TK_RAW_CLOCK, TK_KTIME_SEC,
	TK_OFFS_BOOT, TK_OFFS_REAL,
	CPUMASK_SIZE,
	NR_OS_FIELDS
};

static const struct kh_field os_fields[NR_OS_FIELDS] = {
	[UTS_NAME] = { "uts_namespace", "name" },
	[UTS_SIZE] = { "new_utsname", NULL },
	[UTS_SYSNAME] = { "new_utsname", "sysname" },
	[UTS_NODENAME] = { "new_utsname", "nodename" },
	[UTS_RELEASE] = { "new_utsname", "release" },
	[UTS_VERSION] = { "new_utsname", "version" },
	[UTS_MACHINE] = { "new_utsname", "machine" },
	[UTS_DOMAINNAME] = { "new_utsname", "domainname" },
	[SEQ_SIZE] = { "seqcount_raw_spinlock_t", NULL },
	[SEQ_SEQUENCE] = { "seqcount_raw_spinlock_t", "seqcount.sequence" },
	[TK_SIZE] = { "timekeeper", NULL },
	[TK_MONO_CLOCK] = { "timekeeper", "tkr_mono.clock" },
	[TK_MONO_MULT] = { "timekeeper", "tkr_mono.mult" },
	[TK_MONO_SHIFT] = { "timekeeper", "tkr_mono.shift" },
	[TK_MONO_XTIME_NSEC] = { "timekeeper", "tkr_mono.xtime_nsec" },
	[TK_MONO_BASE] = { "timekeeper", "tkr_mono.base" },
	[TK_RAW_CLOCK] = { "timekeeper", "tkr_raw.clock" },
	[TK_KTIME_SEC] = { "timekeeper", "ktime_sec" },
	[TK_OFFS_BOOT] = { "timekeeper", "offs_boot" },
	[TK_OFFS_REAL] = { "timekeeper", "offs_real" },
	[CPUMASK_SIZE] = { "cpumask", NULL },
};

/* Where struct timekeeper may start in tk_core, for each alignment. */
static const uint32_t tk_aligns[] = { 8, 16, 32, 64 };
#define TK_SLACK 64	/* the largest alignment above */

/* /proc/loadavg's rounding of one avenrun value to two decimals. */
static double load_value(uint64_t avg)
{
	avg += FIXED_1 / 200;
	return (double)(avg >> FSHIFT) +
	       (double)(((avg & (FIXED_1 - 1)) * 100) >> FSHIFT) / 100.0;
}

/* Set bits of a cpumask below nr_cpu_ids. */
static unsigned int cpumask_weight(const uint64_t *bits, uint32_t nbits,
				   uint32_t nr_cpu_ids)
{
	unsigned int weight = 0, i;

	if (nr_cpu_ids < nbits)
		nbits = nr_cpu_ids;
	for (i = 0; i < nbits / 64; i++)
		weight += __builtin_popcountll(bits[i]);
	if (nbits % 64)
		weight += __builtin_popcountll(bits[i] &
					       ((1ULL << (nbits % 64)) - 1));
	return weight;
}

/*
 * CLOCK_BOOTTIME in ns as of the last update of the timekeeper image at
 * tk, and when the guest booted by its own wall clock (ns since the
 * epoch: CLOCK_REALTIME less CLOCK_BOOTTIME, offs_real - offs_boot, as
 * /proc/stat's btime), or -EINVAL if tk is not a timekeeper: a real one
 * has a clocksource pointer shared by its mono and raw readers, a usable
 * mult/shift, and the ktime_sec that tk_update_ktime_data() derives from
 * the same base and xtime_nsec.
 */
static int tk_boot_ns(const uint8_t *tk, const uint32_t *off, int64_t *ns,
		      int64_t *boot_wall)
{
	int64_t offs_real = (int64_t)kh_load_u64(tk, off[TK_OFFS_REAL]);
	uint64_t clock = kh_load_u64(tk, off[TK_MONO_CLOCK]);
	uint32_t mult = kh_load_u32(tk, off[TK_MONO_MULT]);
	uint32_t shift = kh_load_u32(tk, off[TK_MONO_SHIFT]);
	uint64_t xtime_nsec = kh_load_u64(tk, off[TK_MONO_XTIME_NSEC]);
	int64_t base = (int64_t)kh_load_u64(tk, off[TK_MONO_BASE]);
	uint64_t ktime_sec = kh_load_u64(tk, off[TK_KTIME_SEC]);
	int64_t offs_boot = (int64_t)kh_load_u64(tk, off[TK_OFFS_BOOT]);
	uint64_t frac, mono;

	/* clock is only compared, never followed: any kernel half will do. */
	if (clock < 0xff00000000000000ULL ||
	    clock != kh_load_u64(tk, off[TK_RAW_CLOCK]) || !mult || !shift ||
	    shift > 63)
		return -EINVAL;
	frac = xtime_nsec >> shift;
	if (base < 0 || frac >= NSEC_PER_SEC || offs_boot < 0 ||
	    offs_boot > INT64_MAX - base - (int64_t)frac)
		return -EINVAL;
	mono = (uint64_t)base + frac;
	if (mono / NSEC_PER_SEC != ktime_sec)
		return -EINVAL;
	*ns = (int64_t)mono + offs_boot;
	*boot_wall = offs_real >= offs_boot ? offs_real - offs_boot : 0;
	return 0;
}

/* The timekeeper's offset in tk_core: the first candidate that holds one. */
static int tk_find(const uint8_t *core, uint32_t seq_size,
		   const uint32_t *off, int64_t *ns, int64_t *boot_wall)
{
	unsigned int i;

	for (i = 0; i < sizeof(tk_aligns) / sizeof(tk_aligns[0]); i++) {
		uint32_t at = (seq_size + tk_aligns[i] - 1) &
			      ~(tk_aligns[i] - 1);

		if (at <= TK_SLACK && !tk_boot_ns(core + at, off, ns, boot_wall))
			return 0;
	}
	return -ENOENT;
}

static void copy_uts(char *dst, const uint8_t *uts, uint32_t uts_size,
		     uint32_t off)
{
	size_t n = off < uts_size ? uts_size - off : 0;

	if (n > UTS_LEN)
		n = UTS_LEN;
	memcpy(dst, uts + off, n);
	dst[n] = '\0';
}

struct os_syms {
	uint64_t uts, avenrun, nr_cpu_ids, online, possible, tk_core;
};

static int find_syms(struct kh_vm *vm, struct os_syms *s, struct kh_err *err)
{
	const struct {
		const char *name;
		uint64_t *va;
	} syms[] = {
		{ "init_uts_ns", &s->uts },
		{ "avenrun", &s->avenrun },
		{ "nr_cpu_ids", &s->nr_cpu_ids },
		{ "__cpu_online_mask", &s->online },
		{ "__cpu_possible_mask", &s->possible },
		{ "tk_core", &s->tk_core },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		ret = kh_sym_va(vm, syms[i].name, syms[i].va, err);
		if (ret)
			return kh_err_prefix(err, "OS information");
	}
	return 0;
}

static int check_sizes(const uint32_t *off, struct kh_err *err)
{
	if (off[UTS_SIZE] > MAX_TYPE_SIZE || off[TK_SIZE] > MAX_TYPE_SIZE ||
	    off[SEQ_SIZE] > TK_SLACK || off[SEQ_SEQUENCE] + 4 > off[SEQ_SIZE] ||
	    !off[CPUMASK_SIZE] || off[CPUMASK_SIZE] > MAX_CPUMASK ||
	    off[CPUMASK_SIZE] % 8)
		return kh_err_set(err, EINVAL,
				  "the guest's BTF gives implausible sizes for new_utsname, timekeeper, seqcount or cpumask");
	if (off[TK_MONO_CLOCK] + 8 > off[TK_SIZE] ||
	    off[TK_MONO_MULT] + 4 > off[TK_SIZE] ||
	    off[TK_MONO_SHIFT] + 4 > off[TK_SIZE] ||
	    off[TK_MONO_XTIME_NSEC] + 8 > off[TK_SIZE] ||
	    off[TK_MONO_BASE] + 8 > off[TK_SIZE] ||
	    off[TK_RAW_CLOCK] + 8 > off[TK_SIZE] ||
	    off[TK_KTIME_SEC] + 8 > off[TK_SIZE] ||
	    off[TK_OFFS_BOOT] + 8 > off[TK_SIZE] ||
	    off[TK_OFFS_REAL] + 8 > off[TK_SIZE])
		return kh_err_set(err, EINVAL,
				  "the guest's BTF puts timekeeper members outside the struct");
	return 0;
}

static int os_unreadable(const struct kh_read *read, struct kh_err *err)
{
	return kh_err_set(err, -read->result,
			  "OS information: cannot read %u bytes at kernel address 0x%llx",
			  read->len, (unsigned long long)read->addr);
}

int kh_os_info(struct kh_vm *vm, struct kh_os_info *info, struct kh_err *err)
{
	uint8_t uts[MAX_TYPE_SIZE], core[TK_SLACK + MAX_TYPE_SIZE];
	uint64_t online[MAX_CPUMASK / 8], possible[MAX_CPUMASK / 8];
	uint64_t avenrun[3];
	uint32_t nr_cpu_ids, seq_before = 0, seq_after = 0, stuck_seq = 0;
	struct os_syms s;
	const uint32_t *off;
	struct kh_read reads[8];
	unsigned int attempt, i, nr;
	int64_t boot_ns = 0, boot_wall = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	memset(info, 0, sizeof(*info));
	ret = kh_offsets(vm, os_fields, NR_OS_FIELDS, &off, err);
	if (!ret)
		ret = check_sizes(off, err);
	if (!ret)
		ret = find_syms(vm, &s, err);
	if (ret)
		return ret;

	nr = 0;
	reads[nr++] = os_read(s.uts + off[UTS_NAME], uts, off[UTS_SIZE]);
	reads[nr++] = os_read(s.avenrun, avenrun, sizeof(avenrun));
	reads[nr++] = os_read(s.nr_cpu_ids, &nr_cpu_ids, 4);
	reads[nr++] = os_read(s.online, online, off[CPUMASK_SIZE]);
	reads[nr++] = os_read(s.possible, possible, off[CPUMASK_SIZE]);
	ret = kh_kva_fetch(vm, reads, nr, err);
	for (i = 0; ret >= 0 && i < nr; i++)
		if (reads[i].result)
			return os_unreadable(&reads[i], err);
	if (ret < 0)
		return ret;
	for (attempt = 0; attempt < TK_ATTEMPTS; attempt++) {
		/*
		 * Sequence and timekeeper (a batch is read in order), then
		 * the sequence again: each when it is made, past the
		 * operation's page cache, which would give older copies.
		 */
		reads[0] = os_read(s.tk_core + off[SEQ_SEQUENCE], &seq_before,
				   4);
		reads[1] = os_read(s.tk_core, core, TK_SLACK + off[TK_SIZE]);
		reads[2] = os_read(s.tk_core + off[SEQ_SEQUENCE], &seq_after,
				   4);
		ret = kh_kva_fetch_fresh(vm, reads, 2, err);
		if (ret >= 0)
			ret = kh_kva_fetch_fresh(vm, reads + 2, 1, err);
		if (ret < 0)
			return ret;
		for (i = 0; i < 3; i++)
			if (reads[i].result)
				return os_unreadable(&reads[i], err);
		if (!(seq_before & 1) && seq_before == seq_after)
			break;
		/*
		 * An update takes microseconds; the same odd count a
		 * millisecond later means the guest is halted inside one
		 * (QMP stop can land there) or lying: retrying cannot help.
		 */
		if (attempt && seq_before == stuck_seq)
			break;
		stuck_seq = seq_before;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	memset(&info->result, 0, sizeof(info->result));
	if ((seq_before & 1) || seq_before != seq_after)
		kh_mark(&info->result, KH_RESULT_INCONSISTENT,
			"the guest's timekeeper was mid-update in every read (sequence %u); uptime may be torn",
			seq_before);
	if (tk_find(core, off[SEQ_SIZE], off, &boot_ns, &boot_wall)) {
		kh_mark(&info->result, KH_RESULT_INCOMPLETE,
			"no consistent struct timekeeper in the guest's tk_core: uptime unknown");
		boot_ns = boot_wall = 0;
	}

	copy_uts(info->sysname, uts, off[UTS_SIZE], off[UTS_SYSNAME]);
	copy_uts(info->nodename, uts, off[UTS_SIZE], off[UTS_NODENAME]);
	copy_uts(info->release, uts, off[UTS_SIZE], off[UTS_RELEASE]);
	copy_uts(info->version, uts, off[UTS_SIZE], off[UTS_VERSION]);
	copy_uts(info->machine, uts, off[UTS_SIZE], off[UTS_MACHINE]);
	copy_uts(info->domainname, uts, off[UTS_SIZE], off[UTS_DOMAINNAME]);
	info->uptime = (double)boot_ns / NSEC_PER_SEC;
	info->boot_time = boot_wall;
	info->cpus_online = cpumask_weight(online, off[CPUMASK_SIZE] * 8,
					   nr_cpu_ids);
	info->cpus_possible = cpumask_weight(possible, off[CPUMASK_SIZE] * 8,
					     nr_cpu_ids);
	for (i = 0; i < 3; i++)
		info->loadavg[i] = load_value(avenrun[i]);
	return kh_vm_verify(vm, err);
}
