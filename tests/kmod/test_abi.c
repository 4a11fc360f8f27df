// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole.ko's ABI refuses what it must, with the errno uapi/keyhole.h
 * documents: a struct smaller than its first version (EINVAL), unknown
 * non-zero bytes past what the module knows (E2BIG; zero bytes pass),
 * unknown commands and commands sent to the wrong kind of fd (ENOTTY),
 * bad pointers (EFAULT), bad ranges (EINVAL; ENXIO when QEMU has no
 * readable mapping there), writable, executable or private mappings and
 * a later mprotect(PROT_WRITE), attaching to no process or a thread
 * (ESRCH), to itself or a kernel thread (EINVAL), a fd that is no pidfd
 * (EBADF), and callers without the right to ptrace the target: nobody
 * cannot open /dev/keyhole, nor attach to a root process through an fd
 * root opened for it (EPERM). What is valid works: the handshake, attach
 * by pid and by pidfd, ranges, VM_INFO. Arrays of ranges and of read
 * entries grow like the structs (range_size, entry_size), READ tells how
 * far it got when it fails (nr_done), KEYHOLE_READ above its maximum is
 * EINVAL (E2BIG means only the non-zero tail), and an argument the module
 * cannot write back is refused before a PAUSE or RESUME happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"
#include "target/target.h"
#include "target/vmfd.h"

#define RAM_LEN (4UL << 20)
#define PAGE 4096UL

static int dev;

static void check_sizes(int vmfd)
{
	struct {
		struct keyhole_vm_info info;
		uint64_t tail;
	} big;
	struct keyhole_api api;
	uint32_t tiny = 4;

	/* smaller than the first version */
	CHECK(kh_ioctl(dev, KEYHOLE_API, &tiny) == -EINVAL, "API with size 4");
	CHECK(kh_ioctl(vmfd, KEYHOLE_VM_INFO, &tiny) == -EINVAL,
	      "VM_INFO with size 4");

	/* a newer caller: zero tail accepted, non-zero tail refused */
	memset(&big, 0, sizeof(big));
	big.info.size = sizeof(big);
	CHECK(kh_ioctl(vmfd, KEYHOLE_VM_INFO, &big) == 0,
	      "VM_INFO with a zero tail: %s", strerror(errno));
	CHECK(big.tail == 0, "the module wrote past the struct it knows");
	big.tail = 1;
	CHECK(kh_ioctl(vmfd, KEYHOLE_VM_INFO, &big) == -E2BIG,
	      "VM_INFO with a non-zero tail must be E2BIG");

	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	CHECK(kh_ioctl(dev, KEYHOLE_API, &api) == 0, "API: %s", strerror(errno));
	CHECK(api.api_version == KEYHOLE_API_VERSION, "api_version %u",
	      api.api_version);
	CHECK((api.features & (KEYHOLE_FEATURE_MAP | KEYHOLE_FEATURE_READ)) ==
	      (KEYHOLE_FEATURE_MAP | KEYHOLE_FEATURE_READ),
	      "features 0x%llx lack MAP|READ", (unsigned long long)api.features);
	CHECK(api.ioctls & (1ULL << (KEYHOLE_CMD_READ - KEYHOLE_CMD_BASE)),
	      "ioctls 0x%llx lack READ", (unsigned long long)api.ioctls);
}

/* A struct larger than a page, zero beyond what the module knows: E2BIG. */
static void check_huge_size(int vmfd)
{
	struct keyhole_vm_info *info = calloc(1, 2 * PAGE);

	CHECK(info, "calloc");
	info->size = PAGE + 8;
	CHECK(kh_ioctl(vmfd, KEYHOLE_VM_INFO, info) == -E2BIG,
	      "a struct above a page must be E2BIG");
	info->size = PAGE;
	CHECK(kh_ioctl(vmfd, KEYHOLE_VM_INFO, info) == 0,
	      "a zero-tailed struct of a page: %s", strerror(errno));
	free(info);
}

