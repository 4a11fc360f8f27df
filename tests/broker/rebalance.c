// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMs spread over workers as they come and go, on a keyholed of the
 * test's own with two workers (its /metrics says where each VM is):
 * - QEMUs started one by one each go to the worker with fewer VMs
 *   (keyholed_worker_vms);
 * - the guest and every QEMU are watched; the QEMUs of the worker that
 *   does not run the guest are killed, which leaves the guest's worker
 *   two or more VMs ahead: VMs move (keyholed_vm_moves_total) until the
 *   two workers differ by one at most;
 * - a watched VM that moved (keyholed_vm_worker changed) goes on being
 *   crawled on its new worker, and so does every other survivor: each
 *   streams new records or crawl errors, the guest's records with its
 *   processes, and the QEMUs that were killed stream nothing more.
 */
#include "broker.h"
#include "guest.h"

#define NR_QEMUS 8

static struct guest g;
static char dir[] = "/tmp/kh-rebalance.XXXXXX";
static pid_t daemon_pid, qemus[NR_QEMUS];
static int port;

static void cleanup(void)
{
	int i, status;

	for (i = 0; i < NR_QEMUS; i++)
		if (qemus[i] > 0) {
			kill(qemus[i], SIGKILL);
			waitpid(qemus[i], NULL, 0);
		}
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	free(run_capture(&status, "rm -rf '%s'", dir));
}

static int worker_vms(int worker)
{
	char series[64];

	snprintf(series, sizeof(series), "keyholed_worker_vms{worker=\"%d\"}",
		 worker);
	return (int)broker_metric(port, series);
}

/* The worker that ran pid's last crawl, or -1 before its first. */
static int vm_worker(int pid, const char *name)
{
	char series[256];

	snprintf(series, sizeof(series),
		 "keyholed_vm_worker{pid=\"%d\",name=\"%s\"}", pid, name);
	return (int)broker_metric(port, series);
}

static void wait_listed(int fd, int pid, int want)
{
	double end = broker_now() + 120;
	json_t *list;
	int found;

	for (;;) {
		list = broker_list(fd);
		found = !!broker_list_find(list, pid);
		json_decref(list);
		if (found == want)
			return;
		CHECK(broker_now() < end, "QEMU %d %s listed after 120 s", pid,
		      want ? "not" : "still");
		usleep(100000);
	}
}

/* Watched VMs: the last seq each streamed, by pid. */
struct stream {
	int pid;
	json_int_t seq;
	const char *name;
};

static struct stream streams[NR_QEMUS + 1];
static int nr_streams;
static char names[NR_QEMUS][32];

static struct stream *stream_of(int pid)
{
	int i;

	for (i = 0; i < nr_streams; i++)
		if (streams[i].pid == pid)
			return &streams[i];
	return NULL;
}

/* Reads events for a while (at most timeout s), noting each VM's seq. */
static void drain(int fd, double timeout)
{
	double end = broker_now() + timeout;
	json_t *msg, *data;
	struct stream *s;

	while ((msg = broker_read(fd, end - broker_now(), NULL))) {
		data = json_object_get(msg, "data");
		s = stream_of((int)json_integer_value(json_object_get(
			json_object_get(data, "vm"), "pid")));
		if (s && json_object_get(data, "seq"))
			s->seq = json_integer_value(json_object_get(data, "seq"));
		if (s && s->pid == g.pid &&
		    !strcmp(json_string_value(json_object_get(msg, "event")) ?: "",
			    "record"))
			CHECK(json_integer_value(json_object_get(json_object_get(
				json_object_get(data, "record"), "counts"),
				"tasks")) > 20,
			      "a record of the guest with few tasks: %s",
			      json_dumps(msg, JSON_COMPACT));
		json_decref(msg);
		if (broker_now() >= end)
			break;
	}
}

