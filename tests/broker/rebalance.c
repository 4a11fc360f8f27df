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
static char names[NR_QEMUS][32];
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

/*
 * What keyholed had at one moment: the VMs it lists, its moves so far
 * and each worker's count, read until the list and the moves were the
 * same before and after the counts.
 */
struct census {
	json_t *list;
	double moves;
	int vms[2];
};

/* Does b list exactly a's VMs, and extra if it is not 0? */
static int same_vms(json_t *a, json_t *b, int extra)
{
	size_t i;
	json_t *v;

	if (json_array_size(b) != json_array_size(a) + !!extra ||
	    (extra && !broker_list_find(b, extra)))
		return 0;
	json_array_foreach(a, i, v)
		if (!broker_list_find(b, (int)json_integer_value(
				json_object_get(v, "pid"))))
			return 0;
	return 1;
}

static void take_census(int fd, struct census *c)
{
	double end = broker_now() + 120, moves;
	json_t *again;

	for (;;) {
		c->list = broker_list(fd);
		c->moves = broker_metric(port, "keyholed_vm_moves_total");
		c->vms[0] = worker_vms(0);
		c->vms[1] = worker_vms(1);
		again = broker_list(fd);
		moves = broker_metric(port, "keyholed_vm_moves_total");
		if (same_vms(c->list, again, 0) && moves == c->moves) {
			json_decref(again);
			return;
		}
		json_decref(c->list);
		json_decref(again);
		CHECK(broker_now() < end,
		      "keyholed's VMs changed on every look for 120 s");
		usleep(100000);
	}
}

/*
 * Starts QEMU i and proves it went to the worker with fewer VMs (the
 * first on a tie). keyholed watches every QEMU of the host: when one of
 * another test or user came or went meanwhile, or a VM moved, the counts
 * prove nothing, and QEMU i is started again, ten times at most.
 */
static int spawn_placed(int fd, int i)
{
	const char *args[] = { "-name", names[i], NULL };
	struct census then, now;
	int try, want;

	for (try = 0; try < 10; try++) {
		take_census(fd, &then);
		want = then.vms[1] < then.vms[0];
		qemus[i] = broker_spawn_qemu(args);
		wait_listed(fd, qemus[i], 1);
		take_census(fd, &now);
		if (same_vms(then.list, now.list, qemus[i]) &&
		    now.moves == then.moves) {
			CHECK(now.vms[want] == then.vms[want] + 1 &&
			      now.vms[!want] == then.vms[!want],
			      "QEMU %d: workers had %d and %d VMs, now %d and %d (want it on %d)",
			      i, then.vms[0], then.vms[1], now.vms[0],
			      now.vms[1], want);
			json_decref(then.list);
			json_decref(now.list);
			return want;
		}
		fprintf(stderr, "QEMU %d: other VMs came, went or moved meanwhile (%zu then %zu listed, %g then %g moves); again\n",
			i, json_array_size(then.list),
			json_array_size(now.list), then.moves, now.moves);
		json_decref(then.list);
		json_decref(now.list);
		kill(qemus[i], SIGKILL);
		waitpid(qemus[i], NULL, 0);
		wait_listed(fd, qemus[i], 0);
	}
	CHECK(0, "QEMU %d: other VMs came, went or moved during each of 10 tries",
	      i);
	return -1;
}

/* Watched VMs: the last seq each streamed, by pid. */
struct stream {
	int pid;
	json_int_t seq;
	const char *name;
};

static struct stream streams[NR_QEMUS + 1];
static int nr_streams;

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
				"ps")) > 20,
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
	int fd, wfd, i, home[NR_QEMUS], guest_worker, moved = 0;
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
		snprintf(names[i], sizeof(names[i]), "kh-rebal-%d-%d", i,
			 (int)getpid());
		home[i] = spawn_placed(fd, i);
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