static void check_commands(int vmfd)
{
	struct keyhole_set_ranges sr = {
		.size = sizeof(sr), .range_size = sizeof(struct keyhole_range),
	};
	struct keyhole_api api = { .size = sizeof(api) };
	struct keyhole_read rd = {
		.size = sizeof(rd), .entry_size = sizeof(struct keyhole_read_entry),
	};

	CHECK(kh_ioctl(dev, _IO(KEYHOLE_TYPE, 0xf0), &api) == -ENOTTY,
	      "an unknown command must be ENOTTY");
	CHECK(kh_ioctl(dev, _IOR(KEYHOLE_TYPE, KEYHOLE_CMD_API,
				 struct keyhole_api), &api) == -ENOTTY,
	      "KEYHOLE_API with size bits must be ENOTTY");
	CHECK(kh_ioctl(dev, KEYHOLE_SET_RANGES, &sr) == -ENOTTY,
	      "a per-VM command on /dev/keyhole must be ENOTTY");
	CHECK(kh_ioctl(vmfd, KEYHOLE_API, &api) == -ENOTTY,
	      "a /dev/keyhole command on a per-VM fd must be ENOTTY");
	CHECK(kh_ioctl(vmfd, KEYHOLE_ATTACH, &api) == -ENOTTY,
	      "ATTACH on a per-VM fd must be ENOTTY");

	CHECK(kh_ioctl(dev, KEYHOLE_API, (void *)16) == -EFAULT,
	      "a bad argument pointer must be EFAULT");
	CHECK(kh_ioctl(vmfd, KEYHOLE_VM_INFO, (void *)16) == -EFAULT,
	      "a bad argument pointer must be EFAULT");
	sr.nr_ranges = 1;
	sr.ranges = 16;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -EFAULT,
	      "a bad ranges pointer must be EFAULT");
	sr.range_size = sizeof(struct keyhole_range) - 8;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -EINVAL,
	      "a range_size below the first struct keyhole_range must be EINVAL");
	sr.range_size = 0;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -EINVAL,
	      "range_size 0 must be EINVAL");
	sr.range_size = sizeof(struct keyhole_range);
	sr.flags = 1U << 7;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -EINVAL,
	      "an unknown flag must be EINVAL");
	sr.flags = 0;

	/* E2BIG means one thing only: a larger struct with a non-zero tail */
	rd.nr = KEYHOLE_READ_MAX + 1;
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -EINVAL,
	      "READ above KEYHOLE_READ_MAX must be EINVAL");
	rd.nr = 1;
	rd.entry_size = offsetof(struct keyhole_read_entry, result);
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -EINVAL,
	      "an entry_size without room for the result must be EINVAL");
	rd.entry_size = sizeof(struct keyhole_read_entry);
	rd.entries = 16;
	rd.nr_done = 77;
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -EFAULT,
	      "a bad entries pointer must be EFAULT");
	CHECK(rd.nr_done == 0, "nr_done %u after EFAULT on the first entry",
	      rd.nr_done);
	rd.flags = 1;
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -EINVAL,
	      "READ flags must be 0");
	rd.flags = 0;
	/* unknown bytes are checked: no struct or element above a page */
	rd.entry_size = 4097;
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -E2BIG,
	      "an entry_size above a page must be E2BIG");
	sr.range_size = 4097;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -E2BIG,
	      "a range_size above a page must be E2BIG");
	check_huge_size(vmfd);
}

/*
 * An argument the module cannot write back is refused before anything
 * happens: a PAUSE whose result would be lost must not stay (EFAULT and
 * depth 0), nor a RESUME happen unseen.
 */
static void check_readonly_arg(int vmfd)
{
	struct keyhole_pause p = { .size = sizeof(p),
				   .flags = KEYHOLE_PAUSE_ALL_THREADS,
				   .timeout_ms = 5000 };
	struct keyhole_resume r = { .size = sizeof(r) };
	struct keyhole_vm_info info;
	uint8_t *page;

	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED, "mmap");
	memcpy(page, &p, sizeof(p));
	CHECK(!mprotect(page, PAGE, PROT_READ), "mprotect");
	CHECK(kh_ioctl(vmfd, KEYHOLE_PAUSE, page) == -EFAULT,
	      "PAUSE with a read-only argument must be EFAULT");
	CHECK(kh_info(vmfd, &info) == 0 && info.pause_depth == 0 &&
	      !(info.flags & KEYHOLE_VM_PAUSED),
	      "a PAUSE that failed with EFAULT left depth %u", info.pause_depth);

	CHECK(kh_ioctl(vmfd, KEYHOLE_PAUSE, &p) == 0, "PAUSE: %s",
	      strerror(errno));
	CHECK(!mprotect(page, PAGE, PROT_READ | PROT_WRITE), "mprotect");
	memcpy(page, &r, sizeof(r));
	CHECK(!mprotect(page, PAGE, PROT_READ), "mprotect");
	CHECK(kh_ioctl(vmfd, KEYHOLE_RESUME, page) == -EFAULT,
	      "RESUME with a read-only argument must be EFAULT");
	CHECK(kh_info(vmfd, &info) == 0 && info.pause_depth == 1,
	      "a RESUME that failed with EFAULT changed depth to %u",
	      info.pause_depth);
	CHECK(kh_ioctl(vmfd, KEYHOLE_RESUME, &r) == 0 && r.depth == 0,
	      "RESUME: %s", strerror(errno));
	munmap(page, PAGE);
}

