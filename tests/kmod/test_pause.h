/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the pause and netlink tests share: attaching, PAUSE/RESUME calls
 * that return -errno, the payload's counters as one snapshot, "frozen" and
 * "running" checks on them, the module parameter, and a small libnl-genl
 * client for the "keyhole" family (dump and events).
 */
#ifndef KH_TEST_PAUSE_H
#define KH_TEST_PAUSE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <keyhole.h>

#include "check.h"
#include "kt.h"

#define KP_PARAM "/sys/module/keyhole/parameters/pause_timeout_ms"

/*
 * Deadlines, never measures of speed: a busy host can hold this emulated
 * L1 back for seconds. A test's own pauses ask for KP_HOLD_MS, far more
 * than the test needs (kp_param_hold() lifts the module's cap to match),
 * so that no pause expires under a test by chance; the watchdog's tests
 * use short timeouts on purpose. What must happen (the guest running
 * again, an event arriving) is waited for until KP_RUN_MS or KP_EVENT_MS.
 */
#define KP_HOLD_MS	30000
#define KP_RUN_MS	60000
#define KP_EVENT_MS	30000

static inline uint64_t kp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* A per-VM fd for QEMU process pid, or -errno. */
static inline int kp_attach_ret(int dev, pid_t pid, uint64_t *session_id)
{
	struct keyhole_attach at = { .size = sizeof(at), .pid = pid };

	int ret = ioctl(dev, KEYHOLE_ATTACH, &at) ? -errno : at.vm_fd;

	if (session_id)
		*session_id = ret < 0 ? 0 : at.session_id;
	return ret;
}

static inline int kp_attach(int dev, pid_t pid, uint64_t *session_id)
{
	int fd = kp_attach_ret(dev, pid, session_id);

	CHECK(fd >= 0, "KEYHOLE_ATTACH to QEMU %d: %s", (int)pid, strerror(-fd));
	return fd;
}

static inline int kp_pause(int vm_fd, uint32_t flags, uint32_t timeout_ms,
			   struct keyhole_pause *out)
{
	struct keyhole_pause p = {
		.size = sizeof(p), .flags = flags, .timeout_ms = timeout_ms,
	};

	int ret = ioctl(vm_fd, KEYHOLE_PAUSE, &p) ? -errno : 0;

	if (out)
		*out = p;
	return ret;
}

static inline int kp_resume(int vm_fd, struct keyhole_resume *out)
{
	struct keyhole_resume r = { .size = sizeof(r) };

	int ret = ioctl(vm_fd, KEYHOLE_RESUME, &r) ? -errno : 0;

	if (out)
		*out = r;
	return ret;
}

static inline int kp_vm_info(int vm_fd, struct keyhole_vm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(vm_fd, KEYHOLE_VM_INFO, info) ? -errno : 0;
}

/* Every vCPU's counter, read in one /proc/PID/mem call. */
static inline void kp_counters(struct kt_l2 *l2, uint64_t *values)
{
	uint64_t slots[KT_CNT_MAX_CPUS * KT_CNT_SLOT / 8];
	unsigned int i;
	int err;

	err = kt_l2_read(l2, kt_cnt_gpa(0), slots, l2->smp * KT_CNT_SLOT);
	CHECK(!err, "reading the counters of QEMU %d: %s", (int)l2->pid,
	      strerror(-err));
	for (i = 0; i < l2->smp; i++)
		values[i] = slots[i * KT_CNT_SLOT / 8];
}

/* A thread of QEMU and what the kernel says of it. */
struct kp_thread {
	pid_t tid;
	char state;		/* /proc/.../stat: R, S, D, ... */
	bool parked;		/* asleep in keyhole.ko's keyhole_park() */
	uint64_t run_ns;	/* time it ran on a CPU (schedstat) */
};

