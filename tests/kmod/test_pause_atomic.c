// SPDX-License-Identifier: GPL-2.0-only
/*
 * KEYHOLE_PAUSE is atomic and invisible. On a 4-vCPU KVM L2 and a 2-vCPU
 * TCG L2 whose vCPUs each increment a counter: once PAUSE returns, no
 * counter moves (sampled through /proc/PID/mem over 200 ms) until RESUME,
 * and after RESUME every counter moves again; nr_threads is the number of
 * vCPUs; QEMU notices nothing (QMP still says "running", no thread is
 * stopped or traced) and neither does its parent (waitid reports no
 * stop). Repeated, with the latency printed.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "test_pause.h"

#define KVM_ROUNDS 10
#define TCG_ROUNDS 4

/* No thread of pid is stopped (T), traced (t) or has a tracer. */
static void expect_not_stopped(pid_t pid)
{
	char path[64], line[128], state;
	struct dirent *de;
	siginfo_t info;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	CHECK(dir, "opendir %s: %s", path, strerror(errno));
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status",
			 (int)pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* the thread just exited */
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "State: %c", &state) == 1)
				CHECK(state != 'T' && state != 't',
				      "thread %s of QEMU is %s", de->d_name, line);
			if (!strncmp(line, "TracerPid:", 10))
				CHECK(atoi(line + 10) == 0,
				      "thread %s of QEMU is traced: %s",
				      de->d_name, line);
		}
		fclose(f);
	}
	closedir(dir);

	/* QEMU's parent (this test) is told of no stop, continue or exit. */
	memset(&info, 0, sizeof(info));
	CHECK(!waitid(P_PID, pid, &info,
		      WSTOPPED | WCONTINUED | WEXITED | WNOHANG | WNOWAIT),
	      "waitid QEMU: %s", strerror(errno));
	CHECK(info.si_pid == 0, "QEMU's parent sees a state change, code %d",
	      info.si_code);
}

static void rounds(const struct kt_l2_opts *opts, const char *name,
		   unsigned int nr_rounds)
{
	uint64_t park_sum = 0, wall_sum = 0, wall_max = 0, t0, wall;
	struct keyhole_pause p;
	struct keyhole_resume r;
	struct kt_l2 l2;
	char reply[512];
	unsigned int i;
	int dev, vm, err;

	CHECK(kt_l2_start(&l2, opts) == 0, "%s L2 must start", name);
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");
	vm = kp_attach(dev, l2.pid, NULL);

	for (i = 0; i < nr_rounds; i++) {
		t0 = kp_now_ns();
		err = kp_pause(vm, 0, KP_HOLD_MS, &p);
		wall = kp_now_ns() - t0;
		CHECK(!err, "%s round %u: PAUSE: %s", name, i, strerror(-err));
		CHECK(p.nr_threads == l2.smp, "%s: PAUSE parked %u threads, not %u",
		      name, p.nr_threads, l2.smp);
		CHECK(p.depth == 1, "%s: depth %u after one PAUSE", name, p.depth);
		CHECK(p.park_ns > 0 && p.park_ns <= wall,
		      "%s: park_ns %llu outside (0, %llu]", name,
		      (unsigned long long)p.park_ns, (unsigned long long)wall);
		park_sum += p.park_ns;
		wall_sum += wall;
		if (wall > wall_max)
			wall_max = wall;

		kp_expect_frozen(&l2, 200, 5, name);
		if (i == 0) {
			/* QEMU's main loop runs and believes the VM runs. */
			err = kt_qmp_cmd(l2.qmp, "{\"execute\":\"query-status\"}",
					 reply, sizeof(reply));
			CHECK(!err, "%s: QMP query-status while paused: %s",
			      name, strerror(-err));
			CHECK(strstr(reply, "\"running\": true") ||
			      strstr(reply, "\"running\":true"),
			      "%s: QEMU does not say running: %s", name, reply);
			expect_not_stopped(l2.pid);
		}

		err = kp_resume(vm, &r);
		CHECK(!err, "%s round %u: RESUME: %s", name, i, strerror(-err));
		CHECK(r.depth == 0, "%s: depth %u after RESUME", name, r.depth);
		CHECK(r.paused_ns >= 200000000ull,
		      "%s: paused_ns %llu, but the pause lasted over 200 ms",
		      name, (unsigned long long)r.paused_ns);
		kp_expect_running(&l2, KP_RUN_MS, name);
	}
	printf("%s_rounds %u\n", name, nr_rounds);
	printf("%s_park_ns_mean %llu\n", name,
	       (unsigned long long)(park_sum / nr_rounds));
	printf("%s_pause_wall_ns_mean %llu\n", name,
	       (unsigned long long)(wall_sum / nr_rounds));
	printf("%s_pause_wall_ns_max %llu\n", name,
	       (unsigned long long)wall_max);

	close(vm);
	close(dev);
	kt_l2_stop(&l2);
}

int main(void)
{
	struct kt_l2_opts kvm = { .smp = 4, .mem_mib = 64,
				  .accel = KT_ACCEL_KVM };
	struct kt_l2_opts tcg = { .smp = 2, .mem_mib = 32,
				  .accel = KT_ACCEL_TCG, .timeout_ms = KT_L2_START_MS };

	setvbuf(stdout, NULL, _IOLBF, 0);
	kp_param_hold();
	rounds(&kvm, "kvm4", KVM_ROUNDS);
	rounds(&tcg, "tcg2", TCG_ROUNDS);
	return KH_PASS;
}
