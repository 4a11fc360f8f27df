// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: keyholed with keyhole.ko loaded, on a real Linux guest (the
 * project's test guest, nested KVM, anonymous RAM):
 * - it listens to the module's netlink events (keyholed_module_listening
 *   on /metrics) and attaches with kmap; its own attach's LAYOUT_CHANGED
 *   makes it read nothing again;
 * - "ram" hands a client that asks for one ("kinds") a module session of
 *   its own for the guest's anonymous RAM, and no session to one that
 *   does not ask: `keyhole --broker --ram-file` reads it with kmap and
 *   finds every process the guest had throughout, as root and as nobody,
 *   the user the guest's QEMU runs as (its session attached with its own
 *   credentials); the sessions end with the clients, keyholed's stays
 *   and reads nothing again; a client that keeps asking gets no more
 *   than 64 sessions on the QEMU, all holders together, and is told so;
 * - a client's "pause" halts the guest through the module, not QMP: QEMU
 *   still says "running" while the vCPU threads sleep in keyhole_park();
 *   the hold outlasts the module's watchdog (pause_timeout_ms, set to 5 s)
 *   more than twice over because keyholed renews it, and "resume" lets
 *   the guest run; so does a hold while an admin lowers the watchdog to
 *   450 ms, below keyholed's usual renewal interval;
 * - a hold the watchdog ends (keyholed stopped with SIGSTOP meanwhile) is
 *   over: the module's PAUSE_ENDED reaches keyholed, which tells the
 *   client "pause-expired" with reason "guest-ran", and "resume" then
 *   finds no hold;
 * - another process's attach (keyhole --technique kread) gives the module
 *   new ranges: keyholed counts the LAYOUT_CHANGED and reads the layout
 *   again on the VM's next use;
 * - keyholed killed with SIGKILL while it holds the guest: the guest runs
 *   at once (the module ends a pause when its fd closes) and answers;
 * - QEMU killed: the module's VM_EXITED reaches a new keyholed, which
 *   drops the VM from its list;
 * - the module unloaded and loaded again between two of keyholed's
 *   rescans (its family and group get new ids): keyholed joins the new
 *   group (keyholed_module_joins_total) and hears its events.
 */
#include <signal.h>
#include <sys/syscall.h>

#include "broker.h"
#include "kt_guest.h"
#include "test_pause.h"

static struct kt_guest kg;
static struct guest *const g = &kg.g;
static char dir[] = "/tmp/kt-keyholed.XXXXXX";
static char sock[64], log_path[64];
static pid_t daemon_pid;
static int port;
static bool passed;

static void cleanup(void)
{
	char *out;
	int status;

	if (!passed && log_path[0]) {
		out = run_capture(&status, "tail -n 40 '%s'", log_path);
		fprintf(stderr, "keyholed's log:\n%s", out ?: "");
		free(out);
	}
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGCONT);
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	daemon_pid = 0;
	kp_param_restore();
	kt_guest_stop(&kg);
	out = run_capture(&status, "rm -rf '%s'", dir);
	free(out);
}

static void start_daemon(void)
{
	char metrics[32];
	const char *extra[] = { "--metrics", metrics, NULL };

	port = broker_free_port();
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	daemon_pid = broker_start_opts(sock, log_path, "", extra);
}

static double metric(const char *series)
{
	return broker_metric(port, series);
}

static double wait_metric(const char *series, double min, const char *what)
{
	double end = broker_now() + 120, v;

	while ((v = metric(series)) < min) {
		CHECK(broker_now() < end, "%s: %s stayed at %g, below %g (log %s)",
		      what, series, v, min, log_path);
		usleep(200000);
	}
	return v;
}

static json_t *command(int fd, const char *execute, const char *args)
{
	char request[512];

	snprintf(request, sizeof(request),
		 "{\"execute\":\"%s\",\"arguments\":{\"vm\":\"%d\"%s%s},\"id\":\"k\"}",
		 execute, g->pid, args[0] ? "," : "", args);
	return broker_call(fd, request);
}

static json_t *ok(int fd, const char *execute, const char *args)
{
	json_t *reply = command(fd, execute, args);
	json_t *ret = json_incref(json_object_get(reply, "return"));

	CHECK(ret, "%s {%s}: %s (log %s)", execute, args,
	      json_dumps(reply, JSON_COMPACT), log_path);
	json_decref(reply);
	return ret;
}

