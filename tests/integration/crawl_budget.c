// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole crawl --budget-ms/--budget-kib` (kh_crawl_within())
 * fails a crawl that goes over its budget with an error naming it, and
 * prints no record: one whose results outgrow 4 KiB, and one through hmp
 * (a QMP round trip per read, seconds for a whole crawl) given 1 ms;
 * with --pause as well, the guest runs again afterwards. A budget the
 * crawl fits in gives the whole record, and a budget that is not a whole
 * number >= 0 is refused by name.
 */
#include "guest.h"

static char *crawl(int *status, const struct guest *g, const char *args)
{
	return run_capture(status, "%s crawl --summary %s %d 2>&1",
			   env_or("KEYHOLE", "keyhole"), args, g->pid);
}

static void over_budget(const struct guest *g, const char *args,
			const char *budget)
{
	int status;
	char *out = crawl(&status, g, args);

	CHECK(status == 1 && strstr(out, budget) && !strchr(out, '{'),
	      "crawl %s: want exit 1 naming '%s' and no record, got exit %d: %s",
	      args, budget, status, out);
	free(out);
}

int main(int argc, char **argv)
{
	struct guest g;
	json_t *doc, *counts;
	char *out;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	over_budget(&g, "--budget-kib 4", "memory budget of 4096 bytes");
	out = run_capture(&status, "%s -t hmp crawl --summary --budget-ms 1 %d 2>&1",
			  env_or("KEYHOLE", "keyhole"), g.pid);
	CHECK(status == 1 && strstr(out, "time budget of 1 ms"),
	      "hmp crawl given 1 ms: exit %d: %s", status, out);
	free(out);
	out = run_capture(&status, "%s -t hmp crawl --pause --summary --budget-ms 1 %d 2>&1",
			  env_or("KEYHOLE", "keyhole"), g.pid);
	CHECK(status == 1 && strstr(out, "time budget of 1 ms"),
	      "hmp crawl --pause given 1 ms: exit %d: %s", status, out);
	free(out);
	CHECK(guest_run_state(&g, NULL, 0),
	      "the guest is not running after a paused crawl over its budget");

	out = crawl(&status, &g, "--budget-ms 600000 --budget-kib 1048576");
	doc = json_loads(out, 0, NULL);
	counts = json_object_get(doc, "counts");
	CHECK(status == 0 &&
	      json_integer_value(json_object_get(counts, "ps")) > 20 &&
	      json_integer_value(json_object_get(counts, "proc")) > 5,
	      "a crawl within its budget: exit %d: %s", status, out);
	/* The rule, but that a crawl says it is incomplete in its record. */
	keyhole_doc_rule(doc, json_is_true(json_object_get(doc, "incomplete")) ?
			 3 : 0, "crawl --summary (within its budget)");
	json_decref(doc);
	free(out);

	out = crawl(&status, &g, "--budget-ms -5");
	CHECK(status != 0 && strstr(out, "--budget-ms"),
	      "--budget-ms -5: exit %d: %s", status, out);
	free(out);
	out = crawl(&status, &g, "--budget-kib lots");
	CHECK(status != 0 && strstr(out, "--budget-kib"),
	      "--budget-kib lots: exit %d: %s", status, out);
	free(out);
	return KH_PASS;
}
