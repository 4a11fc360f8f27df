// SPDX-License-Identifier: GPL-2.0-only
/*
 * KEYHOLE_PAUSE finds KVM vCPU threads without QEMU's thread names. A
 * 4-vCPU KVM L2 started without debug-threads=on (no thread is called
 * "CPU n/KVM"): PAUSE with flags 0 parks exactly the threads QEMU itself
 * reports as its vCPUs (QMP query-cpus-fast), each asleep in the module's
 * keyhole_park and no other thread of QEMU, so nr_threads is 4, no
 * counter moves, QMP still answers and RESUME lets every vCPU run again;
 * repeated. A TCG L2 without debug-threads=on has no KVM VM to ask and no
 * names: PAUSE is ENOENT, and ALL_THREADS still stops it.
 */
#include <dirent.h>
#include <stdlib.h>

#include "test_pause.h"

#define KVM_SMP		4
#define TCG_SMP		2
#define ROUNDS		5
#define MAX_TASKS	4096
/* From PAUSE's return to a parked vCPU's schedule(): generous for a TCG L1 */
#define PARK_SLEEP_MS	2000

/*
 * The thread ids of QEMU's vCPUs as QEMU reports them: "thread-id" of
 * each CPU object in query-cpus-fast (not the topology's "thread-id" in
 * its "props"). Fails unless there are exactly smp, all different.
 */
static void qmp_vcpu_tids(struct kt_l2 *l2, pid_t *tids)
{
	static const char key[] = "\"thread-id\":";
	static char reply[16384];
	unsigned int n = 0, depth = 0, i;
	const char *p;
	char *end;
	long tid;
	int err;

	err = kt_qmp_cmd(l2->qmp, "{\"execute\":\"query-cpus-fast\"}", reply,
			 sizeof(reply));
	CHECK(!err, "QMP query-cpus-fast: %s", strerror(-err));
	/* {"return": [{CPU, "props": {...}}, ...]}: CPUs are at depth 2 */
	for (p = reply; *p; p++) {
		if (*p == '{') {
			depth++;
			continue;
		}
		if (*p == '}') {
			CHECK(depth > 0, "unbalanced reply %s", reply);
			depth--;
			continue;
		}
		if (depth != 2 || strncmp(p, key, strlen(key)))
			continue;
		p += strlen(key);
		tid = strtol(p, &end, 10);
		CHECK(end != p && tid > 0, "bad thread-id in %s", reply);
		CHECK(n < l2->smp, "more than %u vCPUs in %s", l2->smp, reply);
		for (i = 0; i < n; i++)
			CHECK(tids[i] != tid, "thread %ld twice in %s", tid,
			      reply);
		tids[n++] = tid;
		p = end - 1;
	}
	CHECK(n == l2->smp, "%u vCPU threads in query-cpus-fast, not %u: %s",
	      n, l2->smp, reply);
}

/* Where thread tid of pid sleeps: its wchan symbol, "0" when running. */
static void thread_wchan(pid_t pid, const char *tid, char *wchan,
			 size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/wchan", (int)pid, tid);
	wchan[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;		/* the thread just exited: not parked */
	if (!fgets(wchan, size, f))
		wchan[0] = '\0';
	fclose(f);
	wchan[strcspn(wchan, "\n")] = '\0';
}

static bool is_vcpu(pid_t tid, const pid_t *vcpus, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (vcpus[i] == tid)
			return true;
	return false;
}

static bool in_park(const char *wchan)
{
	/* ".cold" and the like, should the compiler split it */
	return !strncmp(wchan, "keyhole_park", strlen("keyhole_park"));
}

/*
 * Every vCPU thread sleeps in keyhole_park() and no other thread does:
 * the pause took the vCPUs and nothing else. A vCPU counts as parked a
 * moment before it calls schedule(), and PAUSE returns then, so its wchan
 * may still read "0" at first: wait for it, briefly.
 */
static void expect_parked_exactly(struct kt_l2 *l2, const pid_t *vcpus)
{
	char path[64], wchan[128];
	unsigned int seen = 0, parked = 0;
	struct dirent *de;
	uint64_t deadline;
	DIR *dir;
	long tid;
	char *end;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)l2->pid);
	dir = opendir(path);
	CHECK(dir, "opendir %s: %s", path, strerror(errno));
	while ((de = readdir(dir)) && seen++ < MAX_TASKS) {
		tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0)
			continue;
		thread_wchan(l2->pid, de->d_name, wchan, sizeof(wchan));
		if (!is_vcpu(tid, vcpus, l2->smp)) {
			CHECK(!in_park(wchan),
			      "thread %ld, not a vCPU, is parked (%s)", tid,
			      wchan);
			continue;
		}
		deadline = kt_now_ms() + PARK_SLEEP_MS;
		while (!in_park(wchan) && kt_now_ms() < deadline) {
			usleep(1000);
			thread_wchan(l2->pid, de->d_name, wchan,
				     sizeof(wchan));
		}
		CHECK(in_park(wchan),
		      "vCPU thread %ld sleeps in '%s', not keyhole_park, %u ms after PAUSE",
		      tid, wchan, PARK_SLEEP_MS);
		parked++;
	}
	closedir(dir);
	CHECK(parked == l2->smp, "%u vCPU threads parked, not %u", parked,
	      l2->smp);
}

