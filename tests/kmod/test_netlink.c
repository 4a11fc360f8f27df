// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "keyhole" generic netlink family:
 * - GET_SESSIONS lists exactly the open sessions, each with QEMU's pid
 *   and comm and its pause stats, and forgets a session once closed;
 * - a dump of 300 sessions spans several messages and lists each once
 *   (the dump resumes where it stopped);
 * - an unknown attribute in a request is refused (strict policy);
 * - a caller without CAP_NET_ADMIN, as root without the capability or as
 *   nobody, is refused with EPERM, both the dump and joining the events
 *   group;
 * - events arrive on the multicast group: LAYOUT_CHANGED on SET_RANGES,
 *   PAUSE_ENDED(CLOSED) when a paused fd is closed.
 */
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "test_pause.h"

#define MANY 300

static struct kp_msg sessions[MANY + 64];

static int dump(struct kp_nl *nl)
{
	int n = kp_nl_dump(nl, sessions, MANY + 64, 0);

	CHECK(n >= 0, "GET_SESSIONS dump: %s", strerror(-n));
	return n;
}

static void basic(struct kt_l2 *l2, int dev, struct kp_nl *nl,
		  struct kp_nl *events)
{
	uint64_t id1, id2;
	struct kp_msg *s, ev;
	int vm1, vm2, n;

	n = dump(nl);
	vm1 = kp_attach(dev, l2->pid, &id1);
	vm2 = kp_attach(dev, l2->pid, &id2);
	CHECK(id1 != id2, "two sessions share id %llu", (unsigned long long)id1);
	CHECK(dump(nl) == n + 2, "a dump after two attaches lists %d, not %d",
	      dump(nl), n + 2);

	s = kp_find_session(sessions, n + 2, id1);
	CHECK(s, "session %llu not in the dump", (unsigned long long)id1);
	CHECK(s->present[KEYHOLE_GENL_A_PID] &&
	      s->u[KEYHOLE_GENL_A_PID] == (uint64_t)l2->pid,
	      "session pid %llu, not %d",
	      (unsigned long long)s->u[KEYHOLE_GENL_A_PID], (int)l2->pid);
	CHECK(!strcmp(s->comm, "qemu-system-x86"), "session comm '%s'", s->comm);
	CHECK(s->present[KEYHOLE_GENL_A_PAUSES] && !s->u[KEYHOLE_GENL_A_PAUSES] &&
	      s->present[KEYHOLE_GENL_A_PAUSE_DEPTH] &&
	      !s->u[KEYHOLE_GENL_A_PAUSE_DEPTH],
	      "a new session shows pauses %llu, depth %llu",
	      (unsigned long long)s->u[KEYHOLE_GENL_A_PAUSES],
	      (unsigned long long)s->u[KEYHOLE_GENL_A_PAUSE_DEPTH]);
	CHECK(s->present[KEYHOLE_GENL_A_BYTES_READ] &&
	      s->present[KEYHOLE_GENL_A_FAULTS] &&
	      s->present[KEYHOLE_GENL_A_INVALIDATIONS] &&
	      s->present[KEYHOLE_GENL_A_NR_RANGES] &&
	      s->present[KEYHOLE_GENL_A_RAM_BYTES],
	      "a session message lacks a stat");

	CHECK(!kp_pause(vm1, 0, KP_HOLD_MS, NULL), "PAUSE session 1");
	CHECK(!kp_pause(vm1, 0, KP_HOLD_MS, NULL), "nested PAUSE session 1");
	dump(nl);
	s = kp_find_session(sessions, n + 2, id1);
	CHECK(s && s->u[KEYHOLE_GENL_A_PAUSE_DEPTH] == 2 &&
	      s->u[KEYHOLE_GENL_A_PAUSES] == 1,
	      "paused session: depth %llu, pauses %llu",
	      s ? (unsigned long long)s->u[KEYHOLE_GENL_A_PAUSE_DEPTH] : 0ull,
	      s ? (unsigned long long)s->u[KEYHOLE_GENL_A_PAUSES] : 0ull);
	s = kp_find_session(sessions, n + 2, id2);
	CHECK(s && !s->u[KEYHOLE_GENL_A_PAUSE_DEPTH],
	      "the other session shows a pause");

	/* Closing a paused fd ends its pause and says so. */
	close(vm1);
	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_PAUSE_ENDED, id1,
				KP_EVENT_MS, &ev), "no PAUSE_ENDED on close");
	CHECK(ev.u[KEYHOLE_GENL_A_PAUSE_END] == KEYHOLE_PAUSE_END_CLOSED,
	      "PAUSE_ENDED says %llu, not CLOSED",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PAUSE_END]);
	kp_expect_running(l2, KP_RUN_MS, "after the paused fd was closed");
	CHECK(dump(nl) == n + 1, "closed session still listed");
	CHECK(!kp_find_session(sessions, n + 1, id1), "session 1 still listed");
	close(vm2);
	CHECK(dump(nl) == n, "sessions left behind");
}