/* The deepest pause any module session on the guest's QEMU holds. */
static int pause_depth(struct kp_nl *nl)
{
	static struct kp_msg sessions[64];
	int n = kp_nl_dump(nl, sessions, 64, 0), i, depth = -1;

	CHECK(n >= 0, "GET_SESSIONS: %s", strerror(-n));
	for (i = 0; i < n; i++)
		if (sessions[i].u[KEYHOLE_GENL_A_PID] == (uint64_t)g->pid &&
		    (int)sessions[i].u[KEYHOLE_GENL_A_PAUSE_DEPTH] > depth)
			depth = sessions[i].u[KEYHOLE_GENL_A_PAUSE_DEPTH];
	return depth;
}

static void wait_depth(struct kp_nl *nl, int want, const char *what)
{
	uint64_t start = kt_now_ms();

	while (pause_depth(nl) != want) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "%s: pause depth %d, not %d, after %u ms", what,
		      pause_depth(nl), want, KP_RUN_MS);
		usleep(50000);
	}
}

/* The guest runs and its own daemon answers. */
static void answers(const char *what)
{
	uint64_t start = kt_now_ms();
	struct kp_thread parked[8];
	char *pong;

	while (kp_parked_threads(g->pid, parked, 8)) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "%s: QEMU threads still parked after %u ms", what,
		      KP_RUN_MS);
		usleep(50000);
	}
	pong = guest_truth(g, "ping");
	CHECK(!strncmp(pong, "pong", 4), "%s: the guest answers '%s'", what,
	      pong);
	free(pong);
}

static void attach_with_kmap(int fd)
{
	json_t *vm;

	wait_metric("keyholed_module_listening", 1, "start");
	vm = ok(fd, "vm", "");
	CHECK(!strcmp(json_string_value(json_object_get(vm, "technique")) ?: "",
		      "kmap"),
	      "keyholed attached with %s, not kmap",
	      json_string_value(json_object_get(vm, "technique")));
	json_decref(vm);
	/* Its own attach's event arrives, and is not taken for a change. */
	wait_metric("keyholed_module_events_total{event=\"layout-changed\"}",
		    1, "keyholed's own attach");
	json_decref(ok(fd, "vm", ""));
	CHECK(metric("keyholed_layout_rereads_total") == 0,
	      "keyholed read the layout again after its own attach");
}

/* How many module sessions are attached to the guest's QEMU. */
static int sessions_on_guest(struct kp_nl *nl)
{
	static struct kp_msg sessions[256];
	int n = kp_nl_dump(nl, sessions, 256, 0), i, on = 0;

	CHECK(n >= 0, "GET_SESSIONS: %s", strerror(-n));
	for (i = 0; i < n; i++)
		on += sessions[i].u[KEYHOLE_GENL_A_PID] == (uint64_t)g->pid;
	return on;
}

/* keyhole_json_whole() as uid nobody, the guest's QEMU's user. */
static json_t *as_nobody(int *status, const char *fmt, ...)
{
	char args[4096], *keyhole, runas[4400];
	json_t *doc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	keyhole = strdup(getenv("KEYHOLE"));
	snprintf(runas, sizeof(runas),
		 "setpriv --reuid=nobody --regid=nogroup --clear-groups -- %s",
		 keyhole);
	setenv("KEYHOLE", runas, 1);
	doc = keyhole_json_whole(status, "%s", args);
	setenv("KEYHOLE", keyhole, 1);
	free(keyhole);
	return doc;
}

/* Until keyholed's own is the guest's only module session again. */
static void sessions_back(struct kp_nl *nl, const char *after)
{
	uint64_t start = kt_now_ms();

	while (sessions_on_guest(nl) != 1) {
		CHECK(kt_now_ms() - start < KP_RUN_MS,
		      "%d module sessions on the guest's QEMU %u ms after %s, not keyholed's alone",
		      sessions_on_guest(nl), KP_RUN_MS, after);
		usleep(50000);
	}
}

/* Whether a ps document lists pid. */
static bool has_task(json_t *doc, int pid)
{
	json_t *t;
	size_t i;

	json_array_foreach(doc_list(doc, "ps"), i, t)
		if (json_integer_value(json_object_get(t, "pid")) == pid)
			return true;
	return false;
}

