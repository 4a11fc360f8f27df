// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: an incremental crawl (kh_crawl_since) returns what a full crawl
 * returns, and its consistency counters are a full crawl's.
 *
 * With the guest halted nothing changes, so a full crawl, a first
 * incremental one and a second that keeps every process's state from the
 * first must agree exactly: every process's argv, rss and map, and all
 * six consistency counters (the guest is halted until a full crawl sees
 * one of the I.* types, so that the comparison covers a non-zero count
 * when the fork churn gives one). Live, with the guest's workload and
 * fork churn running, a chain of incremental crawls keeps most
 * processes' state, and what it kept is what a full crawl of the halted
 * guest right after it reads; each crawl through pvreadv and procmem, and
 * memmap where guest RAM is a memfd it can map (anonymous RAM is not). A state read while a process changed is never kept, so one
 * that changes between crawls is read again (kh-churnchild processes
 * come and go; their state is never taken from a crawl they were not in).
 *
 * The open files are kept as one part: halted, the incremental crawls'
 * list is the full crawl's, entry for entry.
 *
 * And never stale: with the guest halted, the test itself changes one
 * word the last crawl read for a sleeping process (its anonymous-page
 * counter in mm_struct, through /proc/QEMU/mem; put back at once) and the
 * next incremental crawl reads that process again and reports the new
 * count, keeping every other process; then the inode number of a file
 * that process holds open, and the next crawl reports the new number.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "guest.h"
#include "libkeyhole.h"
#include "vm.h"
#include "walk/toolkit.h"

#define BUMP 1000

#define LIVE_CRAWLS	40
#define HALT_TRIES	30

static const char *const techniques[] = { "memmap", "pvreadv", "procmem" };

static struct guest guest;
static int halting;		/* the test holds the guest halted */
static struct kh_vm *poked_vm;	/* a word the test changed, to put back */
static uint64_t poked_gpa;
static int64_t poked_delta;

static void poke(struct kh_vm *vm, int pid, uint64_t gpa, int64_t delta);

/*
 * A failed CHECK must not leave the guest halted: cont through the
 * second monitor (the handle that paused it holds the first).
 */
static void cleanup(void)
{
	struct kh_vm *vm = poked_vm;
	int status;

	poked_vm = NULL;	/* a CHECK failing in here must not loop */
	if (vm)
		poke(vm, guest.pid, poked_gpa, -poked_delta);
	if (halting)
		free(run_capture(&status, "%s --qmp '%s' '{\"execute\":\"cont\"}'",
				 env_or("TRUTH", "truth"), guest.watch_sock));
}

static void pause_guest(struct kh_vm *vm)
{
	struct kh_err err = { 0 };

	halting = 1;
	CHECK(!kh_vm_pause(vm, &err), "pause: %s", err.msg);
}

static void resume_guest(struct kh_vm *vm)
{
	struct kh_err err = { 0 };

	CHECK(!kh_vm_resume(vm, &err), "resume: %s", err.msg);
	halting = 0;
}

/*
 * Processes of the guest's workload that sleep once set up, so their
 * argv, map and resident pages hold still (tests/guest/README.md).
 */
static const char *const quiet[] = { "init", "kh-tree", "kh-leaf",
				     "kh-files", "kh-listen", "kh-threads",
				     "kh-sockets", "kh-maps" };

static int is_quiet(const struct kh_crawl *c, int32_t pid)
{
	unsigned int i, q;

	for (i = 0; i < c->tasks->nr; i++) {
		if (c->tasks->tasks[i].pid != pid)
			continue;
		/* PID 1's forks are "init" too: short-lived subshells. */
		for (q = 0; q < sizeof(quiet) / sizeof(quiet[0]); q++)
			if (!strcmp(c->tasks->tasks[i].comm, quiet[q]) &&
			    (pid == 1 || strcmp(quiet[q], "init")))
				return 1;
	}
	return 0;
}

static const struct kh_proc_state *proc_of(const struct kh_crawl *c,
					   int32_t pid)
{
	unsigned int i;

	for (i = 0; i < c->nr_procs; i++)
		if (c->procs[i].pid == pid)
			return &c->procs[i];
	return NULL;
}