int main(int argc, char **argv)
{
	char sock[64], log[64], metrics[32], request[256];
	const char *extra[] = { "--workers", "2", "--metrics", metrics, NULL };
	int fd, wfd, i, before[2], home[NR_QEMUS], guest_worker, moved = 0;
	int others, killed;
	json_int_t seq_then[NR_QEMUS + 1];
	double end;

	CHECK(argc == 2, "usage: rebalance GUEST_RUNDIR");
	guest_load(&g, argv[1]);
	CHECK(mkdtemp(dir), "mkdtemp %s", dir);
	atexit(cleanup);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(log, sizeof(log), "%s/keyholed.log", dir);
	port = broker_free_port();
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	daemon_pid = broker_start_opts(sock, log, "", extra);
	fd = broker_connect(sock);
	wait_listed(fd, g.pid, 1);

	/* Each new QEMU goes to the worker with fewer (the first on a tie). */
	for (i = 0; i < NR_QEMUS; i++) {
		const char *args[] = { "-name", names[i], NULL };
		int want;

		snprintf(names[i], sizeof(names[i]), "kh-rebal-%d-%d", i,
			 (int)getpid());
		before[0] = worker_vms(0);
		before[1] = worker_vms(1);
		want = before[1] < before[0];
		qemus[i] = broker_spawn_qemu(args);
		wait_listed(fd, qemus[i], 1);
		CHECK(worker_vms(want) == before[want] + 1 &&
		      worker_vms(!want) == before[!want],
		      "QEMU %d: workers had %d and %d VMs, now %d and %d (want it on %d)",
		      i, before[0], before[1], worker_vms(0), worker_vms(1),
		      want);
		home[i] = want;
	}

	/* Watch them all, and the guest, and learn the guest's worker. */
	wfd = broker_connect(sock);
	snprintf(request, sizeof(request),
		 "{\"execute\":\"watch\",\"arguments\":{\"match\":\"kh-rebal-*-%d\",\"hz\":5,\"records\":\"summary\"}}",
		 (int)getpid());
	json_decref(broker_call(wfd, request));
	snprintf(request, sizeof(request),
		 "{\"execute\":\"watch\",\"arguments\":{\"vm\":\"%d\",\"hz\":5,\"records\":\"summary\"}}",
		 g.pid);
	json_decref(broker_call(wfd, request));
	streams[nr_streams++] = (struct stream){ g.pid, -1, g.name };
	for (i = 0; i < NR_QEMUS; i++)
		streams[nr_streams++] = (struct stream){ qemus[i], -1, names[i] };
	end = broker_now() + 180;
	while ((guest_worker = vm_worker(g.pid, g.name)) < 0) {
		CHECK(broker_now() < end, "the guest was not crawled in 180 s");
		drain(wfd, 0.5);
	}

	/*
	 * Leave the guest's worker ahead by killing the other's QEMUs. Any
	 * VM of that worker may move, watched or not: there must be more
	 * moves to come than other QEMUs on it, or none watched might.
	 */
	others = worker_vms(guest_worker) - 1;
	killed = 0;
	for (i = 0; i < NR_QEMUS; i++) {
		others -= home[i] == guest_worker;
		killed += home[i] != guest_worker;
	}
	CHECK((worker_vms(guest_worker) - worker_vms(!guest_worker) + killed) / 2 > others,
	      "%d other QEMUs on the guest's worker: too many on this host for this test",
	      others);
	for (i = 0; i < NR_QEMUS; i++) {
		if (home[i] == guest_worker)
			continue;
		CHECK(!kill(qemus[i], SIGKILL), "kill %d", qemus[i]);
		waitpid(qemus[i], NULL, 0);
		wait_listed(fd, qemus[i], 0);
		stream_of(qemus[i])->pid = -qemus[i];	/* no more events */
		qemus[i] = 0;
	}
	end = broker_now() + 120;
	while (broker_metric(port, "keyholed_vm_moves_total") < 1 ||
	       abs(worker_vms(0) - worker_vms(1)) > 1) {
		CHECK(broker_now() < end,
		      "after 120 s: %g moves, workers with %d and %d VMs (log %s)",
		      broker_metric(port, "keyholed_vm_moves_total"),
		      worker_vms(0), worker_vms(1), log);
		drain(wfd, 0.5);
	}

	/* Every survivor streams on; at least one watched VM moved. */
	drain(wfd, 1);
	for (i = 0; i < nr_streams; i++)
		seq_then[i] = streams[i].seq;
	end = broker_now() + 120;
	for (i = 0; i < nr_streams; i++) {
		struct stream *s = &streams[i];

		if (s->pid < 0)
			continue;
		while (s->seq < seq_then[i] + 3) {
			CHECK(broker_now() < end,
			      "%s (%d) streamed up to seq %lld, from %lld, in 120 s after the moves",
			      s->name, s->pid, (long long)s->seq,
			      (long long)seq_then[i]);
			drain(wfd, 0.5);
		}
		/* Every survivor began on the guest's worker. */
		moved += vm_worker(s->pid, s->name) != guest_worker;
	}
	CHECK(moved >= 1,
	      "no watched VM runs on the other worker after the moves");
	fprintf(stderr, "%d watched VMs moved; workers with %d and %d VMs\n",
		moved, worker_vms(0), worker_vms(1));
	close(wfd);
	close(fd);
	return KH_PASS;
}
