// SPDX-License-Identifier: GPL-2.0-only
/*
 * Subscriptions ("watch"), against the guest's own view of itself:
 *  - change events are true: every kh-churnchild that the guest's own
 *    /proc shows, and that was not in the subscription's first record, is
 *    announced as process-started; every one in that first record is
 *    announced as process-exited (they live about a second);
 *  - one crawl feeds every subscriber: two clients watching the same VM
 *    at the same rate get the very same record for the same sequence
 *    number, cost included (two crawls would never cost the same);
 *  - a client that does not read loses its oldest records, counted in
 *    "dropped", while another client's records keep coming;
 *  - a watched VM is crawled incrementally, never stale: while the guest
 *    is held halted, a record keeps every process's state from the last
 *    crawl and equals a full crawl;
 *  - unwatch ends a subscription at once; bad arguments are refused;
 *  - a VM that exits ends the subscriptions to it (vm-exited, then
 *    subscription-ended), and one whose RAM holds no kernel (a QEMU at -S)
 *    reports crawl errors without affecting anyone else.
 */
#include "broker.h"
#include "guest.h"

static struct guest g;
static const char *sock;
static pid_t qemu;

static void kill_qemu(void)
{
	if (qemu > 0)
		kill(qemu, SIGKILL);
}

static json_int_t watch(int fd, const char *args)
{
	char request[1024];
	json_t *reply;
	json_int_t id;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"watch\",\"arguments\":%s,\"id\":\"w\"}", args);
	reply = broker_call(fd, request);
	id = json_integer_value(json_object_get(json_object_get(reply,
			"return"), "subscription"));
	CHECK(id > 0, "watch %s: %s", args, json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	return id;
}

/* The next message of an event, skipping others; NULL after timeout. */
static json_t *next_event(int fd, const char *event, double timeout)
{
	double end = broker_now() + timeout;
	json_t *msg;

	while ((msg = broker_read(fd, end - broker_now(), NULL))) {
		if (!strcmp(json_string_value(json_object_get(msg, "event")) ?: "",
			    event))
			return msg;
		json_decref(msg);
	}
	return NULL;
}

static int is_churnchild(json_t *task)
{
	return !strcmp(json_string_value(json_object_get(task, "comm")) ?: "",
		       "kh-churnchild") &&
	       json_integer_value(json_object_get(task, "pid")) ==
	       json_integer_value(json_object_get(task, "tgid"));
}

#define MAX_PIDS 4096

struct pids {
	int pid[MAX_PIDS];
	int nr;
};

static void add(struct pids *p, int pid)
{
	if (p->nr < MAX_PIDS)
		p->pid[p->nr++] = pid;
}

static int has(const struct pids *p, int pid)
{
	int i;

	for (i = 0; i < p->nr; i++)
		if (p->pid[i] == pid)
			return 1;
	return 0;
}

/* Reads the stream until `until`, noting churnchild starts and exits. */
static void collect(int fd, double until, struct pids *started,
		    struct pids *exited)
{
	json_t *msg, *change, *data;
	size_t i;

	while ((msg = broker_read(fd, until - broker_now(), NULL))) {
		data = json_object_get(msg, "data");
		if (!strcmp(json_string_value(json_object_get(msg, "event")) ?: "",
			    "changes")) {
			CHECK(json_is_object(json_object_get(data, "consistency")),
			      "changes without consistency counters");
			json_array_foreach(json_object_get(data, "changes"), i,
					   change) {
				const char *kind = json_string_value(
					json_object_get(change, "kind"));
				json_t *obj = json_object_get(change, "object");

				/*
				 * Any process: a child is "kh-churn" until
				 * it names itself, and the crawl that first
				 * sees it may see it then.
				 */
				if (!strcmp(kind, "process-started"))
					add(started, json_integer_value(
						json_object_get(obj, "pid")));
				else if (!strcmp(kind, "process-exited"))
					add(exited, json_integer_value(
						json_object_get(obj, "pid")));
			}
		}
		json_decref(msg);
	}
}

/* A kh-churnchild process the first record did not have. */
static int is_new_child(const struct truth_task *t, struct pids *first_all)
{
	return !strcmp(t->comm, "kh-churnchild") && t->pid == t->tgid &&
	       !has(first_all, t->pid);
}

static int new_children(const struct truth_task *tasks, int nr,
			struct pids *first_all)
{
	int i, n = 0;

	for (i = 0; i < nr; i++)
		n += is_new_child(&tasks[i], first_all);
	return n;
}

static int all_announced(const struct truth_task *tasks, int nr,
			 struct pids *first_all, struct pids *baseline,
			 struct pids *started, struct pids *exited)
{
	int i;