/* 1 when a and b hold the same argv, rss and map. */
static int same_state(const struct kh_proc_state *a,
		      const struct kh_proc_state *b)
{
	unsigned int i;

	if (a->rss_pages != b->rss_pages || a->cmdline_len != b->cmdline_len ||
	    memcmp(a->cmdline, b->cmdline, a->cmdline_len) ||
	    !a->maps != !b->maps)
		return 0;
	if (!a->maps)
		return 1;
	if (a->maps->nr != b->maps->nr)
		return 0;
	for (i = 0; i < a->maps->nr; i++) {
		const struct kh_vma *x = &a->maps->vmas[i], *y = &b->maps->vmas[i];

		if (x->start != y->start || x->end != y->end ||
		    x->offset != y->offset || x->inode != y->inode ||
		    strcmp(x->perms, y->perms) || strcmp(x->path, y->path))
			return 0;
	}
	return 1;
}

static void same_counters(const struct kh_crawl *a, const struct kh_crawl *b,
			  const char *what)
{
	const struct kh_consistency *x = &a->consistency, *y = &b->consistency;

	CHECK(x->zombie == y->zombie && x->dying == y->dying &&
	      x->as_good_as_dead == y->as_good_as_dead &&
	      x->fresh == y->fresh && x->died == y->died &&
	      x->changed == y->changed,
	      "%s: counters differ: full %u %u %u %u %u %u, incremental %u %u %u %u %u %u",
	      what, x->zombie, x->dying, x->as_good_as_dead, x->fresh,
	      x->died, x->changed, y->zombie, y->dying, y->as_good_as_dead,
	      y->fresh, y->died, y->changed);
}

static void same_files(const struct kh_crawl *full,
		       const struct kh_crawl *incr, const char *what)
{
	const struct kh_file_list *a = full->files, *b = incr->files;
	unsigned int i;

	CHECK(a && b && a->nr == b->nr,
	      "%s: %u open files in the full crawl, %u in the incremental one",
	      what, a ? a->nr : 0, b ? b->nr : 0);
	for (i = 0; i < a->nr; i++) {
		const struct kh_file *x = &a->files[i], *y = &b->files[i];

		CHECK(x->pid == y->pid && x->fd == y->fd &&
		      x->inode == y->inode && x->addr == y->addr &&
		      x->sock == y->sock && !strcmp(x->type, y->type) &&
		      !strcmp(x->path, y->path),
		      "%s: open file %u: pid %d fd %d %s in the full crawl, pid %d fd %d %s in the incremental one",
		      what, i, x->pid, x->fd, x->path, y->pid, y->fd, y->path);
	}
}

static void same_crawl(const struct kh_crawl *full,
		       const struct kh_crawl *incr, const char *what)
{
	unsigned int i;

	CHECK(full->nr_procs == incr->nr_procs,
	      "%s: %u processes in the full crawl, %u in the incremental one",
	      what, full->nr_procs, incr->nr_procs);
	for (i = 0; i < full->nr_procs; i++) {
		const struct kh_proc_state *p = &full->procs[i];
		const struct kh_proc_state *q = proc_of(incr, p->pid);

		CHECK(q, "%s: pid %d missing from the incremental crawl", what,
		      p->pid);
		CHECK(same_state(p, q),
		      "%s: pid %d: the incremental crawl's state differs from the full crawl's",
		      what, p->pid);
	}
	same_counters(full, incr, what);
	same_files(full, incr, what);
}

static void crawl_or_die(struct kh_vm *vm, const struct kh_crawl *prev,
			 int incremental, struct kh_crawl **c)
{
	struct kh_err err = { 0 };
	int ret = incremental ? kh_crawl_since(vm, 0, NULL, prev, c, &err) :
		  kh_crawl(vm, 0, c, &err);

	CHECK(!ret, "crawl: %s", err.msg);
}

static int any_i(const struct kh_crawl *c)
{
	return c->consistency.zombie || c->consistency.dying ||
	       c->consistency.as_good_as_dead || c->consistency.fresh;
}