/* The first line of /proc/PID/task/TID/FILE into buf; 0 or -1. */
static inline int kp_task_file(pid_t pid, pid_t tid, const char *file,
			       char *buf, size_t size)
{
	char path[96];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid,
		 (int)tid, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fgets(buf, size, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

/* What the kernel says of thread tid of pid; 0, or -1 if it is gone. */
static inline int kp_thread_read(pid_t pid, pid_t tid, struct kp_thread *t)
{
	char line[512], *p;
	unsigned long long run_ns;

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	if (kp_task_file(pid, tid, "stat", line, sizeof(line)))
		return -1;
	p = strrchr(line, ')');
	if (!p || p[1] != ' ')
		return -1;
	t->state = p[2];
	/* wchan: where a sleeping thread sleeps, by symbol (root sees it) */
	if (kp_task_file(pid, tid, "wchan", line, sizeof(line)))
		return -1;
	line[strcspn(line, "\n")] = 0;
	t->parked = t->state == 'D' && !strncmp(line, "keyhole_park", 12);
	if (kp_task_file(pid, tid, "schedstat", line, sizeof(line)) ||
	    sscanf(line, "%llu", &run_ns) != 1)
		return -1;
	t->run_ns = run_ns;
	return 0;
}

/* The threads of pid parked by keyhole.ko, into parked[max]; how many. */
static inline unsigned int kp_parked_threads(pid_t pid,
					     struct kp_thread *parked,
					     unsigned int max)
{
	char path[64];
	struct dirent *de;
	unsigned int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	CHECK(dir, "opendir %s: %s", path, strerror(errno));
	while ((de = readdir(dir)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		if (!kp_thread_read(pid, atoi(de->d_name), &parked[n]) &&
		    parked[n].parked)
			n++;
	}
	closedir(dir);
	return n;
}

/*
 * Waits until at least min threads of pid sleep in keyhole_park(), into
 * parked[max]; how many. PAUSE returns once every thread is committed to
 * parking, which may be a moment before the last one is asleep.
 */
static inline unsigned int kp_wait_parked(pid_t pid, unsigned int min,
					  struct kp_thread *parked,
					  unsigned int max, const char *what)
{
	uint64_t start = kt_now_ms();
	unsigned int n;

	for (;;) {
		n = kp_parked_threads(pid, parked, max);
		if (n >= min)
			return n;
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "%s: %u threads of QEMU are parked in keyhole_park after %u ms, fewer than %u",
		      what, n, KP_RUN_MS, min);
		usleep(1000);
	}
}

/*
 * The VM is really paused, not merely starved of CPU time by a busy host:
 * at least one thread per vCPU is asleep in keyhole_park() (a starved
 * thread would be runnable), none of them runs at all during ms
 * milliseconds (its schedstat run time stays the same, so it never left
 * that sleep), and no counter moves, sampled samples times. Fails the
 * test otherwise.
 */
static inline void kp_expect_frozen(struct kt_l2 *l2, unsigned int ms,
				    unsigned int samples, const char *what)
{
	uint64_t first[KT_CNT_MAX_CPUS], now[KT_CNT_MAX_CPUS];
	struct kp_thread parked[256], later;
	unsigned int s, i, n;

	n = kp_wait_parked(l2->pid, l2->smp, parked, ARRAY_SIZE(parked), what);
	kp_counters(l2, first);
	for (s = 0; s < samples; s++) {
		usleep(ms * 1000 / samples);
		kp_counters(l2, now);
		for (i = 0; i < l2->smp; i++)
			CHECK(now[i] == first[i],
			      "%s: vCPU %u's counter moved from %llu to %llu after %u ms",
			      what, i, (unsigned long long)first[i],
			      (unsigned long long)now[i], (s + 1) * ms / samples);
	}
	for (i = 0; i < n; i++) {
		CHECK(!kp_thread_read(l2->pid, parked[i].tid, &later),
		      "%s: parked thread %d of QEMU is gone", what,
		      (int)parked[i].tid);
		CHECK(later.parked && later.run_ns == parked[i].run_ns,
		      "%s: parked thread %d ran during the %u ms (state %c, %llu ns more)",
		      what, (int)parked[i].tid, ms, later.state,
		      (unsigned long long)(later.run_ns - parked[i].run_ns));
	}
}

/*
 * Waits until every counter moved; returns the milliseconds that took, or
 * fails the test after timeout_ms.
 */
static inline uint64_t kp_expect_running(struct kt_l2 *l2,
					 unsigned int timeout_ms,
					 const char *what)
{
	uint64_t first[KT_CNT_MAX_CPUS], now[KT_CNT_MAX_CPUS];
	uint64_t start = kt_now_ms();
	unsigned int i, moved;

	kp_counters(l2, first);
	for (;;) {
		kp_counters(l2, now);
		moved = 0;
		for (i = 0; i < l2->smp; i++)
			moved += now[i] != first[i];
		if (moved == l2->smp)
			return kt_now_ms() - start;
		CHECK(kt_now_ms() - start < timeout_ms,
		      "%s: only %u of %u vCPUs ran within %u ms", what, moved,
		      l2->smp, timeout_ms);
		usleep(1000);
	}
}

/* The module parameter pause_timeout_ms: read, or write (-errno). */
static inline unsigned int kp_param_get(void)
{
	unsigned int ms = 0;
	FILE *f = fopen(KP_PARAM, "r");

	CHECK(f, "open %s: %s", KP_PARAM, strerror(errno));
	CHECK(fscanf(f, "%u", &ms) == 1, "no number in %s", KP_PARAM);
	fclose(f);
	return ms;
}

static inline int kp_param_set(const char *value)
{
	int fd = open(KP_PARAM, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static inline int kp_param_set_ms(unsigned int ms)
{
	char value[16];

	snprintf(value, sizeof(value), "%u", ms);
	return kp_param_set(value);
}

static unsigned int kp_param_saved;

static inline void kp_param_restore(void)
{
	if (kp_param_saved && kp_param_set_ms(kp_param_saved))
		fprintf(stderr, "could not put %s back to %u\n", KP_PARAM,
			kp_param_saved);
	kp_param_saved = 0;
}

/* Lifts the cap on pauses to 2 * KP_HOLD_MS until the test exits. */
static inline void kp_param_hold(void)
{
	kp_param_saved = kp_param_get();
	CHECK(!kp_param_set_ms(2 * KP_HOLD_MS), "set %s to %u", KP_PARAM,
	      2 * KP_HOLD_MS);
	atexit(kp_param_restore);
}

/* --- the "keyhole" generic netlink family, through libnl-genl ------- */

struct kp_nl {
	struct nl_sock *sk;
	int family;
};

/* One message's attributes: present[a] says whether attribute a came. */
struct kp_msg {
	uint8_t cmd;
	bool present[KEYHOLE_GENL_A_MAX + 1];
	uint64_t u[KEYHOLE_GENL_A_MAX + 1];	/* u32 and u64 attributes */
	char comm[16];
};

/* libnl's NLE_* codes as errno, at the boundary. */
static inline int kp_nl_errno(int nle)
{
	switch (-nle) {
	case NLE_PERM:
		return -EPERM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_DUMP_INTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

/* Connects and resolves the family; events: joins the multicast group. */
static inline int kp_nl_open(struct kp_nl *nl, bool events)
{
	int grp, ret;

	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	ret = genl_connect(nl->sk);
	if (ret < 0)
		goto err;
	nl->family = genl_ctrl_resolve(nl->sk, KEYHOLE_GENL_NAME);
	if (nl->family < 0) {
		ret = nl->family;
		goto err;
	}
	if (events) {
		grp = genl_ctrl_resolve_grp(nl->sk, KEYHOLE_GENL_NAME,
					    KEYHOLE_GENL_MCGRP);
		if (grp < 0) {
			ret = grp;
			goto err;
		}
		ret = nl_socket_add_membership(nl->sk, grp);
		if (ret < 0)
			goto err;
		/* events carry sequence 0 */
		nl_socket_disable_seq_check(nl->sk);
	}
	return 0;
err:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return kp_nl_errno(ret);
}

static inline void kp_nl_close(struct kp_nl *nl)
{
	nl_socket_free(nl->sk);
	nl->sk = NULL;
}

static inline int kp_nl_parse(struct nl_msg *msg, struct kp_msg *out)
{
	static struct nla_policy policy[KEYHOLE_GENL_A_MAX + 1] = {
		[KEYHOLE_GENL_A_SESSION_ID] = { .type = NLA_U64 },
		[KEYHOLE_GENL_A_PID] = { .type = NLA_U32 },
		[KEYHOLE_GENL_A_COMM] = { .type = NLA_STRING },
		[KEYHOLE_GENL_A_NR_RANGES] = { .type = NLA_U32 },
		[KEYHOLE_GENL_A_RAM_BYTES] = { .type = NLA_U64 },
		[KEYHOLE_GENL_A_BYTES_READ] = { .type = NLA_U64 },
		[KEYHOLE_GENL_A_FAULTS] = { .type = NLA_U64 },
		[KEYHOLE_GENL_A_INVALIDATIONS] = { .type = NLA_U64 },
		[KEYHOLE_GENL_A_PAUSES] = { .type = NLA_U64 },
		[KEYHOLE_GENL_A_PAUSE_DEPTH] = { .type = NLA_U32 },
		[KEYHOLE_GENL_A_PAUSE_END] = { .type = NLA_U32 },
		[KEYHOLE_GENL_A_PAUSED_NS] = { .type = NLA_U64 },
	};
	struct nlattr *attrs[KEYHOLE_GENL_A_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	int a, ret;

	ret = genlmsg_parse(nlmsg_hdr(msg), 0, attrs, KEYHOLE_GENL_A_MAX,
			    policy);
	if (ret < 0)
		return kp_nl_errno(ret);
	memset(out, 0, sizeof(*out));
	out->cmd = gh->cmd;
	for (a = 1; a <= KEYHOLE_GENL_A_MAX; a++) {
		if (!attrs[a])
			continue;
		out->present[a] = true;
		if (a == KEYHOLE_GENL_A_COMM)
			nla_strlcpy(out->comm, attrs[a], sizeof(out->comm));
		else if (policy[a].type == NLA_U32)
			out->u[a] = nla_get_u32(attrs[a]);
		else if (policy[a].type == NLA_U64)
			out->u[a] = nla_get_u64(attrs[a]);
	}
	return 0;
}

struct kp_dump {
	struct kp_msg *sessions;
	unsigned int nr, max;
	int err;
};

static inline int kp_dump_one(struct nl_msg *msg, void *arg)
{
	struct kp_dump *dump = arg;

	if (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP_INTR) {
		dump->err = -EINTR;
		return NL_STOP;
	}
	if (dump->nr == dump->max) {
		dump->err = -ENOSPC;
		return NL_STOP;
	}
	dump->err = kp_nl_parse(msg, &dump->sessions[dump->nr]);
	if (dump->err)
		return NL_STOP;
	dump->nr++;
	return NL_OK;
}

/*
 * GET_SESSIONS into sessions[max]: how many, or -errno (-EPERM without
 * CAP_NET_ADMIN). extra_attr, if not 0, is sent as a u32 attribute.
 */
static inline int kp_nl_dump(struct kp_nl *nl, struct kp_msg *sessions,
			     unsigned int max, int extra_attr)
{
	struct kp_dump dump = { .sessions = sessions, .max = max };
	struct nl_msg *msg;
	int ret;

	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 NLM_F_DUMP, KEYHOLE_GENL_CMD_GET_SESSIONS,
			 KEYHOLE_GENL_VERSION) ||
	    (extra_attr && nla_put_u32(msg, extra_attr, 0) < 0)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return kp_nl_errno(ret);
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, kp_dump_one,
			    &dump);
	ret = nl_recvmsgs_default(nl->sk);
	if (ret < 0)
		return kp_nl_errno(ret);
	if (dump.err)
		return dump.err;
	return dump.nr;
}

/* The session with this id in a dump, or NULL. */
static inline struct kp_msg *kp_find_session(struct kp_msg *sessions,
					     int nr, uint64_t id)
{
	int i;

	for (i = 0; i < nr; i++)
		if (sessions[i].u[KEYHOLE_GENL_A_SESSION_ID] == id)
			return &sessions[i];
	return NULL;
}

struct kp_wait {
	uint8_t cmd;
	uint64_t session_id;
	struct kp_msg *out;
	bool found;
};

static inline int kp_event_one(struct nl_msg *msg, void *arg)
{
	struct kp_wait *wait = arg;
	struct kp_msg m;

	if (wait->found || kp_nl_parse(msg, &m) != 0)
		return NL_SKIP;
	if (m.cmd == wait->cmd &&
	    m.u[KEYHOLE_GENL_A_SESSION_ID] == wait->session_id) {
		*wait->out = m;
		wait->found = true;
	}
	return NL_SKIP;
}

/*
 * Waits up to timeout_ms for event cmd about session_id on an events
 * socket; other events are skipped. 0 and *out filled, or -ETIMEDOUT.
 */
static inline int kp_nl_wait_event(struct kp_nl *nl, uint8_t cmd,
				   uint64_t session_id, unsigned int timeout_ms,
				   struct kp_msg *out)
{
	struct kp_wait wait = { .cmd = cmd, .session_id = session_id,
				.out = out };
	uint64_t deadline = kt_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = nl_socket_get_fd(nl->sk),
			      .events = POLLIN };
	int ret;

	nl_socket_set_nonblocking(nl->sk);
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, kp_event_one,
			    &wait);
	while (!wait.found) {
		uint64_t now = kt_now_ms();

		if (now >= deadline)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, deadline - now);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret <= 0)
			continue;
		ret = nl_recvmsgs_default(nl->sk);
		if (ret < 0 && ret != -NLE_AGAIN)
			return kp_nl_errno(ret);
	}
	return 0;
}

#endif
