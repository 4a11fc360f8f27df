// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: on a paused guest, exactly the access techniques this guest
 * must have are available (technique.h), and every one of them (agent
 * excepted: it reads no memory) returns the same bytes as the reference
 * path (procmem) for a sample of guest-physical ranges spread over all of
 * RAM (64 pages and 8 unaligned 64-byte reads), and the same task list,
 * and pvreadv (whose walks read ahead) the same whole crawl;
 * the guest is still paused, in the same run state, after each technique
 * has opened and closed; migrate and bgsnap refuse a paused guest, saying
 * why; and no temporary file is left in KEYHOLE_TMPDIR.
 */
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "technique.h"

#define NR_PAGES	64
#define NR_SMALL	8
#define NR_READS	(NR_PAGES + NR_SMALL)

static struct guest g;
static int we_stopped;
static char tmpdir[] = "/var/tmp/kh-test-paused.XXXXXX";

static json_t *qmp(const char *cmd)
{
	json_error_t jerr;
	json_t *doc;
	int status;
	char *out = run_capture(&status, "%s -t 10 --qmp '%s' '{\"execute\":\"%s\"}'",
				env_or("TRUTH", "truth"), g.qmp_sock, cmd);

	CHECK(status == 0, "QMP %s failed: %s", cmd, out);
	doc = json_loads(out, 0, &jerr);
	CHECK(doc && json_object_get(doc, "return"), "QMP %s: %s", cmd, out);
	free(out);
	return doc;
}

static void run_state(char *status, size_t size, int *running)
{
	json_t *doc = qmp("query-status"), *ret = json_object_get(doc, "return");

	snprintf(status, size, "%s",
		 json_string_value(json_object_get(ret, "status")));
	*running = json_is_true(json_object_get(ret, "running"));
	json_decref(doc);
}

static void resume_guest(void)
{
	if (we_stopped)
		json_decref(qmp("cont"));
	rmdir(tmpdir);
}

/*
 * Copying all of a 3 GiB guest through QEMU's pmemsave, dump or a
 * background snapshot takes 15-60 s under TCG: on guests above 1 GiB
 * those run in make check only on the 1 GiB guests, which cover them.
 */
static int too_big_to_copy(const char *technique)
{
	char mem[32];
	double gib;

	if (strcmp(technique, "pmemsave") && strcmp(technique, "dump") &&
	    strcmp(technique, "bgsnap"))
		return 0;
	guest_option(g.rundir, "mem", mem, sizeof(mem));
	gib = atof(mem) / (strchr(mem, 'M') || strchr(mem, 'm') ? 1024 : 1);
	if (gib <= 1)
		return 0;
	fprintf(stderr, "%s: not run on this %s guest (see too_big_to_copy)\n",
		technique, mem);
	return 1;
}

static void tmpdir_empty(const char *technique)
{
	struct dirent *d;
	DIR *dir = opendir(tmpdir);

	CHECK(dir, "cannot open %s", tmpdir);
	while ((d = readdir(dir)))
		CHECK(d->d_name[0] == '.', "%s left %s/%s behind", technique,
		      tmpdir, d->d_name);
	closedir(dir);
}

/* GPAs spread over every RAM range in proportion to its size. */
static void sample(const struct kh_vm_info *info, struct kh_read *reads,
		   uint8_t *bufs)
{
	uint64_t total = 0, step, at, off;
	unsigned int i, r;

	for (r = 0; r < info->nr_ranges; r++)
		total += info->ranges[r].size;
	step = total / NR_PAGES;
	for (i = 0; i < NR_READS; i++) {
		at = (i < NR_PAGES ? i * step : (i - NR_PAGES) * step * 8 + 4000);
		at = i < NR_PAGES ? at & ~4095ull : at % total;
		for (r = 0; r < info->nr_ranges; r++) {
			if (at < info->ranges[r].size)
				break;
			at -= info->ranges[r].size;
		}
		CHECK(r < info->nr_ranges, "sample outside RAM");
		off = info->ranges[r].gpa + at;
		reads[i].len = i < NR_PAGES ? 4096 : 64;
		if (at + reads[i].len > info->ranges[r].size)
			off = info->ranges[r].gpa + info->ranges[r].size -
			      reads[i].len;
		reads[i].addr = off;
		reads[i].buf = bufs + i * 4096ull;
	}
}