	for (i = 0; i < nr; i++)
		if (is_new_child(&tasks[i], first_all) &&
		    !has(started, tasks[i].pid))
			return 0;
	for (i = 0; i < baseline->nr; i++)
		if (!has(exited, baseline->pid[i]))
			return 0;
	return 1;
}

static void events_are_true(void)
{
	struct pids baseline = { 0 }, first_all = { 0 };
	struct pids started = { 0 }, exited = { 0 };
	struct truth_task *tasks;
	char args[256];
	json_t *first, *task;
	int fd = broker_connect(sock), nr, i, checked = 0;
	double deadline;
	size_t j;

	snprintf(args, sizeof(args),
		 "{\"vm\":\"%s\",\"hz\":5,\"records\":\"full\",\"events\":true}",
		 g.name);
	watch(fd, args);
	first = next_event(fd, "record", 120);
	CHECK(first, "no first record within 120 s");
	json_array_foreach(json_object_get(json_object_get(json_object_get(
			first, "data"), "record"), "ps"), j, task) {
		int pid = json_integer_value(json_object_get(task, "pid"));

		add(&first_all, pid);
		if (is_churnchild(task))
			add(&baseline, pid);
	}
	json_decref(first);
	CHECK(baseline.nr > 0, "no kh-churnchild in the first record");

	/*
	 * Conditions with a deadline, not fixed waits: a guest on a busy
	 * host forks more slowly. First a child the first record did not
	 * have, in the guest's own /proc; then its start, and the exit of
	 * every child of the first record, announced.
	 */
	tasks = NULL;
	nr = 0;
	deadline = broker_now() + 120;
	do {
		collect(fd, broker_now() + 1, &started, &exited);
		free(tasks);
		nr = guest_truth_ps(&g, &tasks);
	} while (!new_children(tasks, nr, &first_all) &&
		 broker_now() < deadline);
	while (!all_announced(tasks, nr, &first_all, &baseline, &started,
			      &exited) && broker_now() < deadline)
		collect(fd, broker_now() + 1, &started, &exited);

	for (i = 0; i < nr; i++) {
		if (!is_new_child(&tasks[i], &first_all))
			continue;
		CHECK(has(&started, tasks[i].pid),
		      "kh-churnchild %d, in the guest's /proc, was never announced (%d starts seen)",
		      tasks[i].pid, started.nr);
		checked++;
	}
	for (i = 0; i < baseline.nr; i++)
		CHECK(has(&exited, baseline.pid[i]),
		      "kh-churnchild %d of the first record never exited (%d exits seen)",
		      baseline.pid[i], exited.nr);
	CHECK(checked > 0, "no kh-churnchild started during the watch");
	fprintf(stderr, "events: %d starts and %d exits announced; %d checked against the guest's /proc, %d baseline exits\n",
		started.nr, exited.nr, checked, baseline.nr);
	free(tasks);
	close(fd);
}

static void one_crawl_feeds_all(void)
{
	int a = broker_connect(sock), b = broker_connect(sock), i, same = 0;
	json_t *ra[6] = { 0 }, *rb, *seq;
	char args[256];

	snprintf(args, sizeof(args),
		 "{\"vm\":\"%s\",\"hz\":4,\"records\":\"summary\"}", g.name);
	watch(a, args);
	watch(b, args);
	for (i = 0; i < 6; i++) {
		ra[i] = next_event(a, "record", 60);
		CHECK(ra[i], "client a: no record");
	}
	for (i = 0; i < 4 && !same; i++) {
		json_t *data;
		int k;

		rb = next_event(b, "record", 60);
		CHECK(rb, "client b: no record");
		data = json_object_get(rb, "data");
		seq = json_object_get(data, "seq");
		for (k = 0; k < 6; k++) {
			json_t *da = json_object_get(ra[k], "data");

			if (!json_equal(json_object_get(da, "seq"), seq))
				continue;
			CHECK(json_equal(json_object_get(da, "record"),
					 json_object_get(data, "record")),
			      "seq %lld: two different crawls for two clients",
			      json_integer_value(seq));
			same = 1;
		}
		json_decref(rb);
	}
	CHECK(same, "the two clients' records never share a sequence number");
	for (i = 0; i < 6; i++)
		json_decref(ra[i]);
	close(a);
	close(b);
}

/* A command of the daemon for g's VM, which must succeed. */
static void vm_command(int fd, const char *execute, const char *more)
{
	char request[512];

	snprintf(request, sizeof(request),
		 "{\"execute\":\"%s\",\"arguments\":{\"vm\":\"%d\"%s},\"id\":\"c\"}",
		 execute, g.pid, more);
	json_decref(broker_call_ok(fd, request));
}