static void kvm_without_names(int dev)
{
	struct kt_l2_opts opts = { .smp = KVM_SMP, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM,
				   .no_thread_names = true };
	pid_t named[KVM_SMP], vcpus[KVM_SMP];
	struct keyhole_vm_info info;
	struct keyhole_pause p;
	struct keyhole_resume r;
	char reply[512];
	struct kt_l2 l2;
	unsigned int i;
	int vm, err;

	CHECK(kt_l2_start(&l2, &opts) == 0, "KVM L2 without debug-threads");
	CHECK(kt_vcpu_threads(l2.pid, NULL, named, KVM_SMP) == 0,
	      "QEMU named its vCPU threads without debug-threads=on");
	qmp_vcpu_tids(&l2, vcpus);
	vm = kp_attach(dev, l2.pid, NULL);

	for (i = 0; i < ROUNDS; i++) {
		err = kp_pause(vm, 0, KP_HOLD_MS, &p);
		CHECK(!err, "round %u: PAUSE of KVM vCPUs without names: %s",
		      i, strerror(-err));
		CHECK(p.nr_threads == KVM_SMP && p.depth == 1,
		      "round %u: PAUSE parked %u threads at depth %u, not %d at 1",
		      i, p.nr_threads, p.depth, KVM_SMP);
		expect_parked_exactly(&l2, vcpus);
		kp_expect_frozen(&l2, 200, 4, "KVM vCPUs found without names");
		/* Only the vCPUs: QEMU's main loop still serves QMP. */
		err = kt_qmp_cmd(l2.qmp, "{\"execute\":\"query-status\"}",
				 reply, sizeof(reply));
		CHECK(!err, "round %u: QMP while the vCPUs are paused: %s", i,
		      strerror(-err));
		if (i == 0) {
			err = kp_vm_info(vm, &info);
			CHECK(!err && info.nr_vcpus == KVM_SMP &&
			      info.pause_depth == 1,
			      "VM_INFO: %s, %u vCPUs, depth %u", strerror(-err),
			      info.nr_vcpus, info.pause_depth);
		}
		err = kp_resume(vm, &r);
		CHECK(!err && r.depth == 0 && r.paused_ns >= 200000000ull,
		      "round %u: RESUME: %s, depth %u, paused_ns %llu", i,
		      strerror(-err), r.depth,
		      (unsigned long long)r.paused_ns);
		kp_expect_running(&l2, KP_RUN_MS, "after RESUME");
	}
	close(vm);
	kt_l2_stop(&l2);
}

/* Under TCG there is no KVM VM to find vCPUs by, and no name: ENOENT. */
static void tcg_without_names(int dev)
{
	struct kt_l2_opts opts = { .smp = TCG_SMP, .mem_mib = 32,
				   .accel = KT_ACCEL_TCG,
				   .no_thread_names = true,
				   .timeout_ms = KT_L2_START_MS };
	struct keyhole_pause p;
	pid_t named[TCG_SMP];
	struct kt_l2 l2;
	int vm, err;

	CHECK(kt_l2_start(&l2, &opts) == 0, "TCG L2 without debug-threads");
	CHECK(kt_vcpu_threads(l2.pid, NULL, named, TCG_SMP) == 0,
	      "QEMU named its vCPU threads without debug-threads=on");
	vm = kp_attach(dev, l2.pid, NULL);
	err = kp_pause(vm, 0, KP_HOLD_MS, NULL);
	CHECK(err == -ENOENT, "TCG PAUSE with no vCPU names: %s, not ENOENT",
	      strerror(-err));
	CHECK(kp_resume(vm, NULL) == -EALREADY, "the ENOENT left a pause");
	kp_expect_running(&l2, KP_RUN_MS, "after ENOENT");
	err = kp_pause(vm, KEYHOLE_PAUSE_ALL_THREADS, KP_HOLD_MS, &p);
	CHECK(!err && p.nr_threads > TCG_SMP, "ALL_THREADS: %s, %u threads",
	      strerror(-err), p.nr_threads);
	kp_expect_frozen(&l2, 200, 4, "ALL_THREADS without names");
	CHECK(!kp_resume(vm, NULL), "RESUME");
	kp_expect_running(&l2, KP_RUN_MS, "after ALL_THREADS without names");
	close(vm);
	kt_l2_stop(&l2);
}

int main(void)
{
	int dev;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kp_param_hold();
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	kvm_without_names(dev);
	tcg_without_names(dev);
	close(dev);
	return KH_PASS;
}