static struct kh_vm *open_vm(struct kh_ctx *ctx, const char *technique,
			     struct kh_err *err)
{
	struct kh_vm_config cfg = { .technique = technique };
	char spec[32];
	struct kh_vm *vm = NULL;

	snprintf(spec, sizeof(spec), "%d", g.pid);
	memset(err, 0, sizeof(*err));
	if (kh_vm_open(ctx, spec, &cfg, &vm, err))
		return NULL;
	return vm;
}

static void same_tasks(const struct kh_task_list *a,
		       const struct kh_task_list *b, const char *technique)
{
	unsigned int i;

	CHECK(a->nr == b->nr, "%s sees %u tasks, procmem %u", technique,
	      b->nr, a->nr);
	for (i = 0; i < a->nr; i++)
		CHECK(a->tasks[i].pid == b->tasks[i].pid &&
		      a->tasks[i].ppid == b->tasks[i].ppid &&
		      !strcmp(a->tasks[i].comm, b->tasks[i].comm),
		      "%s: task %u is %d %s, procmem has %d %s", technique, i,
		      b->tasks[i].pid, b->tasks[i].comm, a->tasks[i].pid,
		      a->tasks[i].comm);
}

/* The first key whose value differs, for the message. */
static const char *first_difference(json_t *a, json_t *b)
{
	const char *key;
	json_t *value;

	json_object_foreach(a, key, value)
		if (!json_equal(value, json_object_get(b, key)))
			return key;
	return "(a key only the other has)";
}

static void same_crawl(json_t *ref, json_t *got, const char *what)
{
	CHECK(json_equal(ref, got),
	      "%s of the paused guest differs from procmem's in \"%s\"",
	      what, first_difference(ref, got));
}

/* A whole crawl as keyhole crawl prints it, less what it cost. */
static json_t *crawl_doc(struct kh_vm *vm, const char *technique,
			 unsigned int flags)
{
	struct kh_err err = { 0 };
	struct kh_crawl *crawl;
	json_t *doc;

	CHECK(!kh_crawl(vm, flags, &crawl, &err), "%s crawl: %s", technique,
	      err.msg);
	doc = kh_json_crawl(crawl, 0, 0);
	CHECK(doc, "%s crawl: no JSON", technique);
	json_object_del(doc, "cost");
	kh_crawl_free(crawl);
	return doc;
}