static void layout_event(struct kt_l2 *l2, int dev, struct kp_nl *events)
{
	struct keyhole_range range = { .hva = l2->hva0, .len = l2->mem_bytes };
	struct keyhole_set_ranges set = {
		.size = sizeof(set), .range_size = sizeof(struct keyhole_range), .nr_ranges = 1,
		.ranges = (uintptr_t)&range,
	};
	struct kp_msg ev;
	uint64_t id;
	int vm;

	vm = kp_attach(dev, l2->pid, &id);
	CHECK(!ioctl(vm, KEYHOLE_SET_RANGES, &set), "SET_RANGES of all RAM: %s",
	      strerror(errno));
	CHECK(!kp_nl_wait_event(events, KEYHOLE_GENL_CMD_LAYOUT_CHANGED, id,
				KP_EVENT_MS, &ev),
	      "no LAYOUT_CHANGED after SET_RANGES");
	CHECK(ev.u[KEYHOLE_GENL_A_PID] == (uint64_t)l2->pid,
	      "LAYOUT_CHANGED pid %llu",
	      (unsigned long long)ev.u[KEYHOLE_GENL_A_PID]);
	close(vm);
}

static void many(struct kt_l2 *l2, int dev, struct kp_nl *nl)
{
	static int fds[MANY];
	static uint64_t ids[MANY];
	int i, n, base;

	base = dump(nl);
	for (i = 0; i < MANY; i++)
		fds[i] = kp_attach(dev, l2->pid, &ids[i]);
	n = dump(nl);
	CHECK(n == base + MANY, "dump of %d sessions lists %d",
	      base + MANY, n);
	for (i = 0; i < MANY; i++) {
		struct kp_msg *s = kp_find_session(sessions, n, ids[i]);

		CHECK(s, "session %llu missing from a long dump",
		      (unsigned long long)ids[i]);
		/* listed once: blank it so a duplicate is not found */
		s->u[KEYHOLE_GENL_A_SESSION_ID] = 0;
	}
	for (i = 0; i < MANY; i++)
		close(fds[i]);
	CHECK(dump(nl) == base, "sessions left after closing %d", MANY);
}

static void strict(struct kp_nl *nl)
{
	int n;

	n = kp_nl_dump(nl, sessions, MANY, KEYHOLE_GENL_A_MAX + 1);
	CHECK(n == -EINVAL, "a request with unknown attribute %d: %s",
	      KEYHOLE_GENL_A_MAX + 1, n < 0 ? strerror(-n) : "accepted");
}

/* In a child: drop privilege, then dump; the exit code says how it went. */
static void unprivileged(bool as_nobody)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	struct kp_nl nl;
	int status, n;
	pid_t child;

	child = fork();
	CHECK(child >= 0, "fork: %s", strerror(errno));
	if (!child) {
		if (as_nobody) {
			if (setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534))
				_exit(10);
		} else {
			if (syscall(SYS_capget, &hdr, data))
				_exit(11);
			data[CAP_NET_ADMIN / 32].effective &=
				~(1u << (CAP_NET_ADMIN % 32));
			data[CAP_NET_ADMIN / 32].permitted &=
				~(1u << (CAP_NET_ADMIN % 32));
			if (syscall(SYS_capset, &hdr, data))
				_exit(12);
		}
		if (kp_nl_open(&nl, false))
			_exit(13);
		n = kp_nl_dump(&nl, sessions, MANY, 0);
		if (n != -EPERM)
			_exit(14);
		kp_nl_close(&nl);
		/* the events name QEMU processes too: no joining the group */
		_exit(kp_nl_open(&nl, true) == -EPERM ? 0 : 15);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status),
	      "the unprivileged child died");
	CHECK(WEXITSTATUS(status) != 14,
	      "%s: dump not refused with EPERM",
	      as_nobody ? "uid nobody" : "root without CAP_NET_ADMIN");
	CHECK(WEXITSTATUS(status) == 0,
	      "%s: joining the events group not refused with EPERM (child exit %d)",
	      as_nobody ? "uid nobody" : "root without CAP_NET_ADMIN",
	      WEXITSTATUS(status));
}

int main(void)
{
	struct kt_l2_opts opts = { .smp = 1, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM };
	struct kp_nl nl, events;
	struct kt_l2 l2;
	int dev, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kp_param_hold();
	err = kp_nl_open(&nl, false);
	CHECK(!err, "netlink family %s: %s", KEYHOLE_GENL_NAME, strerror(-err));
	err = kp_nl_open(&events, true);
	CHECK(!err, "joining group %s: %s", KEYHOLE_GENL_MCGRP, strerror(-err));
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2 must start");
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole");

	basic(&l2, dev, &nl, &events);
	layout_event(&l2, dev, &events);
	many(&l2, dev, &nl);
	strict(&nl);
	unprivileged(false);
	unprivileged(true);

	close(dev);
	kt_l2_stop(&l2);
	kp_nl_close(&events);
	kp_nl_close(&nl);
	return KH_PASS;
}