/* Guest-physical address of the anonymous-page counter of mm. */
static uint64_t anon_counter_gpa(struct kh_vm *vm, uint64_t mm)
{
	static const struct kh_field fields[] = {
		{ "mm_struct", "rss_stat", NULL, 0 },
		{ "mm_rss_stat", "count", NULL, 0 },
	};
	const uint32_t *off;
	struct kh_err err = { 0 };
	uint64_t gpa, run;
	int64_t anon;

	CHECK(!kh_offsets(vm, fields, 2, &off, &err) &&
	      !kh_enum_value(vm, "MM_ANONPAGES", &anon, &err),
	      "layout: %s", err.msg);
	CHECK(!kh_kva_to_gpa(vm, mm + off[0] + off[1] + anon * 8, &gpa, &run,
			     &err), "mm 0x%llx: %s", (unsigned long long)mm,
	      err.msg);
	return gpa;
}

/* Guest-physical address of i_ino of the inode behind struct file file. */
static uint64_t inode_number_gpa(struct kh_vm *vm, uint64_t file)
{
	static const struct kh_field fields[] = {
		{ "file", "f_inode", NULL, 0 },
		{ "inode", "i_ino", NULL, 0 },
	};
	struct kh_err err = { 0 };
	const uint32_t *off;
	uint64_t inode, gpa, run;

	CHECK(!kh_offsets(vm, fields, 2, &off, &err), "layout: %s", err.msg);
	CHECK(!kh_kva_fetch_one(vm, file + off[0], &inode, 8, &err),
	      "file 0x%llx: %s", (unsigned long long)file, err.msg);
	CHECK(!kh_kva_to_gpa(vm, inode + off[1], &gpa, &run, &err),
	      "inode 0x%llx: %s", (unsigned long long)inode, err.msg);
	return gpa;
}

static const struct kh_file *file_of(const struct kh_crawl *c, int32_t pid,
				     int32_t fd)
{
	unsigned int i;

	for (i = 0; i < c->files->nr; i++)
		if (c->files->files[i].pid == pid && c->files->files[i].fd == fd)
			return &c->files->files[i];
	return NULL;
}

