// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every crawl keyholed makes has a time and a memory budget
 * (--budget-ms, --budget-kib), and a client may ask for less
 * ("budget_ms", "budget_kib" of the crawl query), never for more:
 * - a client's smaller budget holds under the daemon's default one: a
 *   crawl whose results would outgrow 4 KiB fails with OverBudget naming
 *   4096 bytes; a crawl through hmp (one QMP round trip per read, seconds
 *   for a whole crawl) with 1 ms fails naming 1 ms, and with "pause" the
 *   guest runs again afterwards; a budget the crawl fits in gives the
 *   whole record;
 * - a daemon whose memory budget is 4 KiB gives every crawl no more, even
 *   to a client asking for more or for none, and streams crawl-error
 *   events naming it to a watch of the VM, while it answers a ps in full
 *   meanwhile; one whose time budget is 1 ms cuts an hmp crawl for which
 *   the client asked ten minutes.
 */
#include "broker.h"
#include "guest.h"

static struct guest g;
static pid_t daemon_pid;

static void stop_daemon(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		broker_wait_exit(daemon_pid, 60);
		daemon_pid = 0;
	}
}

/* A crawl query's reply; args is the JSON text of its extra arguments. */
static json_t *crawl(int fd, const char *args)
{
	char request[1024];

	snprintf(request, sizeof(request),
		 "{\"execute\":\"crawl\",\"arguments\":{\"vm\":\"%d\",\"summary\":true%s%s},\"id\":\"c\"}",
		 g.pid, args[0] ? "," : "", args);
	return broker_call(fd, request);
}

static void over_budget(int fd, const char *args, const char *budget)
{
	json_t *reply = crawl(fd, args);
	const char *klass = broker_error_class(reply);
	const char *desc = json_string_value(json_object_get(
		json_object_get(reply, "error"), "desc"));

	CHECK(klass && !strcmp(klass, "OverBudget") && desc &&
	      strstr(desc, budget),
	      "crawl {%s}: want OverBudget naming '%s', got %s", args, budget,
	      json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
}

static void client_budgets(const char *sock)
{
	int fd = broker_connect(sock);
	json_t *reply, *counts;

	over_budget(fd, "\"budget_kib\":4", "memory budget of 4096 bytes");
	over_budget(fd, "\"technique\":\"hmp\",\"budget_ms\":1",
		    "time budget of 1 ms");
	over_budget(fd, "\"technique\":\"hmp\",\"budget_ms\":1,\"pause\":true",
		    "time budget of 1 ms");
	CHECK(guest_run_state(&g, NULL, 0),
	      "the guest is not running after a paused crawl over its budget");

	reply = crawl(fd, "\"budget_ms\":600000,\"budget_kib\":1048576");
	counts = json_object_get(json_object_get(reply, "return"), "counts");
	CHECK(json_integer_value(json_object_get(counts, "ps")) > 20 &&
	      json_integer_value(json_object_get(counts, "proc")) > 5,
	      "a crawl within its budget: %s", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	close(fd);
}

/* The next crawl-error of the stream; every record before it fails. */
static json_t *next_crawl_error(int fd)
{
	double end = broker_now() + 120;
	const char *event;
	json_t *msg;

	while ((msg = broker_read(fd, end - broker_now(), NULL))) {
		event = json_string_value(json_object_get(msg, "event"));
		CHECK(!event || strcmp(event, "record"),
		      "a record over a 4 KiB budget: %s",
		      json_dumps(msg, JSON_COMPACT));
		if (event && !strcmp(event, "crawl-error"))
			return msg;
		json_decref(msg);
	}
	CHECK(0, "no crawl-error within 120 s");
	return NULL;
}

static void daemon_memory_budget(const char *dir)
{
	static const char *const opts[] = { "--budget-kib", "4", NULL };
	char sock[512], log[512], request[256];
	const char *desc;
	json_t *msg, *ps;
	int watcher, fd, i;

	snprintf(sock, sizeof(sock), "%s/budget.sock", dir);
	snprintf(log, sizeof(log), "%s/budget-keyholed.log", dir);
	daemon_pid = broker_start_opts(sock, log, "", opts);
	fd = broker_connect(sock);
	over_budget(fd, "", "memory budget of 4096 bytes");
	over_budget(fd, "\"budget_kib\":0", "memory budget of 4096 bytes");
	over_budget(fd, "\"budget_kib\":1048576",
		    "memory budget of 4096 bytes");

	watcher = broker_connect(sock);
	snprintf(request, sizeof(request),
		 "{\"execute\":\"watch\",\"arguments\":{\"vm\":\"%d\",\"hz\":5,\"records\":\"summary\"},\"id\":\"w\"}",
		 g.pid);
	json_decref(broker_call_ok(watcher, request));
	for (i = 0; i < 3; i++) {
		msg = next_crawl_error(watcher);
		desc = json_string_value(json_object_get(json_object_get(
			json_object_get(msg, "data"), "error"), "desc"));
		CHECK(desc && strstr(desc, "memory budget of 4096 bytes"),
		      "crawl-error: %s", json_dumps(msg, JSON_COMPACT));
		json_decref(msg);

		/* The same daemon serves everything else meanwhile. */
		snprintf(request, sizeof(request),
			 "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"%d\"},\"id\":%d}",
			 g.pid, i);
		ps = broker_call(fd, request);
		CHECK(json_array_size(json_object_get(json_object_get(
			      ps, "return"), "ps")) > 20,
		      "ps while crawls go over budget: %s",
		      json_dumps(ps, JSON_COMPACT));
		json_decref(ps);
	}
	close(watcher);
	close(fd);
	stop_daemon();
}

static void daemon_time_budget(const char *dir)
{
	static const char *const opts[] = { "--budget-ms", "1", NULL };
	char sock[512], log[512], request[256];
	json_t *ps;
	int fd;

	snprintf(sock, sizeof(sock), "%s/budget-time.sock", dir);
	snprintf(log, sizeof(log), "%s/budget-time-keyholed.log", dir);
	daemon_pid = broker_start_opts(sock, log, "", opts);
	fd = broker_connect(sock);
	/*
	 * Finding the kernel is the attach's, not the crawl's: a ps through
	 * memmap does it once for every technique, where hmp would take
	 * seconds.
	 */
	snprintf(request, sizeof(request),
		 "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"%d\"},\"id\":1}",
		 g.pid);
	ps = broker_call(fd, request);
	CHECK(json_array_size(json_object_get(json_object_get(ps, "return"),
					      "ps")) > 20,
	      "ps: %s", json_dumps(ps, JSON_COMPACT));
	json_decref(ps);
	over_budget(fd, "\"technique\":\"hmp\",\"budget_ms\":600000",
		    "time budget of 1 ms");
	close(fd);
	stop_daemon();
}

int main(int argc, char **argv)
{
	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	atexit(stop_daemon);

	client_budgets(broker_socket());
	daemon_memory_budget(g.rundir);
	daemon_time_budget(g.rundir);
	return KH_PASS;
}