/*
 * "ram" on the guest's anonymous RAM, which no file holds: keyholed
 * hands the client a keyhole.ko session of its own, which `keyhole
 * --ram-file` reads with kmap in its own process, finding every process
 * the guest had throughout; the session ends with the client, and
 * keyholed's own is not the one handed over (it stays, alone).
 */
static void ram_handed_over(int fd, struct kp_nl *nl)
{
	const char *series = "keyholed_module_events_total{event=\"layout-changed\"}";
	struct truth_task *before, *after;
	int nr_before, nr_after, status, i, j, matched = 0;
	int sessions = sessions_on_guest(nl);
	double events = metric(series);
	json_t *vm, *tasks;

	CHECK(sessions == 1, "%d module sessions on the guest's QEMU before ram, not keyholed's alone",
	      sessions);
	/* A client that does not say it takes a session gets none. */
	vm = command(fd, "ram", "");
	CHECK(json_object_get(vm, "error") && !json_object_get(vm, "return") &&
	      sessions_on_guest(nl) == 1,
	      "ram without kinds on anonymous RAM: %s",
	      json_dumps(vm, JSON_COMPACT));
	json_decref(vm);
	vm = keyhole_json(&status, "--broker=%s --ram-file vm %d", sock, g->pid);
	CHECK(status == 0 &&
	      !strcmp(json_string_value(json_object_get(vm, "technique")) ?: "",
		      "kmap"),
	      "keyhole --broker --ram-file vm: exit %d: %s", status,
	      json_dumps(vm, JSON_COMPACT));
	json_decref(vm);
	nr_before = guest_truth_ps(g, &before);
	tasks = keyhole_json_whole(&status, "--broker=%s --ram-file ps %d",
				   sock, g->pid);
	nr_after = guest_truth_ps(g, &after);
	CHECK(status == 0 && json_is_array(json_object_get(tasks, "ps")),
	      "keyhole --broker --ram-file ps: exit %d: %s", status,
	      json_dumps(tasks, JSON_COMPACT));
	for (i = 0; i < nr_before; i++) {
		for (j = 0; j < nr_after; j++)
			if (after[j].pid == before[i].pid &&
			    after[j].start_ticks == before[i].start_ticks)
				break;
		if (before[i].pid != before[i].tgid || j == nr_after)
			continue;
		CHECK(has_task(tasks, before[i].pid),
		      "process %d (%s) missing from ps through the handed-over session",
		      before[i].pid, before[i].comm);
		matched++;
	}
	CHECK(matched >= 10, "only %d stable processes to compare", matched);
	json_decref(tasks);
	/*
	 * QEMU's own user gets one too, attached with its credentials (root
	 * is not needed to be given what ptrace already allows).
	 */
	tasks = as_nobody(&status, "--broker=%s --ram-file ps %d", sock,
			  g->pid);
	CHECK(status == 0 && json_is_array(json_object_get(tasks, "ps")) &&
	      has_task(tasks, before[0].pid),
	      "keyhole --broker --ram-file ps as nobody, QEMU's user: exit %d: %s",
	      status, json_dumps(tasks, JSON_COMPACT));
	sessions_back(nl, "the clients exited");
	/* The sessions it made for clients are not news to keyholed. */
	wait_metric(series, events + 3, "the handed-over sessions' ranges");
	json_decref(ok(fd, "vm", ""));
	CHECK(metric("keyholed_layout_rereads_total") == 0,
	      "keyholed read the layout again after handing over the sessions");
	free(before);
	free(after);
	json_decref(tasks);
}

/* One reply line and the descriptors that came with it (kept). */
static json_t *reply_with_fds(int fd, int *fds, int *nr_fds, int max)
{
	char line[65536], control[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	size_t len = 0;
	ssize_t n;
	int i, nr;

	do {
		iov = (struct iovec){ line + len, sizeof(line) - 1 - len };
		mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = control,
				      .msg_controllen = sizeof(control) };
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		CHECK(n > 0, "keyholed closed the connection (%s)",
		      n < 0 ? strerror(errno) : "EOF");
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			nr = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nr; i++) {
				CHECK(*nr_fds < max, "more than %d descriptors",
				      max);
				memcpy(&fds[(*nr_fds)++],
				       CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
			}
		}
		len += n;
	} while (line[len - 1] != '\n' && len < sizeof(line) - 1);
	line[len] = '\0';
	return json_loads(line, 0, NULL);
}