/*
 * The arrays grow as the structs do: a caller that knows a larger
 * element passes its size; a zero tail is fine, a non-zero one is E2BIG
 * (and only that is). FROM_KVM writes whole elements of the caller's
 * size, zeroing what the module does not know. READ tells how far it got
 * even when an entry in the middle cannot be read (EFAULT).
 */
struct range_v2 {
	struct keyhole_range r;
	uint64_t future;
};

struct entry_v2 {
	struct keyhole_read_entry e;
	uint64_t future;
};

static void check_arrays(int vmfd, struct kt_target *t)
{
	struct range_v2 big = { .r = { .gpa = 0, .hva = t->hva, .len = PAGE } };
	struct keyhole_set_ranges sr = {
		.size = sizeof(sr), .nr_ranges = 1,
		.range_size = sizeof(big), .ranges = (uintptr_t)&big,
	};
	struct entry_v2 *ents;
	struct keyhole_read rd = {
		.size = sizeof(rd), .nr = 3, .entry_size = sizeof(*ents),
	};
	uint8_t buf[3][64];
	void *pages;

	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == 0,
	      "a larger range with a zero tail: %s", strerror(errno));
	big.future = 1;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == -E2BIG,
	      "a larger range with a non-zero tail must be E2BIG");
	big.future = 0;
	CHECK(kh_ioctl(vmfd, KEYHOLE_SET_RANGES, &sr) == 0, "set the range back");

	/* three entries, the third on a page that is not there */
	pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(pages != MAP_FAILED, "mmap");
	ents = (struct entry_v2 *)((uint8_t *)pages + PAGE - 2 * sizeof(*ents));
	CHECK(!munmap((uint8_t *)pages + PAGE, PAGE), "munmap");
	memset(ents, 0, 2 * sizeof(*ents));
	ents[0].e = (struct keyhole_read_entry){ .gpa = 0, .len = 64,
						 .buf = (uintptr_t)buf[0] };
	ents[1].e = (struct keyhole_read_entry){ .gpa = 64, .len = 64,
						 .buf = (uintptr_t)buf[1] };
	rd.entries = (uintptr_t)ents;
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -EFAULT,
	      "an entry on a missing page must be EFAULT");
	CHECK(rd.nr_done == 2 && rd.nr_failed == 0,
	      "nr_done %u, nr_failed %u: the two readable entries must be done",
	      rd.nr_done, rd.nr_failed);
	CHECK(ents[0].e.result == 64 && ents[1].e.result == 64,
	      "results %d %d", ents[0].e.result, ents[1].e.result);
	CHECK(!ents[0].future && !ents[1].future, "the tails were written");
	ents[1].future = 1;
	rd.nr = 2;
	CHECK(kh_ioctl(vmfd, KEYHOLE_READ, &rd) == -E2BIG && rd.nr_done == 1,
	      "an entry with a non-zero tail must be E2BIG after the one before (%u done)",
	      rd.nr_done);
	munmap(pages, PAGE);
}

