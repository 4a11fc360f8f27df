// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rules of KEYHOLE_PAUSE/RESUME on one per-VM fd: RESUME without a
 * pause is EALREADY; pauses nest and count (only the outermost parks, only
 * the last RESUME lets the vCPUs go); KEYHOLE_PAUSE_DEPTH_MAX levels and
 * no more (EOVERFLOW); bad flags and reserved fields are EINVAL;
 * a second session's PAUSE of a VM the first holds fails with ETIMEDOUT,
 * then any PAUSE of those threads is EBUSY while the works it queued wait,
 * one interrupted by a signal is EINTR, and nothing stays paused;
 * KEYHOLE_PAUSE_ALL_THREADS also stops QEMU's main loop (QMP goes quiet);
 * VM_INFO reports depth, vCPUs and pauses. (Without debug-threads=on:
 * test_pause_kvm_names.)
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "test_pause.h"

#define SMP 2

static unsigned int nr_tasks(pid_t pid)
{
	char path[64];
	struct dirent *de;
	unsigned int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	CHECK(dir, "opendir %s: %s", path, strerror(errno));
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * A second QMP monitor, only for probing: does QEMU's main loop accept a
 * new connection and greet it within ms? It cannot while it is parked.
 * (kt's own monitor connection is busy: QEMU serves one client per
 * monitor.)
 */
static char probe_dir[] = "/tmp/kp-nest.XXXXXX";
static char probe_arg[128], probe_path[64];

static bool qmp_answers(unsigned int ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	int fd, ret;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", probe_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0, "socket: %s", strerror(errno));
	/* the listening socket queues us even when nobody accepts */
	CHECK(!connect(fd, (struct sockaddr *)&sun, sizeof(sun)),
	      "connect %s: %s", sun.sun_path, strerror(errno));
	pfd.fd = fd;
	pfd.events = POLLIN;
	ret = poll(&pfd, 1, ms);
	close(fd);
	return ret > 0;
}

static void nesting(struct kt_l2 *l2, int vm)
{
	struct keyhole_vm_info info;
	struct keyhole_pause p;
	struct keyhole_resume r;
	unsigned int d;
	int err;

	err = kp_resume(vm, NULL);
	CHECK(err == -EALREADY, "RESUME without a pause: %s, not EALREADY",
	      strerror(-err));

	for (d = 1; d <= 3; d++) {
		err = kp_pause(vm, 0, KP_HOLD_MS, &p);
		CHECK(!err, "PAUSE at depth %u: %s", d - 1, strerror(-err));
		CHECK(p.depth == d, "depth %u, not %u", p.depth, d);
		CHECK(p.nr_threads == SMP, "nr_threads %u, not %d",
		      p.nr_threads, SMP);
		CHECK(d == 1 ? p.park_ns > 0 : p.park_ns == 0,
		      "park_ns %llu at depth %u", (unsigned long long)p.park_ns, d);
	}
	err = kp_vm_info(vm, &info);
	CHECK(!err, "VM_INFO: %s", strerror(-err));
	CHECK(info.pause_depth == 3 && info.nr_vcpus == SMP &&
	      (info.flags & KEYHOLE_VM_PAUSED),
	      "VM_INFO while paused 3 deep: depth %u, vcpus %u, flags 0x%x",
	      info.pause_depth, info.nr_vcpus, info.flags);
	CHECK(info.pauses == 1, "VM_INFO: %llu pauses, nested ones count once",
	      (unsigned long long)info.pauses);

	for (d = 3; d > 1; d--) {
		err = kp_resume(vm, &r);
		CHECK(!err && r.depth == d - 1 && r.paused_ns == 0,
		      "RESUME at depth %u: %s, depth %u, paused_ns %llu", d,
		      strerror(-err), r.depth, (unsigned long long)r.paused_ns);
		kp_expect_frozen(l2, 100, 2, "still paused after an inner RESUME");
	}
	err = kp_resume(vm, &r);
	CHECK(!err && r.depth == 0 && r.paused_ns > 0,
	      "last RESUME: %s, depth %u, paused_ns %llu", strerror(-err),
	      r.depth, (unsigned long long)r.paused_ns);
	kp_expect_running(l2, KP_RUN_MS, "after the last RESUME");
	err = kp_resume(vm, NULL);
	CHECK(err == -EALREADY, "a RESUME too many: %s, not EALREADY",
	      strerror(-err));
}

static void depth_limit(struct kt_l2 *l2, int vm)
{
	struct keyhole_pause p;
	unsigned int d;
	int err;

	for (d = 1; d <= KEYHOLE_PAUSE_DEPTH_MAX; d++) {
		err = kp_pause(vm, 0, KP_HOLD_MS, &p);
		CHECK(!err && p.depth == d, "PAUSE %u: %s, depth %u", d,
		      strerror(-err), p.depth);
	}
	err = kp_pause(vm, 0, KP_HOLD_MS, NULL);
	CHECK(err == -EOVERFLOW, "PAUSE %d: %s, not EOVERFLOW",
	      KEYHOLE_PAUSE_DEPTH_MAX + 1, strerror(-err));
	for (d = KEYHOLE_PAUSE_DEPTH_MAX; d > 0; d--) {
		err = kp_resume(vm, NULL);
		CHECK(!err, "RESUME at depth %u: %s", d, strerror(-err));
	}
	kp_expect_running(l2, KP_RUN_MS, "after 64 RESUMEs");
	CHECK(kp_resume(vm, NULL) == -EALREADY, "RESUME at depth 0");
}

static void bad_args(int vm)
{
	struct keyhole_pause p = { .size = sizeof(p), .flags = 1u << 31 };
	struct keyhole_resume r = { .size = sizeof(r), .flags = 1 };

	CHECK(ioctl(vm, KEYHOLE_PAUSE, &p) == -1 && errno == EINVAL,
	      "PAUSE with an unknown flag: %s", strerror(errno));
	p.flags = 0;
	p.reserved = 1;
	CHECK(ioctl(vm, KEYHOLE_PAUSE, &p) == -1 && errno == EINVAL,
	      "PAUSE with reserved set: %s", strerror(errno));
	CHECK(ioctl(vm, KEYHOLE_RESUME, &r) == -1 && errno == EINVAL,
	      "RESUME with a flag: %s", strerror(errno));
	CHECK(kp_resume(vm, NULL) == -EALREADY, "nothing stayed paused");
}

static void all_threads(struct kt_l2 *l2, int vm)
{
	struct kp_thread parked[256];
	struct keyhole_pause p;
	unsigned int tasks;
	int err;

	tasks = nr_tasks(l2->pid);
	err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, &p);
	CHECK(!err, "PAUSE ALL_THREADS: %s", strerror(-err));
	CHECK(p.nr_threads > SMP && p.nr_threads <= nr_tasks(l2->pid),
	      "ALL_THREADS parked %u of QEMU's %u threads (%d vCPUs)",
	      p.nr_threads, tasks, SMP);
	kp_expect_frozen(l2, 200, 4, "ALL_THREADS");
	/* QMP's silence means something only if its thread is parked too */
	CHECK(kp_wait_parked(l2->pid, p.nr_threads, parked, ARRAY_SIZE(parked),
			     "ALL_THREADS") == p.nr_threads,
	      "more threads parked than ALL_THREADS took");
	CHECK(!qmp_answers(300), "QMP answered while ALL_THREADS paused");
	CHECK(!kp_resume(vm, NULL), "RESUME after ALL_THREADS");
	kp_expect_running(l2, KP_RUN_MS, "after ALL_THREADS");
	CHECK(qmp_answers(KP_RUN_MS), "QMP does not answer after RESUME");

	/* A nested ALL_THREADS widens a vCPU-only pause. */
	CHECK(!kp_pause(vm, 0, KP_HOLD_MS, &p) && p.nr_threads == SMP,
	      "vCPU-only PAUSE parked %u", p.nr_threads);
	CHECK(qmp_answers(KP_RUN_MS), "QMP must answer under a vCPU-only pause");
	err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, &p);
	CHECK(!err && p.depth == 2 && p.nr_threads > SMP,
	      "widening PAUSE: %s, depth %u, %u threads", strerror(-err),
	      p.depth, p.nr_threads);
	CHECK(!qmp_answers(300), "QMP answered after widening");
	CHECK(!kp_resume(vm, NULL) && !kp_resume(vm, NULL), "two RESUMEs");
	kp_expect_running(l2, KP_RUN_MS, "after the widened pause");
}