/*
 * A watched VM is crawled incrementally (kh_crawl_since), and that is
 * never stale: with the guest held halted, so that nothing can change,
 * a record soon keeps every process's state from the feed's last crawl
 * (cost.procs_kept), and everything in it is what a full crawl the
 * daemon makes for a query meanwhile says.
 */
static void kept_state_is_a_full_crawl(void)
{
	static const char *const parts[] = { "ps", "proc", "lsof", "ss",
					     "lsmod", "ifconfig",
					     "consistency" };
	int hold = broker_connect(sock), fd = -1, i, attempt;
	json_t *kept = NULL, *full;
	char request[256];

	snprintf(request, sizeof(request),
		 "{\"vm\":\"%s\",\"hz\":4,\"records\":\"full\"}", g.name);
	/*
	 * A process halted where its state cannot be read whole (a churn
	 * child mid-exec) is never kept while that hold lasts: then the
	 * guest runs a moment and is held again.
	 */
	for (attempt = 0; attempt < 3 && !kept; attempt++) {
		/* Closing "hold" (or the test dying) resumes the guest. */
		vm_command(hold, "pause", ",\"seconds\":300");
		fd = broker_connect(sock);
		watch(fd, request);
		for (i = 0; i < 20 && !kept; i++) {
			json_t *msg = next_event(fd, "record", 60), *record;
			json_int_t nr_kept;

			CHECK(msg, "no record within 60 s");
			record = json_object_get(json_object_get(msg, "data"),
						 "record");
			nr_kept = json_integer_value(json_object_get(
				json_object_get(record, "cost"), "procs_kept"));
			if (nr_kept > 0 &&
			    (size_t)nr_kept ==
			    json_object_size(json_object_get(record, "proc")))
				kept = json_incref(record);
			json_decref(msg);
		}
		if (!kept) {
			close(fd);
			vm_command(hold, "resume", "");
		}
	}
	CHECK(kept, "in 3 holds of 20 records each, no record kept every process");
	snprintf(request, sizeof(request),
		 "{\"execute\":\"crawl\",\"arguments\":{\"vm\":\"%d\"},\"id\":\"f\"}",
		 g.pid);
	full = broker_call_ok(hold, request);
	CHECK(json_integer_value(json_object_get(json_object_get(full, "cost"),
						 "procs_kept")) == 0,
	      "a query's crawl kept processes: it must be a full one");
	for (i = 0; i < (int)(sizeof(parts) / sizeof(parts[0])); i++)
		CHECK(json_equal(json_object_get(kept, parts[i]),
				 json_object_get(full, parts[i])),
		      "the kept record's %s differ from a full crawl's: %s vs %s",
		      parts[i],
		      json_dumps(json_object_get(kept, parts[i]), JSON_COMPACT),
		      json_dumps(json_object_get(full, parts[i]), JSON_COMPACT));
	printf("watch: a record of the halted guest kept all %zu processes and equals a full crawl\n",
	       json_object_size(json_object_get(kept, "proc")));
	json_decref(full);
	json_decref(kept);
	close(fd);
	vm_command(hold, "resume", "");
	close(hold);
}

static void slow_client(void)
{
	int slow = broker_connect(sock), fast = broker_connect(sock);
	json_int_t last = 0, dropped = 0;
	double end;
	json_t *msg;
	char args[256];

	snprintf(args, sizeof(args),
		 "{\"vm\":\"%s\",\"hz\":20,\"records\":\"full\"}", g.name);
	watch(slow, args);
	snprintf(args, sizeof(args),
		 "{\"vm\":\"%s\",\"hz\":2,\"records\":\"summary\"}", g.name);
	watch(fast, args);
	/* The slow one reads nothing for 15 s; the fast one keeps up. */
	end = broker_now() + 15;
	while (broker_now() < end) {
		msg = next_event(fast, "record", 30);
		CHECK(msg, "the fast client got no record while another did not read");
		last = json_integer_value(json_object_get(json_object_get(msg,
				"data"), "seq"));
		json_decref(msg);
	}
	CHECK(last >= 10, "the fast client got only %lld records in 15 s",
	      (long long)last);
	end = broker_now() + 60;
	while (!dropped && broker_now() < end) {
		msg = next_event(slow, "record", 30);
		CHECK(msg, "the slow client's stream ended");
		dropped = json_integer_value(json_object_get(json_object_get(msg,
				"data"), "dropped"));
		json_decref(msg);
	}
	CHECK(dropped > 0, "a client that did not read for 15 s lost nothing");
	fprintf(stderr, "slow client: %lld records dropped\n",
		(long long)dropped);
	close(slow);
	close(fast);
}