static void check_ranges(int vmfd, struct kt_target *t)
{
	struct keyhole_range r[2], many[KEYHOLE_RANGES_MAX + 1];
	struct keyhole_vm_info info;
	uint32_t i;

	CHECK(kh_set_range(vmfd, 1, t->hva, PAGE) == -EINVAL, "unaligned gpa");
	CHECK(kh_set_range(vmfd, 0, t->hva + 8, PAGE) == -EINVAL,
	      "unaligned hva");
	CHECK(kh_set_range(vmfd, 0, t->hva, PAGE + 1) == -EINVAL,
	      "unaligned len");
	CHECK(kh_set_range(vmfd, 0, t->hva, 0) == -EINVAL, "empty range");
	CHECK(kh_set_range(vmfd, -PAGE, t->hva, 2 * PAGE) == -EINVAL,
	      "gpa + len wraps");
	CHECK(kh_set_range(vmfd, 0, -PAGE, 2 * PAGE) == -EINVAL,
	      "hva + len wraps");
	r[0] = (struct keyhole_range){ .gpa = 0, .hva = t->hva, .len = 2 * PAGE };
	r[1] = (struct keyhole_range){ .gpa = PAGE, .hva = t->hva, .len = PAGE };
	CHECK(kh_set_ranges(vmfd, r, 2) == -EINVAL, "overlapping GPAs");
	memset(many, 0, sizeof(many));
	for (i = 0; i <= KEYHOLE_RANGES_MAX; i++)
		many[i] = (struct keyhole_range){ .gpa = i * PAGE,
						  .hva = t->hva, .len = PAGE };
	CHECK(kh_set_ranges(vmfd, many, KEYHOLE_RANGES_MAX + 1) == -EINVAL,
	      "more than KEYHOLE_RANGES_MAX ranges");
	CHECK(kh_set_ranges(vmfd, many, KEYHOLE_RANGES_MAX) == 0,
	      "KEYHOLE_RANGES_MAX ranges: %s", strerror(errno));

	/* past the end of the target's RAM: a hole in QEMU */
	CHECK(kh_set_range(vmfd, 0, t->hva, t->len + KT_TGT_HUGE) == -ENXIO,
	      "a range running past QEMU's mapping must be ENXIO");
	/* the target's guard area is PROT_NONE: not readable */
	CHECK(kh_set_range(vmfd, 0, t->hva - PAGE, PAGE) == -ENXIO ||
	      kh_set_range(vmfd, 0, t->hva + t->len, PAGE) == -ENXIO,
	      "an unreadable mapping must be ENXIO");
	CHECK(kh_set_range(vmfd, 0, 1UL << 46, PAGE) == -ENXIO,
	      "an unmapped hva must be ENXIO");

	CHECK(kh_set_range(vmfd, 0, t->hva, t->len) == 0,
	      "a good range: %s", strerror(errno));
	CHECK(kh_info(vmfd, &info) == 0, "VM_INFO");
	CHECK(info.nr_ranges == 1 && info.ram_bytes == t->len,
	      "VM_INFO says %u ranges, %llu bytes", info.nr_ranges,
	      (unsigned long long)info.ram_bytes);
	CHECK(info.pid == t->pid, "VM_INFO pid %d, not %d", info.pid,
	      (int)t->pid);
	CHECK(!(info.flags & KEYHOLE_VM_EXITED), "VM_INFO says exited");
}

static void check_mmap(int vmfd)
{
	void *p;

	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, vmfd, 0);
	CHECK(p == MAP_FAILED && errno == EACCES,
	      "a writable mapping must be EACCES (%s)", strerror(errno));
	p = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, vmfd, 0);
	CHECK(p == MAP_FAILED && errno == EACCES,
	      "an executable mapping must be EACCES (%s)", strerror(errno));
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, vmfd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL,
	      "a private mapping must be EINVAL (%s)", strerror(errno));
	p = kh_map(vmfd, 0, PAGE);
	CHECK(p != MAP_FAILED, "a read-only shared mapping: %s",
	      strerror(errno));
	CHECK(mprotect(p, PAGE, PROT_READ | PROT_WRITE) == -1 &&
	      errno == EACCES, "mprotect(PROT_WRITE) must be EACCES");
	CHECK(mprotect(p, PAGE, PROT_READ | PROT_EXEC) == -1 &&
	      errno == EACCES, "mprotect(PROT_EXEC) must be EACCES");
	CHECK(*(volatile uint64_t *)p == 0, "untouched RAM must read 0");
	munmap(p, PAGE);
}

static void *thread_sleep(void *arg)
{
	pause();
	return arg;
}