/*
 * A client that asks for session after session and keeps them: keyholed
 * hands out no more than 64 on one QEMU (all holders together), says
 * why, and they all end with the client's fds.
 */
static void sessions_capped(struct kp_nl *nl)
{
	static int fds[256];
	char request[256];
	int fd = broker_connect(sock), nr_fds = 0, asked;
	const char *desc = NULL;
	json_t *reply = NULL;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"ram\",\"arguments\":{\"vm\":\"%d\",\"kinds\":[\"keyhole.ko\"]}}\n",
		 g->pid);
	for (asked = 0; asked < 100 && !desc; asked++) {
		json_decref(reply);
		CHECK(write(fd, request, strlen(request)) ==
		      (ssize_t)strlen(request), "write: %s", strerror(errno));
		reply = reply_with_fds(fd, fds, &nr_fds, 256);
		CHECK(reply, "a reply that is not JSON");
		desc = json_string_value(json_object_get(
			json_object_get(reply, "error"), "desc"));
	}
	CHECK(desc && strstr(desc, "too many keyhole.ko sessions") &&
	      sessions_on_guest(nl) == 64 && nr_fds == 2 * (asked - 1),
	      "after %d asked: %d sessions on the guest, %d fds, last reply %s",
	      asked, sessions_on_guest(nl), nr_fds,
	      json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	while (nr_fds)
		close(fds[--nr_fds]);
	close(fd);
	sessions_back(nl, "the client closed its sessions");
}

static void hold_outlasts_watchdog(int fd, struct kp_nl *nl)
{
	struct kp_thread parked[8];
	char state[32];
	uint64_t start;

	CHECK(!kp_param_set_ms(5000), "set %s to 5000", KP_PARAM);
	json_decref(ok(fd, "pause", "\"seconds\":120"));
	kp_wait_parked(g->pid, 1, parked, 8, "pause through keyholed");
	CHECK(guest_run_state(g, state, sizeof(state)) == 1,
	      "QEMU says '%s' while keyholed holds the guest: QMP stopped it, not the module",
	      state);
	/* More than twice the watchdog's time: only renewals keep it. */
	start = kt_now_ms();
	while (kt_now_ms() - start < 12000) {
		CHECK(pause_depth(nl) >= 1,
		      "the hold ended after %llu ms of 120 s (watchdog 5 s): keyholed did not renew it",
		      (unsigned long long)(kt_now_ms() - start));
		CHECK(kp_parked_threads(g->pid, parked, 8) >= 1,
		      "no QEMU thread parked %llu ms into the hold",
		      (unsigned long long)(kt_now_ms() - start));
		usleep(200000);
	}
	json_decref(ok(fd, "resume", ""));
	wait_depth(nl, 0, "resume");
	answers("after resume");
}

/*
 * An admin lowers pause_timeout_ms below keyholed's usual 500 ms renewal
 * while a hold lasts: keyholed renews in an eighth of the cap it reads,
 * so the hold still outlasts the watchdog many times over.
 */
static void hold_outlasts_short_watchdog(int fd, struct kp_nl *nl)
{
	struct kp_thread parked[8];
	uint64_t start;

	json_decref(ok(fd, "pause", "\"seconds\":120"));
	kp_wait_parked(g->pid, 1, parked, 8, "pause through keyholed");
	CHECK(!kp_param_set_ms(450), "set %s to 450", KP_PARAM);
	start = kt_now_ms();
	while (kt_now_ms() - start < 4000) {
		CHECK(pause_depth(nl) >= 1,
		      "the hold ended after %llu ms of 120 s (watchdog lowered to 450 ms): keyholed renewed too seldom",
		      (unsigned long long)(kt_now_ms() - start));
		usleep(100000);
	}
	json_decref(ok(fd, "resume", ""));
	wait_depth(nl, 0, "resume");
	CHECK(!kp_param_set_ms(2 * KP_HOLD_MS), "set %s", KP_PARAM);
	answers("after a hold under a 450 ms watchdog");
}