/* Adds delta to the 8-byte word at gpa, through QEMU's memory. */
static void poke(struct kh_vm *vm, int pid, uint64_t gpa, int64_t delta)
{
	const struct kh_ram_range *r = kh_layout_find(&vm->layout, gpa);
	char path[64];
	int64_t word;
	int fd;

	CHECK(r, "0x%llx is not in guest RAM", (unsigned long long)gpa);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	CHECK(pread(fd, &word, 8, r->hva + (gpa - r->gpa)) == 8,
	      "read %s: %s", path, strerror(errno));
	word += delta;
	CHECK(pwrite(fd, &word, 8, r->hva + (gpa - r->gpa)) == 8,
	      "write %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * The next incremental crawl after prev, with the word at gpa changed by
 * delta meanwhile (put back after it).
 */
static struct kh_crawl *crawl_poked(struct kh_vm *vm, int qemu_pid,
				    const struct kh_crawl *prev, uint64_t gpa,
				    int64_t delta)
{
	struct kh_crawl *next;

	poke(vm, qemu_pid, gpa, delta);
	poked_vm = vm;
	poked_gpa = gpa;
	poked_delta = delta;
	crawl_or_die(vm, prev, 1, &next);
	poked_vm = NULL;
	poke(vm, qemu_pid, gpa, -delta);
	return next;
}

/* Guest-physical address of the first word of task's comm. */
static uint64_t comm_gpa(struct kh_vm *vm, uint64_t task)
{
	static const struct kh_field fields[] = {
		{ "task_struct", "comm", NULL, 0 },
	};
	struct kh_err err = { 0 };
	const uint32_t *off;
	uint64_t gpa, run;

	CHECK(!kh_offsets(vm, fields, 1, &off, &err), "layout: %s", err.msg);
	CHECK(!kh_kva_to_gpa(vm, task + off[0], &gpa, &run, &err),
	      "task 0x%llx: %s", (unsigned long long)task, err.msg);
	return gpa;
}

/*
 * A sleeping process's counter changed behind the crawl's back: the next
 * incremental crawl reads it again, and keeps every other process.
 */
static void never_stale(struct kh_vm *vm, int qemu_pid, struct kh_crawl *prev,
			const char *technique)
{
	const struct kh_proc_state *before, *after;
	const struct kh_task *victim = NULL;
	struct kh_crawl *next;
	unsigned int i;
	uint64_t gpa;

	for (i = 0; i < prev->tasks->nr && !victim; i++)
		if (!strcmp(prev->tasks->tasks[i].comm, "kh-tree") &&
		    prev->tasks->tasks[i].pid == prev->tasks->tasks[i].tgid)
			victim = &prev->tasks->tasks[i];
	CHECK(victim, "no kh-tree in the guest");
	before = proc_of(prev, victim->pid);
	CHECK(before, "kh-tree (pid %d) has no state", victim->pid);
	gpa = anon_counter_gpa(vm, victim->mm);
	next = crawl_poked(vm, qemu_pid, prev, gpa, BUMP);
	after = proc_of(next, victim->pid);
	CHECK(after && after->rss_pages == before->rss_pages + BUMP,
	      "%s: kh-tree's rss is %llu after its counter went from %llu to %llu: a stale state was kept",
	      technique, after ? (unsigned long long)after->rss_pages : 0ULL,
	      (unsigned long long)before->rss_pages,
	      (unsigned long long)before->rss_pages + BUMP);
	CHECK(next->nr_reused == next->nr_procs - 1,
	      "%s: %u of %u kept when only kh-tree changed", technique,
	      next->nr_reused, next->nr_procs);
	printf("crawl_since (%s): a counter changed behind its back: kh-tree read again, %u others kept\n",
	       technique, next->nr_reused);

	/* Its first open file's inode number, behind the crawl's back. */
	{
		const struct kh_file *f = NULL, *g;
		struct kh_crawl *last;
		unsigned int k;

		for (k = 0; k < next->files->nr && !f; k++)
			if (next->files->files[k].pid == victim->pid)
				f = &next->files->files[k];
		CHECK(f, "%s: kh-tree (pid %d) has no open file", technique,
		      victim->pid);
		gpa = inode_number_gpa(vm, f->addr);
		last = crawl_poked(vm, qemu_pid, next, gpa, BUMP);
		g = file_of(last, f->pid, f->fd);
		CHECK(g && g->inode == f->inode + BUMP,
		      "%s: kh-tree's fd %d has inode %llu after its number went from %llu to %llu: a stale list was kept",
		      technique, f->fd, g ? (unsigned long long)g->inode : 0ULL,
		      (unsigned long long)f->inode,
		      (unsigned long long)f->inode + BUMP);
		printf("crawl_since (%s): an inode number changed behind its back: the open files read again\n",
		       technique);

		/* Its name in the task list: 'k' becomes 'K'. */
		{
			struct kh_crawl *named;
			const struct kh_task *t = NULL;

			gpa = comm_gpa(vm, victim->addr);
			named = crawl_poked(vm, qemu_pid, last, gpa,
					    'K' - 'k');
			for (k = 0; k < named->tasks->nr && !t; k++)
				if (named->tasks->tasks[k].pid == victim->pid)
					t = &named->tasks->tasks[k];
			CHECK(t && !strcmp(t->comm, "Kh-tree"),
			      "%s: pid %d is named %s after its name became Kh-tree: a stale task list was kept",
			      technique, victim->pid, t ? t->comm : "(gone)");
			printf("crawl_since (%s): a name changed behind its back: the task list read again\n",
			       technique);
			kh_crawl_free(named);
		}
		kh_crawl_free(last);
	}
	kh_crawl_free(next);
}

static void halted(struct kh_vm *vm, int qemu_pid, const char *technique)
{
	struct kh_crawl *full = NULL, *first, *second;
	char what[96];
	int tries;

	for (tries = 0; tries < HALT_TRIES; tries++) {
		pause_guest(vm);
		crawl_or_die(vm, NULL, 0, &full);
		if (any_i(full) || tries == HALT_TRIES - 1)
			break;
		kh_crawl_free(full);
		resume_guest(vm);
		sleep_ms(37);
	}
	crawl_or_die(vm, NULL, 1, &first);
	crawl_or_die(vm, first, 1, &second);
	never_stale(vm, qemu_pid, second, technique);
	resume_guest(vm);

	snprintf(what, sizeof(what), "%s, halted, first", technique);
	same_crawl(full, first, what);
	snprintf(what, sizeof(what), "%s, halted, second", technique);
	same_crawl(full, second, what);
	CHECK(full->nr_procs >= 20, "%s: only %u processes", technique,
	      full->nr_procs);
	CHECK(first->nr_reused == 0, "%s: a first incremental crawl kept %u",
	      technique, first->nr_reused);
	CHECK(second->nr_reused == second->nr_procs,
	      "%s: halted, the second incremental crawl kept %u of %u processes",
	      technique, second->nr_reused, second->nr_procs);
	printf("crawl_since (%s): halted, %u processes kept, counters I.A %u I.B %u I.C %u I.D %u II.A %u II.B %u as a full crawl's\n",
	       technique, second->nr_reused, full->consistency.zombie,
	       full->consistency.dying, full->consistency.as_good_as_dead,
	       full->consistency.fresh, full->consistency.died,
	       full->consistency.changed);
	kh_crawl_free(full);
	kh_crawl_free(first);
	kh_crawl_free(second);
}

/* A live chain; every few crawls, its state against a halted full crawl. */
static void live(struct kh_vm *vm, const char *technique)
{
	struct kh_crawl *prev = NULL, *c, *full;
	unsigned int kept = 0, procs = 0, compared = 0, i, j;

	for (i = 0; i < LIVE_CRAWLS; i++) {
		crawl_or_die(vm, prev, 1, &c);
		kept += c->nr_reused;
		procs += c->nr_procs;
		kh_crawl_free(prev);
		prev = c;
		if (i % 8 != 7)
			continue;
		/*
		 * Halted right after: a process that did not change since
		 * the incremental crawl has the state it gave.
		 */
		pause_guest(vm);
		crawl_or_die(vm, NULL, 0, &full);
		resume_guest(vm);
		for (j = 0; j < c->nr_procs; j++) {
			const struct kh_proc_state *q = proc_of(full,
								c->procs[j].pid);

			if (!q || !is_quiet(c, c->procs[j].pid))
				continue;
			CHECK(same_state(&c->procs[j], q),
			      "%s: live: pid %d (%s) is not what a full crawl reads right after",
			      technique, c->procs[j].pid, c->procs[j].cmdline);
			compared++;
		}
		kh_crawl_free(full);
	}
	kh_crawl_free(prev);
	CHECK(compared >= 10, "%s: only %u quiet states compared", technique,
	      compared);
	/* Most processes sleep between crawls: their state is kept. */
	CHECK(kept * 2 > procs,
	      "%s: live, incremental crawls kept %u of %u process states",
	      technique, kept, procs);
	printf("crawl_since (%s): live, %u of %u process states kept over %d crawls; %u compared with a halted full crawl\n",
	       technique, kept, procs, LIVE_CRAWLS, compared);
}

int main(int argc, char **argv)
{
	struct kh_ctx_config nocache = { .cache_dir = "" };
	unsigned int t;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&guest, argv[1]);
	atexit(cleanup);
	for (t = 0; t < sizeof(techniques) / sizeof(techniques[0]); t++) {
		struct kh_vm_config cfg = { .technique = techniques[t] };
		struct kh_err err = { 0 };
		char spec[32];
		struct kh_ctx *ctx;
		struct kh_vm *vm;

		if (!strcmp(techniques[t], "memmap") &&
		    strcmp(guest.ram, "memfd")) {
			printf("crawl_since: memmap left out: this guest's RAM is %s, not a memfd\n",
			       guest.ram);
			continue;
		}
		snprintf(spec, sizeof(spec), "%d", guest.pid);
		CHECK(!kh_ctx_new(&nocache, &ctx, &err), "context: %s",
		      err.msg);
		CHECK(!kh_vm_open(ctx, spec, &cfg, &vm, &err), "%s: %s",
		      techniques[t], err.msg);
		halted(vm, guest.pid, techniques[t]);
		live(vm, techniques[t]);
		kh_vm_close(vm);
		kh_ctx_free(ctx);
	}
	return 0;
}