static void expect_refused(int fd, const char *args, const char *klass)
{
	char request[512];
	json_t *reply;

	snprintf(request, sizeof(request),
		 "{\"execute\":\"watch\",\"arguments\":%s}", args);
	reply = broker_call(fd, request);
	CHECK(!strcmp(broker_error_class(reply) ?: "", klass),
	      "watch %s: %s", args, json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
}

static void unwatch_and_refusals(void)
{
	int fd = broker_connect(sock);
	char args[256], request[256];
	json_int_t id;
	json_t *reply, *msg;

	expect_refused(fd, "{}", "InvalidArgument");
	expect_refused(fd, "{\"all\":true,\"vm\":\"x\"}", "InvalidArgument");
	expect_refused(fd, "{\"all\":true,\"hz\":0}", "InvalidArgument");
	expect_refused(fd, "{\"all\":true,\"hz\":\"fast\"}", "InvalidArgument");
	expect_refused(fd, "{\"all\":true,\"speed\":1}", "InvalidArgument");
	expect_refused(fd, "{\"all\":true,\"records\":\"none\"}",
		       "InvalidArgument");
	expect_refused(fd, "{\"vm\":\"no-such-vm-here\"}", "VMNotFound");

	snprintf(args, sizeof(args), "{\"vm\":\"%d\",\"hz\":5,\"records\":\"summary\"}",
		 g.pid);
	id = watch(fd, args);
	msg = next_event(fd, "record", 60);
	CHECK(msg, "no record before unwatch");
	json_decref(msg);
	snprintf(request, sizeof(request),
		 "{\"execute\":\"unwatch\",\"arguments\":{\"subscription\":%lld},\"id\":\"u\"}",
		 (long long)id);
	broker_write(fd, request);
	broker_write(fd, "\n");
	/* Records already queued come first; then the reply; then none. */
	while ((reply = broker_read(fd, 60, NULL)) &&
	       !json_object_get(reply, "id"))
		json_decref(reply);
	CHECK(reply && json_object_get(reply, "return"), "unwatch: %s",
	      reply ? json_dumps(reply, JSON_COMPACT) : "no reply");
	json_decref(reply);
	msg = next_event(fd, "record", 2);
	CHECK(!msg, "a record came after unwatch");
	reply = broker_call(fd, request);
	CHECK(!strcmp(broker_error_class(reply) ?: "", "InvalidArgument"),
	      "a second unwatch: %s", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	close(fd);
}

static void vm_without_kernel_exits(void)
{
	char name[64], args[256];
	json_t *msg;
	double end;
	int fd;

	snprintf(name, sizeof(name), "kh-watch-nokernel-%d", (int)getpid());
	qemu = broker_spawn_qemu((const char *[]){
		"-object", "memory-backend-memfd,id=mem,size=64M",
		"-machine", "memory-backend=mem", "-name", name, NULL });
	atexit(kill_qemu);
	fd = broker_connect(sock);
	snprintf(args, sizeof(args), "{\"vm\":\"%s\",\"hz\":2,\"records\":\"summary\"}",
		 name);
	/* The daemon sees a new QEMU within its rescan period. */
	end = broker_now() + 30;
	for (;;) {
		char request[512];
		json_t *reply;

		snprintf(request, sizeof(request),
			 "{\"execute\":\"watch\",\"arguments\":%s}", args);
		reply = broker_call(fd, request);
		if (json_object_get(reply, "return")) {
			json_decref(reply);
			break;
		}
		json_decref(reply);
		CHECK(broker_now() < end, "the new QEMU never became watchable");
		usleep(200000);
	}
	msg = next_event(fd, "crawl-error", 120);
	CHECK(msg, "a VM without a kernel gave no crawl error");
	json_decref(msg);
	kill(qemu, SIGKILL);
	waitpid(qemu, NULL, 0);
	qemu = 0;
	msg = next_event(fd, "vm-exited", 30);
	CHECK(msg, "no vm-exited within 30 s of QEMU's death");
	json_decref(msg);
	msg = next_event(fd, "subscription-ended", 30);
	CHECK(msg, "the subscription did not end with its VM");
	json_decref(msg);
	close(fd);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	sock = broker_socket();
	signal(SIGPIPE, SIG_IGN);

	events_are_true();
	one_crawl_feeds_all();
	kept_state_is_a_full_crawl();
	unwatch_and_refusals();
	slow_client();
	vm_without_kernel_exits();
	return KH_PASS;
}
