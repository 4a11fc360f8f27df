// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed's metrics, as a monitoring system sees them: a keyholed of the
 * test's own serves /metrics, a real Prometheus (Debian's) scrapes it
 * every second, a client watches the guest at 5 Hz, and Prometheus's
 * query API must then show, for the guest's pid and name, crawls that
 * keep counting up, processes those crawls kept (watched VMs are crawled
 * incrementally), a crawl duration histogram, the guest's task count as
 * the guest's own /proc has it (within the churn of kh-churn), the
 * consistency counters, and a worker's busy time that grows. A client
 * that does not read shows up in keyholed_client_dropped_total.
 */

#include "broker.h"
#include "guest.h"

static pid_t prometheus, daemon_pid;
static char dir[] = "/tmp/kh-metrics.XXXXXX";

static void stop_all(void)
{
	if (prometheus > 0)
		kill(prometheus, SIGKILL);
	if (daemon_pid > 0)
		kill(daemon_pid, SIGKILL);
}

/* The value of a PromQL query's first sample, or -1 if there is none. */
static double query(int port, const char *promql)
{
	json_t *doc, *result;
	int status;
	char *out = run_capture(&status,
		"curl -s --max-time 10 'http://127.0.0.1:%d/api/v1/query' --data-urlencode 'query=%s'",
		port, promql);
	double value = -1;

	doc = json_loads(out, 0, NULL);
	result = json_object_get(json_object_get(doc, "data"), "result");
	if (json_array_size(result))
		value = atof(json_string_value(json_array_get(json_object_get(
			json_array_get(result, 0), "value"), 1)) ?: "-1");
	json_decref(doc);
	free(out);
	return value;
}

/* Waits up to timeout seconds for the query's value to pass min. */
static double wait_above(int port, const char *promql, double min,
			 double timeout)
{
	double end = broker_now() + timeout, v;

	for (;;) {
		v = query(port, promql);
		if (v > min)
			return v;
		CHECK(broker_now() < end, "%s stayed at %g (not above %g) for %.0f s",
		      promql, v, min, timeout);
		usleep(500000);
	}
}

int main(int argc, char **argv)
{
	const char *bin = getenv("KEYHOLED");
	char sock[256], log[256], config[256], q[512], metrics[64], args[256];
	struct truth_task *tasks;
	int mport, pport, fd, slow, nr, i, tasks_truth = 0;
	double crawls, later, busy, objects;
	struct guest g;
	FILE *f;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	CHECK(bin && bin[0], "KEYHOLED is not set (tests/run sets it)");
	guest_load(&g, argv[1]);
	CHECK(mkdtemp(dir), "mkdtemp");
	atexit(stop_all);
	snprintf(sock, sizeof(sock), "%s/keyholed.sock", dir);
	snprintf(log, sizeof(log), "%s/keyholed.log", dir);
	mport = broker_free_port();
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", mport);

	daemon_pid = fork();
	CHECK(daemon_pid >= 0, "fork");
	if (daemon_pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(out, 1);
		dup2(out, 2);
		execl(bin, bin, "--foreground", "--socket", sock,
		      "--cache-dir", "", "--state-dir", "", "--metrics",
		      metrics, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 600 && (fd = broker_dial(sock)) < 0; i++)
		usleep(100000);
	CHECK(fd >= 0, "keyholed did not start; see %s", log);
	close(fd);

	snprintf(config, sizeof(config), "%s/prometheus.yml", dir);
	f = fopen(config, "w");
	CHECK(f, "config");
	fprintf(f, "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
		   "scrape_configs:\n  - job_name: keyholed\n"
		   "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
		mport);
	fclose(f);
	pport = broker_free_port();
	prometheus = fork();
	CHECK(prometheus >= 0, "fork");
	if (prometheus == 0) {
		char listen[64], data[256], plog[256];
		int out;

		snprintf(listen, sizeof(listen),
			 "--web.listen-address=127.0.0.1:%d", pport);
		snprintf(data, sizeof(data), "--storage.tsdb.path=%s/data", dir);
		snprintf(plog, sizeof(plog), "%s/prometheus.log", dir);
		out = open(plog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(out, 1);
		dup2(out, 2);
		snprintf(config, sizeof(config), "--config.file=%s/prometheus.yml",
			 dir);
		execlp("prometheus", "prometheus", config, listen, data,
		       (char *)NULL);
		_exit(127);
	}

	/* A subscriber, so that keyholed crawls the guest. */
	fd = broker_connect(sock);
	snprintf(args, sizeof(args),
		 "{\"execute\":\"watch\",\"arguments\":{\"vm\":\"%d\",\"hz\":5,\"records\":\"summary\"}}",
		 g.pid);
	json_decref(broker_call(fd, args));

	snprintf(q, sizeof(q), "keyholed_crawls_total{pid=\"%d\",name=\"%s\"}",
		 g.pid, g.name);
	crawls = wait_above(pport, q, 0, 180);
	later = wait_above(pport, q, crawls, 60);
	fprintf(stderr, "crawls_total: %g, then %g\n", crawls, later);

	snprintf(q, sizeof(q), "keyholed_crawl_duration_seconds_count{pid=\"%d\"}",
		 g.pid);
	wait_above(pport, q, 0, 60);
	snprintf(q, sizeof(q), "keyholed_crawl_duration_seconds_bucket{pid=\"%d\",le=\"+Inf\"}",
		 g.pid);
	wait_above(pport, q, 0, 60);
	/* Watched VMs are crawled incrementally: idle processes are kept. */
	snprintf(q, sizeof(q), "keyholed_crawl_procs_kept_total{pid=\"%d\"}",
		 g.pid);
	wait_above(pport, q, 0, 120);
	snprintf(q, sizeof(q), "sum(keyholed_inconsistencies_total{pid=\"%d\"}) >= 0",
		 g.pid);
	wait_above(pport, q, -1, 60);

	nr = guest_truth_ps(&g, &tasks);
	for (i = 0; i < nr; i++)
		tasks_truth++;
	free(tasks);
	snprintf(q, sizeof(q), "keyholed_guest_objects{pid=\"%d\",kind=\"tasks\"}",
		 g.pid);
	objects = wait_above(pport, q, 0, 60);
	/* kh-churn makes ~10 tasks come and go; the rest is stable. */
	CHECK(objects > tasks_truth - 25 && objects < tasks_truth + 25,
	      "keyholed_guest_objects tasks %g, the guest's /proc %d",
	      objects, tasks_truth);

	busy = wait_above(pport, "sum(keyholed_worker_busy_seconds_total)", 0,
			  60);
	wait_above(pport, "sum(keyholed_worker_busy_seconds_total)", busy, 60);

	/* A client that never reads its 20 Hz full records. */
	slow = broker_connect(sock);
	snprintf(args, sizeof(args),
		 "{\"execute\":\"watch\",\"arguments\":{\"vm\":\"%d\",\"hz\":20}}",
		 g.pid);
	broker_write(slow, args);
	broker_write(slow, "\n");
	wait_above(pport, "sum(keyholed_client_dropped_total)", 0, 120);

	close(slow);
	close(fd);
	kill(daemon_pid, SIGTERM);
	CHECK(broker_wait_exit(daemon_pid, 120) == 0, "keyholed did not stop cleanly");
	daemon_pid = 0;
	return KH_PASS;
}