static void on_alarm(int sig)
{
}

/*
 * A second session cannot park threads the first holds (they run its
 * work only once released): its PAUSE ends in ETIMEDOUT, and while the
 * works it left wait on those threads, any further PAUSE of them, by it
 * or by a third session, is EBUSY. Once the first resumes, the works run
 * and park no one, and a pause interrupted by a signal ends in EINTR. In
 * no case does anything stay paused.
 */
static void two_sessions(struct kt_l2 *l2, int dev, int vm)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	uint64_t start;
	int other, third, err;

	other = kp_attach(dev, l2->pid, NULL);
	third = kp_attach(dev, l2->pid, NULL);
	CHECK(!kp_pause(vm, 0, KP_HOLD_MS, NULL), "PAUSE session 1");

	start = kt_now_ms();
	err = kp_pause(other, 0, 300, NULL);
	CHECK(err == -ETIMEDOUT, "PAUSE of a VM another session holds: %s, not ETIMEDOUT",
	      strerror(-err));
	CHECK(kt_now_ms() - start >= 290, "ETIMEDOUT after %llu ms, not 300",
	      (unsigned long long)(kt_now_ms() - start));
	CHECK(kp_resume(other, NULL) == -EALREADY, "the failed PAUSE left a pause");
	err = kp_pause(other, 0, 300, NULL);
	CHECK(err == -EBUSY,
	      "PAUSE again while its works wait on the parked threads: %s, not EBUSY",
	      strerror(-err));
	err = kp_pause(third, 0, 300, NULL);
	CHECK(err == -EBUSY,
	      "another session's PAUSE of threads with works waiting: %s, not EBUSY",
	      strerror(-err));

	kp_expect_frozen(l2, 100, 2, "session 1 still holds its pause");
	CHECK(!kp_resume(vm, NULL), "RESUME session 1");
	/* the stale works of session 2 run now and park no one */
	kp_expect_running(l2, KP_RUN_MS, "after session 1 resumed");
	kp_expect_running(l2, KP_RUN_MS, "still running");
	start = kt_now_ms();
	while ((err = kp_pause(other, 0, KP_HOLD_MS, NULL)) == -EBUSY) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "session 2 still EBUSY %u ms after its works could run",
		      KP_RUN_MS);
		usleep(1000);
	}
	CHECK(!err, "session 2 PAUSE after session 1 resumed: %s", strerror(-err));

	/* session 2 holds it now: session 3 waits, and a signal ends that */
	CHECK(!sigaction(SIGALRM, &sa, NULL), "sigaction: %s", strerror(errno));
	ualarm(200000, 0);
	err = kp_pause(third, 0, 3000, NULL);
	CHECK(err == -EINTR, "PAUSE interrupted by a signal: %s, not EINTR",
	      strerror(-err));
	CHECK(kp_resume(third, NULL) == -EALREADY, "the interrupted PAUSE left a pause");
	CHECK(!kp_resume(other, NULL), "RESUME session 2");
	kp_expect_running(l2, KP_RUN_MS, "after session 2 resumed");
	close(third);
	close(other);
}

int main(void)
{
	const char *args[] = { "-qmp", probe_arg, NULL };
	struct kt_l2_opts opts = { .smp = SMP, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM, .extra_args = args };
	struct kt_l2 l2;
	int dev, vm;

	CHECK(mkdtemp(probe_dir), "mkdtemp: %s", strerror(errno));
	snprintf(probe_path, sizeof(probe_path), "%s/probe.sock", probe_dir);
	snprintf(probe_arg, sizeof(probe_arg), "unix:%s,server=on,wait=off",
		 probe_path);
	kp_param_hold();
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2 must start");
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, l2.pid, NULL);

	nesting(&l2, vm);
	depth_limit(&l2, vm);
	bad_args(vm);
	two_sessions(&l2, dev, vm);
	all_threads(&l2, vm);

	close(vm);
	kt_l2_stop(&l2);
	unlink(probe_path);
	rmdir(probe_dir);
	close(dev);
	return KH_PASS;
}