int main(int argc, char **argv)
{
	static struct kh_read ref[NR_READS], got[NR_READS];
	struct kh_task_list *ref_tasks, *tasks;
	json_t *ref_crawl, *got_crawl;
	struct kh_technique *list;
	struct kh_vm_info info;
	char spec[32], before[32], after[32];
	uint8_t *ref_buf, *got_buf;
	unsigned int nr, i, compared = 0, crawled = 0;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	int running;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	CHECK(mkdtemp(tmpdir), "mkdtemp");
	setenv("KEYHOLE_TMPDIR", tmpdir, 1);
	atexit(resume_guest);
	snprintf(spec, sizeof(spec), "%d", g.pid);

	run_state(before, sizeof(before), &running);
	CHECK(running, "the guest is not running at the start (%s)", before);
	json_decref(qmp("stop"));
	we_stopped = 1;
	run_state(before, sizeof(before), &running);
	CHECK(!running, "stop did not stop the guest");

	CHECK(!kh_ctx_new(NULL, &ctx, &err), "%s", err.msg);
	ref_buf = calloc(NR_READS, 4096);
	got_buf = calloc(NR_READS, 4096);
	CHECK(ref_buf && got_buf, "out of memory");
	vm = open_vm(ctx, "procmem", &err);
	CHECK(vm, "procmem: %s", err.msg);
	kh_vm_get_info(vm, &info);
	sample(&info, ref, ref_buf);
	CHECK(kh_read_phys(vm, ref, NR_READS, &err) == 0,
	      "procmem reads failed: %s", err.msg);
	CHECK(!kh_tasks(vm, 0, &ref_tasks, &err), "procmem tasks: %s",
	      err.msg);
	ref_crawl = crawl_doc(vm, "procmem", 0);
	kh_vm_close(vm);

	CHECK(!kh_techniques(spec, NULL, &list, &nr, &err), "%s", err.msg);
	CHECK((int)nr == NR_TECHNIQUES, "%u techniques, the tests know %d", nr,
	      NR_TECHNIQUES);
	for (i = 0; i < nr; i++) {
		const char *name = list[i].name;
		uint64_t t0;

		/* Those this paused guest must have work, and only those. */
		check_availability(&g, name, list[i].available,
				   list[i].reason, 0);
		if (list[i].props & KH_TECHNIQUE_AGENT)
			continue;
		if (!strcmp(name, "migrate") || !strcmp(name, "bgsnap")) {
			CHECK(!list[i].available &&
			      strstr(list[i].reason, "not running"),
			      "%s should refuse a paused guest: %s", name,
			      list[i].reason);
			vm = open_vm(ctx, name, &err);
			CHECK(!vm && strstr(err.msg, "not running"),
			      "%s opened on a paused guest: %s", name,
			      err.msg);
			continue;
		}
		if (!list[i].available)
			continue;
		if (too_big_to_copy(name))
			continue;
		t0 = time(NULL);
		vm = open_vm(ctx, name, &err);
		CHECK(vm, "%s: %s", name, err.msg);
		memcpy(got, ref, sizeof(got));
		for (unsigned int k = 0; k < NR_READS; k++) {
			got[k].buf = got_buf + k * 4096ull;
			memset(got[k].buf, 0xa5, got[k].len);
		}
		CHECK(kh_read_phys(vm, got, NR_READS, &err) == 0,
		      "%s reads failed: %s", name, err.msg);
		for (unsigned int k = 0; k < NR_READS; k++)
			CHECK(!memcmp(got[k].buf, ref[k].buf, got[k].len),
			      "%s: %u bytes at GPA 0x%llx differ from procmem's",
			      name, got[k].len,
			      (unsigned long long)got[k].addr);
		CHECK(!kh_tasks(vm, 0, &tasks, &err), "%s tasks: %s", name,
		      err.msg);
		same_tasks(ref_tasks, tasks, name);
		kh_task_list_free(tasks);
		/*
		 * pvreadv's walks read ahead (the task list through the pid
		 * IDR, paths breadth first): a hint that must change nothing
		 * a whole crawl finds, paths, maps and sockets included.
		 */
		if (!strcmp(name, "pvreadv")) {
			got_crawl = crawl_doc(vm, name, 0);
			same_crawl(ref_crawl, got_crawl, "pvreadv's crawl");
			json_decref(got_crawl);
			got_crawl = crawl_doc(vm, name, KH_CRAWL_NO_READ_AHEAD);
			same_crawl(ref_crawl, got_crawl,
				   "pvreadv's crawl without read-ahead");
			json_decref(got_crawl);
			crawled = 1;
		}
		kh_vm_close(vm);
		run_state(after, sizeof(after), &running);
		CHECK(!running && !strcmp(before, after),
		      "%s left the guest %s, it was %s", name, after, before);
		tmpdir_empty(name);
		fprintf(stderr, "%s: same bytes and tasks (%llu s)\n", name,
			(unsigned long long)(time(NULL) - t0));
		compared++;
	}
	/* pvreadv, procmem, ptrace and hmp, whatever the guest. */
	CHECK(compared >= 4, "only %u techniques compared", compared);
	CHECK(crawled, "pvreadv's crawl was not compared");
	kh_task_list_free(ref_tasks);
	json_decref(ref_crawl);
	free(list);
	kh_ctx_free(ctx);
	return KH_PASS;
}