static void watchdog_ends_hold(int fd, struct kp_nl *nl)
{
	double before = metric("keyholed_module_events_total{event=\"pause-ended\"}");
	json_t *ev = NULL, *reply;
	struct kp_thread parked[8];
	double end;

	CHECK(!kp_param_set_ms(1000), "set %s to 1000", KP_PARAM);
	json_decref(ok(fd, "pause", "\"seconds\":120"));
	kp_wait_parked(g->pid, 1, parked, 8, "pause for the watchdog");
	CHECK(!kill(daemon_pid, SIGSTOP), "SIGSTOP keyholed");
	wait_depth(nl, 0, "the module's watchdog");
	CHECK(!kill(daemon_pid, SIGCONT), "SIGCONT keyholed");
	end = broker_now() + 120;
	while (!ev) {
		json_t *msg = broker_read(fd, end - broker_now(), NULL);

		CHECK(msg, "no pause-expired event within 120 s");
		if (!strcmp(json_string_value(json_object_get(msg, "event")) ?: "",
			    "pause-expired"))
			ev = msg;
		else
			json_decref(msg);
	}
	CHECK(!strcmp(json_string_value(json_object_get(
			json_object_get(ev, "data"), "reason")) ?: "",
		      "guest-ran"),
	      "pause-expired says %s", json_dumps(ev, JSON_COMPACT));
	json_decref(ev);
	wait_metric("keyholed_module_events_total{event=\"pause-ended\"}",
		    before + 1, "the watchdog's PAUSE_ENDED");
	reply = command(fd, "resume", "");
	CHECK(!strcmp(broker_error_class(reply) ?: "", "InvalidArgument"),
	      "resume after the watchdog: %s", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	answers("after the watchdog");
	CHECK(!kp_param_set_ms(2 * KP_HOLD_MS), "set %s", KP_PARAM);
}

static void foreign_layout(int fd)
{
	const char *series = "keyholed_module_events_total{event=\"layout-changed\"}";
	double before = metric(series);
	double rereads = metric("keyholed_layout_rereads_total");
	int status;
	char *out = run_capture(&status, "'%s' --technique kread vm %d 2>&1",
				getenv("KEYHOLE"), g->pid);

	CHECK(status == 0, "keyhole --technique kread vm: %s", out);
	free(out);
	wait_metric(series, before + 1, "another process's attach");
	json_decref(ok(fd, "vm", ""));
	wait_metric("keyholed_layout_rereads_total", rereads + 1,
		    "the VM's next use after another's attach");
}

static void killed_while_holding(int fd, struct kp_nl *nl)
{
	struct kp_thread parked[8];

	json_decref(ok(fd, "pause", "\"seconds\":120"));
	kp_wait_parked(g->pid, 1, parked, 8, "pause before SIGKILL");
	CHECK(!kill(daemon_pid, SIGKILL), "SIGKILL keyholed");
	CHECK(broker_wait_exit(daemon_pid, 60) >= 0, "keyholed did not die");
	daemon_pid = 0;
	wait_depth(nl, -1, "keyholed killed");
	answers("after keyholed was killed");
}

static void qemu_exits(void)
{
	int fd, pidfd;
	json_t *list;
	double end;

	start_daemon();
	fd = broker_connect(sock);
	wait_metric("keyholed_module_listening", 1, "restart");
	json_decref(ok(fd, "vm", ""));
	pidfd = syscall(SYS_pidfd_open, g->pid, 0);
	CHECK(pidfd >= 0 && !kill(g->pid, SIGKILL), "kill QEMU %d", g->pid);
	wait_metric("keyholed_module_events_total{event=\"vm-exited\"}", 1,
		    "QEMU killed");
	end = broker_now() + 120;
	for (;;) {
		list = broker_list(fd);
		if (!broker_list_find(list, g->pid))
			break;
		json_decref(list);
		CHECK(broker_now() < end, "QEMU %d still listed 120 s after it died",
		      g->pid);
		usleep(100000);
	}
	json_decref(list);
	close(pidfd);
	close(fd);
}

/* Until nobody holds the module (keyholed closed its attachments). */
static void wait_module_unused(void)
{
	double end = broker_now() + 120;
	char *out;
	int status;

	for (;;) {
		out = run_capture(&status, "cat /sys/module/keyhole/refcnt");
		if (status == 0 && atoi(out) == 0)
			break;
		CHECK(broker_now() < end, "keyhole.ko still used after 120 s: refcnt %s",
		      out);
		free(out);
		usleep(100000);
	}
	free(out);
}

static void module_reloaded(void)
{
	struct kt_l2_opts opts = { .smp = 1, .mem_mib = 32,
				   .accel = KT_ACCEL_KVM };
	const char *module = getenv("KT_MODULE");
	double joins, exits;
	struct kt_l2 l2;
	int dev, vm_fd, status;
	char *out;

	CHECK(module, "KT_MODULE must be set (tests/kmod/l1/inner)");
	joins = wait_metric("keyholed_module_joins_total", 1, "listening");
	exits = metric("keyholed_module_events_total{event=\"vm-exited\"}");
	wait_module_unused();
	/* One command: well inside the second between two rescans. */
	out = run_capture(&status, "rmmod keyhole && insmod '%s' 2>&1", module);
	CHECK(status == 0, "rmmod; insmod %s: %s", module, out);
	free(out);
	wait_metric("keyholed_module_joins_total", joins + 1,
		    "the module reloaded");
	CHECK(kt_l2_start(&l2, &opts) == 0, "a KVM L2 must start");
	dev = kt_dev_open();
	CHECK(dev >= 0, "open /dev/keyhole after the reload");
	vm_fd = kp_attach(dev, l2.pid, NULL);
	kt_l2_stop(&l2);
	wait_metric("keyholed_module_events_total{event=\"vm-exited\"}",
		    exits + 1, "a QEMU exited after the module reloaded");
	close(vm_fd);
	close(dev);
}

int main(int argc, char **argv)
{
	const char *build = getenv("KT_BUILD");
	char path[4200];
	struct kp_nl nl;
	int fd, status;
	char *out;

	CHECK(build, "KT_BUILD must be set (tests/kmod/run)");
	CHECK(!access("/dev/keyhole", R_OK | W_OK), "no /dev/keyhole");
	snprintf(path, sizeof(path), "%s/bin/keyholed", build);
	CHECK(!access(path, X_OK), "%s is not built (make kmod-test-infra)",
	      path);
	setenv("KEYHOLED", path, 1);
	snprintf(path, sizeof(path), "%s/bin/keyhole", build);
	setenv("KEYHOLE", path, 1);
	snprintf(path, sizeof(path), "%s/guest/truth", build);
	setenv("TRUTH", path, 1);
	CHECK(mkdtemp(dir), "mkdtemp %s", dir);
	/* nobody's client reaches the socket in it */
	CHECK(!chmod(dir, 0711), "chmod %s: %s", dir, strerror(errno));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/keyholed.log", dir);
	/* the L1 boots with lo down: /metrics is served on 127.0.0.1 */
	out = run_capture(&status, "ip link set lo up 2>&1");
	CHECK(status == 0, "ip link set lo up: %s", out);
	free(out);
	atexit(cleanup);
	kp_param_hold();
	CHECK(!kp_nl_open(&nl, false), "the keyhole netlink family");

	/*
	 * QEMU runs as nobody, so that a client of its uid may ask for a
	 * module session: the L1's /dev/kvm is made open to it, and Yama
	 * (if present) lets a uid ptrace its own processes.
	 */
	out = run_capture(&status,
			  "chmod 0666 /dev/kvm && { [ ! -e /proc/sys/kernel/yama/ptrace_scope ] || echo 0 > /proc/sys/kernel/yama/ptrace_scope; } 2>&1");
	CHECK(status == 0, "/dev/kvm and Yama for nobody's QEMU: %s", out);
	free(out);
	kt_guest_start_as(&kg, "kt-keyholed", "nobody");
	start_daemon();
	fd = broker_connect(sock);
	attach_with_kmap(fd);
	ram_handed_over(fd, &nl);
	sessions_capped(&nl);
	hold_outlasts_watchdog(fd, &nl);
	hold_outlasts_short_watchdog(fd, &nl);
	watchdog_ends_hold(fd, &nl);
	foreign_layout(fd);
	killed_while_holding(fd, &nl);
	close(fd);
	qemu_exits();
	kp_nl_close(&nl);
	module_reloaded();
	passed = true;
	return KH_PASS;
}