static void check_attach_targets(struct kt_target *t)
{
	struct keyhole_attach a = { .size = sizeof(a) };
	pthread_t thread;
	pid_t dead, tid;
	int pidfd, vmfd;

	dead = fork();
	CHECK(dead >= 0, "fork");
	if (!dead)
		_exit(0);
	waitpid(dead, NULL, 0);
	CHECK(kh_attach(dev, dead) == -ESRCH, "a reaped pid must be ESRCH");
	CHECK(kh_attach(dev, 0) == -ESRCH, "pid 0 must be ESRCH");
	CHECK(kh_attach(dev, -1) == -ESRCH, "pid -1 must be ESRCH");
	CHECK(kh_attach(dev, getpid()) == -EINVAL, "self must be EINVAL");
	CHECK(kh_attach(dev, 2) == -EINVAL, "kthreadd must be EINVAL");

	/* a thread id that is not a process */
	CHECK(pthread_create(&thread, NULL, thread_sleep, NULL) == 0, "thread");
	for (tid = getpid() + 1; tid < getpid() + 64; tid++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
		if (access(path, F_OK) == 0)
			break;
	}
	CHECK(tid < getpid() + 64, "the thread's id not found");
	CHECK(kh_attach(dev, tid) == -ESRCH, "a non-leader tid must be ESRCH");

	a.flags = 1U << 5;
	a.pid = t->pid;
	CHECK(kh_ioctl(dev, KEYHOLE_ATTACH, &a) == -EINVAL, "unknown flag");
	a.flags = 0;
	a.reserved = 1;
	CHECK(kh_ioctl(dev, KEYHOLE_ATTACH, &a) == -EINVAL, "reserved set");

	a.reserved = 0;
	a.flags = KEYHOLE_ATTACH_PIDFD;
	a.pid = dev;
	CHECK(kh_ioctl(dev, KEYHOLE_ATTACH, &a) == -EBADF,
	      "a fd that is not a pidfd must be EBADF");
	a.pid = 9999;
	CHECK(kh_ioctl(dev, KEYHOLE_ATTACH, &a) == -EBADF,
	      "a closed fd must be EBADF");
	pidfd = syscall(SYS_pidfd_open, t->pid, 0);
	CHECK(pidfd >= 0, "pidfd_open: %s", strerror(errno));
	a.pid = pidfd;
	CHECK(kh_ioctl(dev, KEYHOLE_ATTACH, &a) == 0, "attach by pidfd: %s",
	      strerror(errno));
	vmfd = a.vm_fd;
	CHECK(fcntl(vmfd, F_GETFD) == FD_CLOEXEC, "the per-VM fd is not O_CLOEXEC");
	CHECK(a.session_id != 0, "no session id");
	close(vmfd);
	close(pidfd);
}

/* Whether an unprivileged caller is refused, in a child that drops root. */
static void check_unprivileged(struct kt_target *t)
{
	int status, fd;
	pid_t child;

	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		/* /dev/keyhole is 0600 root */
		fd = open("/dev/keyhole", O_RDWR);
		if (fd >= 0 || errno != EACCES)
			_exit(10);
		/* an fd root opened grants nothing either */
		if (kh_attach(dev, t->pid) != -EPERM)
			_exit(11);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	CHECK(WIFEXITED(status), "the unprivileged child died");
	CHECK(WEXITSTATUS(status) != 3, "setresuid(nobody) failed");
	CHECK(WEXITSTATUS(status) != 10, "nobody could open /dev/keyhole");
	CHECK(WEXITSTATUS(status) != 11,
	      "nobody attached to a root process (must be EPERM)");
	CHECK(WEXITSTATUS(status) == 0, "child exit %d", WEXITSTATUS(status));
}

int main(void)
{
	struct kt_target t;
	int vmfd;

	dev = kt_dev_open();
	CHECK(dev >= 0, "/dev/keyhole");
	CHECK(kt_target_start(&t, RAM_LEN) == 0, "target");
	vmfd = kh_attach(dev, t.pid);
	CHECK(vmfd >= 0, "attach to the target: %s", strerror(-vmfd));

	check_sizes(vmfd);
	check_commands(vmfd);
	check_ranges(vmfd, &t);
	check_arrays(vmfd, &t);
	check_readonly_arg(vmfd);
	check_mmap(vmfd);
	check_attach_targets(&t);
	check_unprivileged(&t);

	close(vmfd);
	kt_target_stop(&t);
	close(dev);
	return KH_PASS;
}
