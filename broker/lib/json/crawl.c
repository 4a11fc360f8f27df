// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The crawl record: one kh_crawl as one JSON document, its cost and
 * consistency counters first, then the whole state through the encoders
 * of results.c, or with summary only how many of each there were.
 */
#include <stdio.h>

#include "json/format.h"

static json_t *consistency_json(const struct kh_consistency *c)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}",
			 "I.A_zombie", c->zombie, "I.B_dying", c->dying,
			 "I.C_as_good_as_dead", c->as_good_as_dead,
			 "I.D_fresh", c->fresh, "II.A_died", c->died,
			 "II.B_changed", c->changed);
}

/* Per process: its maps, argv and resident pages, keyed by pid. */
static json_t *procs_json(const struct kh_crawl *crawl)
{
	json_t *procs = json_object();
	unsigned int i;
	char pid[16];

	for (i = 0; i < crawl->nr_procs; i++) {
		const struct kh_proc_state *ps = &crawl->procs[i];

		snprintf(pid, sizeof(pid), "%d", ps->pid);
		json_object_set_new(procs, pid, json_pack("{s:o, s:I, s:o}",
			"cmdline", kh_json_argv(ps->cmdline, ps->cmdline_len),
			"rss_pages", (json_int_t)ps->rss_pages,
			"maps", kh_json_vmas(ps->maps)));
	}
	return procs;
}

json_t *kh_json_crawl(const struct kh_crawl *crawl, unsigned int iteration,
		      int summary)
{
	json_t *doc = json_pack("{s:i, s:{s:f, s:f, s:I, s:I, s:i}, s:o, s:i, s:b}",
		"iteration", (int)iteration,
		"cost", "wall_ms", crawl->wall_ms, "cpu_ms", crawl->cpu_ms,
		"read_bytes", (json_int_t)crawl->read_bytes,
		"read_calls", (json_int_t)crawl->read_calls,
		/* kh_crawl_since: processes whose state was kept, not walked */
		"procs_kept", (int)crawl->nr_reused,
		"consistency", consistency_json(&crawl->consistency),
		"skipped", (int)crawl->nr_skipped, "paused", crawl->paused);

	if (!doc || kh_json_result(doc, &crawl->result)) {
		json_decref(doc);
		return NULL;
	}
	/* Findings in full even in a summary: each is what someone acts on. */
	if (crawl->check)
		json_object_set_new(doc, "check", kh_json_check(crawl->check));
	if (summary) {
		json_object_set_new(doc, "counts", json_pack(
			"{s:i, s:i, s:i, s:i, s:i, s:i}",
			"ps", (int)crawl->tasks->nr,
			"lsmod", (int)crawl->modules->nr,
			"ifconfig", (int)crawl->ifaces->nr,
			"lsof", (int)crawl->files->nr,
			"ss", (int)crawl->conns->nr,
			"proc", (int)crawl->nr_procs));
		return doc;
	}
	json_object_set_new(doc, "info", kh_json_os_info(&crawl->os));
	json_object_set_new(doc, "mem", kh_json_mem_info(&crawl->mem));
	json_object_set_new(doc, "ps", kh_json_tasks(crawl->tasks));
	json_object_set_new(doc, "lsmod", kh_json_modules(crawl->modules));
	json_object_set_new(doc, "ifconfig", kh_json_ifaces(crawl->ifaces));
	json_object_set_new(doc, "lsof",
			    kh_json_files(crawl->files, crawl->tasks));
	json_object_set_new(doc, "ss", kh_json_conns(crawl->conns));
	json_object_set_new(doc, "proc", procs_json(crawl));
	return doc;
}
