// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole crawl` prints one whole JSON document per iteration
 * (every part of the generic state, its cost and its consistency
 * counters); with --pause the guest is halted throughout, so the extrinsic
 * counters (II.A, II.B) stay zero over many crawls, and the guest is
 * running again afterwards; a guest its owner paused stays paused; and an
 * interrupt in the middle of paused crawling never leaves the guest
 * stopped.
 */
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "guest.h"

static const char *const parts[] = { "os", "mem", "processes", "modules",
				     "ifaces", "files", "conns", "proc" };

static int running(const struct guest *g)
{
	int status;
	char *out = run_capture(&status, "%s --qmp '%s' '{\"execute\":\"query-status\"}'",
				env_or("TRUTH", "truth"), g->qmp_sock);
	int yes = strstr(out, "\"running\": true") != NULL;

	CHECK(status == 0, "query-status failed: %s", out);
	free(out);
	return yes;
}

static void qmp(const struct guest *g, const char *cmd)
{
	int status;
	char *out = run_capture(&status, "%s --qmp '%s' '{\"execute\":\"%s\"}'",
				env_or("TRUTH", "truth"), g->qmp_sock, cmd);

	CHECK(status == 0, "QMP %s failed: %s", cmd, out);
	free(out);
}

/* Runs a crawl; returns its documents, one per line. */
static json_t *crawl(const char *args, int pid, int want)
{
	char *out, *line, *save = NULL;
	json_t *docs = json_array();
	int status;

	out = run_capture(&status, "%s crawl %s %d",
			  env_or("KEYHOLE", "keyhole"), args, pid);
	CHECK(status == 0, "keyhole crawl %s: exit %d: %s", args, status, out);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);

		CHECK(doc, "crawl printed a line that is not JSON: %.200s", line);
		json_array_append_new(docs, doc);
	}
	free(out);
	CHECK((int)json_array_size(docs) == want, "%zu documents, want %d",
	      json_array_size(docs), want);
	return docs;
}

static long long counter(json_t *doc, const char *name)
{
	return json_integer_value(json_object_get(
		json_object_get(doc, "consistency"), name));
}

int main(int argc, char **argv)
{
	json_t *docs, *doc, *cost;
	char cmd[8192];
	struct guest g;
	size_t i, p;
	pid_t child;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	/* Whole documents, live. */
	docs = crawl("--count 3 --hz 20", g.pid, 3);
	json_array_foreach(docs, i, doc) {
		CHECK(json_integer_value(json_object_get(doc, "iteration")) ==
		      (json_int_t)i, "iteration numbers");
		for (p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
			CHECK(json_object_get(doc, parts[p]), "no '%s' part",
			      parts[p]);
		cost = json_object_get(doc, "cost");
		CHECK(json_real_value(json_object_get(cost, "wall_ms")) > 0 &&
		      json_integer_value(json_object_get(cost, "read_bytes")) > 0,
		      "cost not accounted");
		CHECK(json_array_size(json_object_get(doc, "processes")) > 20,
		      "too few processes");
		CHECK(!json_is_true(json_object_get(doc, "paused")), "not paused");
	}
	json_decref(docs);

	/* Halted: nothing can change under the crawl. */
	CHECK(running(&g), "guest should be running before");
	docs = crawl("--pause --summary --count 30", g.pid, 30);
	json_array_foreach(docs, i, doc) {
		CHECK(json_is_true(json_object_get(doc, "paused")), "paused");
		CHECK(counter(doc, "II.A_died") == 0 &&
		      counter(doc, "II.B_changed") == 0,
		      "extrinsic inconsistency in a halted crawl: %s",
		      json_dumps(json_object_get(doc, "consistency"), 0));
	}
	json_decref(docs);
	CHECK(running(&g), "guest left paused after --pause");

	/* A guest its owner paused stays paused. */
	qmp(&g, "stop");
	docs = crawl("--pause --summary --count 2", g.pid, 2);
	json_decref(docs);
	CHECK(!running(&g), "crawl --pause resumed a guest its owner paused");
	qmp(&g, "cont");

	/* An interrupt while crawling with pauses leaves the guest running. */
	snprintf(cmd, sizeof(cmd), "%d", g.pid);
	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execl(env_or("KEYHOLE", "keyhole"), "keyhole", "crawl",
		      "--pause", "--summary", "--count", "100000", "--hz",
		      "200", cmd, (char *)NULL);
		_exit(127);
	}
	usleep(1500 * 1000);
	kill(child, SIGINT);
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	CHECK(WIFSIGNALED(status) || WIFEXITED(status), "crawl ended");
	CHECK(running(&g), "SIGINT left the guest paused");
	return KH_PASS;
}
