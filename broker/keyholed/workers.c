// SPDX-License-Identifier: GPL-2.0-only
/*
 * The workers: one thread per core, pinned, each with its own queue. A VM
 * belongs to one worker for its life (the one with the fewest VMs when it
 * appeared), so that one VM's work runs in order and never on two cores at
 * once, its lazy attach included, while different VMs run in parallel.
 * Finished jobs go back to the event loop through a list and an eventfd:
 * only the loop writes to sockets.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "changes.h"
#include "keyholed.h"
#include "metrics.h"
#include "ram_file.h"

struct worker {
	pthread_t thread;
	unsigned int index;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *head, **tail;
	struct feed_heap feeds;		/* its VMs' subscriptions' feeds */
	struct hold *holds;		/* its VMs' pause holds (holds.c) */
	bool stop;
	unsigned int nr_vms;		/* under count_lock */
	/* The worker's alone: records finished, the loop not yet told. */
	unsigned int untold;
	uint64_t untold_since;		/* when the first of them finished */
	/* Under its lock: no attach before this while crawls are due. */
	uint64_t attach_after;
};

static struct worker *workers;
static unsigned int nr_workers;
static struct kh_ctx *ctx;
static const struct daemon_config *config;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *done_head, **done_tail = &done_head;
static int done_fd = -1;

unsigned int workers_count(void)
{
	return nr_workers;
}

/*
 * Balance: a new VM goes to the worker with the fewest; when VMs go and
 * two workers differ by two or more, a VM moves from the one with the
 * most to the one with the fewest (one per exit, or per rescan while the
 * gap lasts). Counts of VMs, not of their cost: subscribed or not, large
 * or small. The counts and every VM's worker change under count_lock.
 */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void count_changed(unsigned int worker)
{
	metrics_worker_vms(worker, workers[worker].nr_vms);
}

void workers_assign(struct vm_entry *e)
{
	unsigned int i, best = 0;

	pthread_mutex_lock(&count_lock);
	for (i = 1; i < nr_workers; i++)
		if (workers[i].nr_vms < workers[best].nr_vms)
			best = i;
	workers[best].nr_vms++;
	atomic_store(&e->worker, best);
	e->counted = true;
	count_changed(best);
	pthread_mutex_unlock(&count_lock);
}

void workers_release(struct vm_entry *e)
{
	unsigned int w;

	pthread_mutex_lock(&count_lock);
	if (e->counted) {
		w = atomic_load(&e->worker);
		workers[w].nr_vms--;
		e->counted = false;
		count_changed(w);
	}
	pthread_mutex_unlock(&count_lock);
}

static void enqueue(struct worker *w, struct job *job);
static void enqueue_for_vm(struct vm_entry *e, struct job *job);

void workers_rebalance(void)
{
	unsigned int i, most = 0, fewest = 0;
	struct vm_entry *e;
	struct job *job;

	pthread_mutex_lock(&count_lock);
	for (i = 1; i < nr_workers; i++) {
		if (workers[i].nr_vms > workers[most].nr_vms)
			most = i;
		if (workers[i].nr_vms < workers[fewest].nr_vms)
			fewest = i;
	}
	i = workers[most].nr_vms - workers[fewest].nr_vms;
	pthread_mutex_unlock(&count_lock);
	if (nr_workers < 2 || workers[most].stop || i < 2)
		return;
	e = registry_any_on(most);
	job = e ? calloc(1, sizeof(*job)) : NULL;
	if (!job) {
		if (e)
			vm_put(e);
		return;
	}
	/* Its worker moves it, between its own uses of the VM. */
	job->vm = e;
	job->move = true;
	job->move_to = fewest;
	enqueue(&workers[most], job);
}

static bool still_on(const struct vm_entry *e, const struct worker *w)
{
	return e->counted && atomic_load(&e->worker) == w->index;
}

/* Takes e's queued jobs off w's queue, in order; moves of e go to *stale. */
static struct job *take_jobs(struct worker *w, struct vm_entry *e,
			     struct job **stale)
{
	struct job **link = &w->head, *job, *taken = NULL, **tail = &taken;

	while ((job = *link)) {
		if (job->vm != e) {
			link = &job->next;
			continue;
		}
		*link = job->next;
		job->next = NULL;
		if (job->move) {
			job->next = *stale;
			*stale = job;
		} else {
			*tail = job;
			tail = &job->next;
		}
	}
	w->tail = link;
	return taken;
}

/* Closes e's attachment, and drops the crawl made through it. */
static void detach(struct vm_entry *e)
{
	kh_vm_close(e->vm);
	e->vm = NULL;
	kh_crawl_free(e->last);
	e->last = NULL;
}

/*
 * On w's thread: e goes to worker "to" with its feeds (and their
 * deadlines) and its queued jobs, all at once: under both workers' locks
 * (lower index first) and count_lock, e's worker, the counts, the feeds
 * and the queue change together, so that a job for e is never run out of
 * order and an exit meanwhile is counted against the right worker. Its
 * attachment is closed first (the next worker attaches again: a
 * technique may be bound to the thread that attached, as ptrace is). A
 * VM a client holds paused stays, and nothing goes to a stopping worker.
 */
static void move_vm(struct worker *w, struct vm_entry *e, unsigned int to)
{
	struct worker *dest = &workers[to], *first, *second;
	struct job *jobs, *stale = NULL, *job;
	unsigned int i, nr_feeds = 0;
	bool moved = false;
	struct feed *f;

	if (to == w->index || holds_on(w->holds, e))
		return;
	pthread_mutex_lock(&count_lock);
	moved = still_on(e, w);
	pthread_mutex_unlock(&count_lock);
	if (!moved)
		return;
	if (e->vm) {
		detach(e);
		atomic_store(&e->kmod_session, 0);
	}
	first = w->index < to ? w : dest;
	second = first == w ? dest : w;
	pthread_mutex_lock(&first->lock);
	pthread_mutex_lock(&second->lock);
	for (i = 0; i < w->feeds.nr; i++)
		nr_feeds += w->feeds.at[i]->vm == e;
	pthread_mutex_lock(&count_lock);
	/* Without room in dest's heap the VM stays: balance can wait. */
	moved = !dest->stop && still_on(e, w) &&
		!feed_heap_reserve(&dest->feeds, nr_feeds);
	if (moved) {
		w->nr_vms--;
		dest->nr_vms++;
		count_changed(w->index);
		count_changed(to);
		atomic_store(&e->worker, to);
	}
	pthread_mutex_unlock(&count_lock);
	if (moved) {
		/* A removal reorders the heap: each search from the top. */
		while (nr_feeds--) {
			for (i = 0; w->feeds.at[i]->vm != e; i++)
				;
			f = w->feeds.at[i];
			feed_heap_remove(&w->feeds, f);
			feed_heap_push(&dest->feeds, f);
		}
		/* None of e's can be on dest's queue yet: after them all. */
		jobs = take_jobs(w, e, &stale);
		if (jobs) {
			*dest->tail = jobs;
			while (jobs->next)
				jobs = jobs->next;
			dest->tail = &jobs->next;
		}
		pthread_cond_signal(&dest->wake);
	}
	pthread_mutex_unlock(&second->lock);
	pthread_mutex_unlock(&first->lock);
	while ((job = stale)) {
		stale = job->next;
		job_free(job);
	}
	if (moved)
		metrics_vm_moved();
}

void feed_put(struct feed *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	vm_put(f->vm);
	json_decref(f->prev);
	free(f->subs);
	free(f);
}

void job_free(struct job *job)
{
	if (!job)
		return;
	if (job->feed)
		feed_put(job->feed);
	json_decref(job->record);
	json_decref(job->summary);
	json_decref(job->changes);
	if (job->client)
		client_put(job->client);
	if (job->vm)
		vm_put(job->vm);
	json_decref(job->id);
	json_decref(job->args);
	json_decref(job->reply);
	while (job->nr_fds)
		close(job->fds[--job->nr_fds]);
	free(job->command);
	free(job->technique);
	free(job->layout_spec);
	free(job);
}

/*
 * The loop's wake-up: written once for the jobs the loop has not yet
 * been told of, a reply at once, crawl records when their worker stops
 * running fast crawls (tell_loop), so that a worker that runs a batch of
 * crawls wakes the loop once for them all, not per record. It holds
 * only because the loop, once woken, takes jobs until the list is empty
 * (workers_take_done() then clears it): a loop that stopped early would
 * never be woken again.
 */
static bool loop_told;

static void wake_loop_locked(void)
{
	uint64_t one = 1;

	if (loop_told || !done_head)
		return;
	loop_told = true;
	if (write(done_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow at one per wake; nothing to do. */
	}
}

static void finish(struct job *job, bool batched)
{
	pthread_mutex_lock(&done_lock);
	job->next = NULL;
	*done_tail = job;
	done_tail = &job->next;
	if (!batched)
		wake_loop_locked();
	pthread_mutex_unlock(&done_lock);
}

/* Tells the loop of the records a worker finished and did not tell. */
static void wake_loop(void)
{
	pthread_mutex_lock(&done_lock);
	wake_loop_locked();
	pthread_mutex_unlock(&done_lock);
}

struct job *workers_take_done(void)
{
	struct job *job;

	pthread_mutex_lock(&done_lock);
	job = done_head;
	if (job) {
		done_head = job->next;
		if (!done_head)
			done_tail = &done_head;
	}
	/* Empty: the next job must wake the loop again. */
	if (!done_head)
		loop_told = false;
	pthread_mutex_unlock(&done_lock);
	return job;
}

int workers_done_fd(void)
{
	return done_fd;
}

/* The protocol's class for a library error, by its errno. */
static const char *error_class(const struct job *job, int code)
{
	switch (code) {
	case EINVAL:
		return KH_ERR_BAD_ARGUMENT;
	case EPERM:
	case EACCES:
		return KH_ERR_DENIED;
	case ESRCH:
		return KH_ERR_VM_GONE;
	case ETIME:
	case ENOBUFS:
		return KH_ERR_OVER_BUDGET;
	}
	return job->vm->gone ? KH_ERR_VM_GONE : KH_ERR_GENERIC;
}

static void vm_spec(const struct job *job, char *spec, size_t size)
{
	snprintf(spec, size, "%d", (int)job->vm->id.pid);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Whether the pid, attached by number, is still the process the client
 * was authorized for: a pid reused before the loop saw the exit is
 * another process.
 */
static bool same_process(const struct vm_entry *e, struct kh_err *err)
{
	struct kh_qemu_proc now;
	struct kh_err ignored;

	if (!kh_qemu_identify(e->id.pid, &now, &ignored) &&
	    now.start_time == e->id.start_time)
		return true;
	snprintf(err->msg, sizeof(err->msg), "QEMU process %d exited",
		 (int)e->id.pid);
	err->code = ESRCH;
	return false;
}

/* The VM's own attachment, made on first use (by its worker only). */
/*
 * keyhole.ko said another attachment gave it new RAM ranges for this QEMU
 * (module_events.c): the layout we read may be stale, so it is read again,
 * by attaching again, unless a hold keeps the guest paused through this
 * attachment (then after the hold). Our own attach's event is not one,
 * nor are those of the sessions last made for clients' "ram" or for a
 * query's own technique (their ranges are ours), whose events may come
 * after the next is made.
 */
static bool handed(const struct vm_entry *e, uint64_t session)
{
	unsigned int i;

	for (i = 0; i < NR_HANDED; i++)
		if (e->handed[i] == session)
			return true;
	return false;
}

/*
 * At most one layout re-read per VM in LAYOUT_REREAD_NS: a client that
 * sets its session's ranges again and again costs keyholed one attach a
 * second, not one per crawl. The event waits in its slot meanwhile.
 */
#define LAYOUT_REREAD_NS	(1000 * 1000000ull)

static bool layout_stale(struct vm_entry *e)
{
	uint64_t ours, theirs;

	if (!atomic_load(&e->layout_event) ||
	    holds_on(workers[e->worker].holds, e) ||
	    mono_ns() < e->reread_after_ns)
		return false;
	/* Taken and cleared at once: an event landing meanwhile stays. */
	theirs = atomic_exchange(&e->layout_event, 0);
	if (theirs == LAYOUT_EVENTS_MANY)
		return true;
	return theirs && !handed(e, theirs) &&
	       (kh_vm_kmod_session(e->vm, &ours) || ours != theirs);
}

/* A module session of keyholed's besides e's own: its events are ours. */
static void hand(struct vm_entry *e, uint64_t session)
{
	e->handed[e->nr_handed++ % NR_HANDED] = session;
}

static struct kh_vm *attached(struct vm_entry *e, struct kh_err *err)
{
	struct kh_vm_config cfg = { .libvirt_uri = config->libvirt_uri,
				    .technique = config->technique };
	uint64_t session;
	char spec[16];

	if (e->vm && !layout_stale(e))
		return e->vm;
	if (e->vm) {
		detach(e);
		metrics_layout_reread();
		e->reread_after_ns = mono_ns() + LAYOUT_REREAD_NS;
	}
	snprintf(spec, sizeof(spec), "%d", (int)e->id.pid);
	if (kh_vm_open(ctx, spec, &cfg, &e->vm, err))
		e->vm = NULL;
	else if (!same_process(e, err))
		detach(e);
	if (e->vm && !kh_vm_kmod_session(e->vm, &session))
		atomic_store(&e->kmod_session, session);
	return e->vm;
}

/*
 * A client's crawl gets the daemon's budget at most: none asked, 0 (no
 * limit) or more becomes the daemon's. A value of the wrong type is left
 * for the query to refuse.
 */
static void clamp_budget(json_t *args, const char *key, uint64_t limit)
{
	json_t *v = json_object_get(args, key);

	if (!limit || (v && !json_is_integer(v)) ||
	    (v && json_integer_value(v) < 0))
		return;
	if (!v || !json_integer_value(v) ||
	    (uint64_t)json_integer_value(v) > limit)
		json_object_set_new(args, key, json_integer(limit));
}

#define SLOWEST_NS	(60 * 1000000000ull)

/*
 * A feed's crawl: incremental against the VM's last one (made through the
 * same attachment, which detach() ends), unless the daemon makes full
 * crawls only. Each kept process costs one batched check instead of a
 * walk, and its state is exactly what a walk would give (kh_crawl_since);
 * which feed made the last crawl does not matter, since everything kept
 * is read again. A crawl that logs what it read holds more and takes
 * longer than a full one: one that went over budget is followed by full
 * crawls for a while, so that a VM near its budget is not failed for
 * good by the logging alone.
 */
#define FULL_CRAWLS_AFTER_OVER	64

static int crawl_next(struct feed *f, struct kh_vm *vm,
		      struct kh_crawl **crawlp, struct kh_err *err)
{
	struct vm_entry *e = f->vm;
	int ret;

	if (config->full_crawls || e->full_crawls_left) {
		if (e->full_crawls_left)
			e->full_crawls_left--;
		return kh_crawl_within(vm, f->crawl_flags, &config->budget,
				       crawlp, err);
	}
	ret = kh_crawl_since(vm, f->crawl_flags, &config->budget, e->last,
			     crawlp, err);
	if (ret == -ENOBUFS || ret == -ETIME) {
		kh_crawl_free(e->last);
		e->last = NULL;
		e->full_crawls_left = FULL_CRAWLS_AFTER_OVER;
	}
	return ret;
}

/* The VM's new last crawl, or crawl freed when none is kept. */
static void keep_last(struct vm_entry *e, struct kh_crawl *crawl)
{
	if (!crawl->memo) {
		kh_crawl_free(crawl);
		return;
	}
	kh_crawl_free(e->last);
	e->last = crawl;
}

/*
 * One crawl of a feed, and when the next is due. A VM whose crawl takes
 * longer than its period is crawled at half the rate (down to once a
 * minute) rather than late forever, so that it cannot delay the other
 * VMs of its worker; once it is fast again, its rate goes back up.
 */
/*
 * One crawl of f, which fell due at "was"; its next due time in *due
 * (f->due_ns is read and set under the worker's lock, for the heap).
 */
static struct job *crawl_feed(struct feed *f, uint64_t now, uint64_t was,
			      uint64_t *due)
{
	struct job *out = calloc(1, sizeof(*out));
	struct kh_err err = { 0 };
	struct kh_crawl *crawl;
	struct kh_vm *vm;
	uint64_t took;

	*due = (was > now ? was : now) + f->actual_ns;
	if (!out)
		return NULL;
	atomic_fetch_add(&f->refs, 1);
	out->feed = f;
	out->seq = ++f->seq;
	/* Early by at most early_ns(): not late. */
	out->lateness_ms = now > was ? (now - was) / 1e6 : 0;
	vm = f->vm->gone ? NULL : attached(f->vm, &err);
	if (!vm || crawl_next(f, vm, &crawl, &err)) {
		out->reply = json_pack("{s:s}", "desc",
				       f->vm->gone ? "QEMU exited" :
				       err.msg[0] ? err.msg : "crawl failed");
	} else {
		unsigned int wants = atomic_load(&f->wants);

		/*
		 * The full record costs more than the crawl: made only when
		 * a subscriber takes it, or changes are asked for.
		 */
		if (wants & (FEED_WANTS_RECORD | FEED_WANTS_CHANGES))
			out->record = kh_json_crawl(crawl, out->seq, 0);
		out->summary = kh_json_crawl(crawl, out->seq, 1);
		keep_last(f->vm, crawl);
		if ((wants & FEED_WANTS_CHANGES) && out->record && f->prev)
			out->changes = crawl_changes(f->prev, out->record);
		json_decref(f->prev);
		f->prev = wants & FEED_WANTS_CHANGES ?
			  json_incref(out->record) : NULL;
	}
	took = mono_ns() - now;
	f->took_ns = took;
	metrics_crawl(&f->vm->id, f->vm->worker, took / 1e9,
		      out->lateness_ms / 1e3, out->summary);
	if (took > f->actual_ns && f->actual_ns < SLOWEST_NS)
		f->actual_ns = f->actual_ns * 2 < SLOWEST_NS ?
			       f->actual_ns * 2 : SLOWEST_NS;
	else if (f->actual_ns > f->period_ns && took * 4 < f->actual_ns)
		f->actual_ns = f->actual_ns / 2 > f->period_ns ?
			       f->actual_ns / 2 : f->period_ns;
	out->rate_hz = 1e9 / f->actual_ns;
	/*
	 * Late: the periods missed are skipped, not caught up, and the feed
	 * keeps its phase. Due "from now" instead, every feed late after a
	 * stall (a thousand VMs attaching) fell due within the same fraction
	 * of a second from then on, and the last of each burst was late by
	 * the whole burst.
	 */
	*due = was + f->actual_ns;
	if (*due < now + took)
		*due += ((now + took - *due) / f->actual_ns + 1) *
			f->actual_ns;
	return out;
}

/*
 * The attached VM for the job: the VM's own, attached on its first job
 * with the daemon's defaults, or for a job that asks for another
 * technique or layout, one of its own that run_job closes.
 */
static struct kh_vm *vm_for(struct job *job, bool *transient,
			    struct kh_err *err)
{
	struct kh_vm_config cfg = job->cfg;
	struct kh_vm *vm;
	uint64_t session;
	char spec[16];

	vm_spec(job, spec, sizeof(spec));
	cfg.libvirt_uri = config->libvirt_uri;
	*transient = job->technique || job->cfg.layout != KH_LAYOUT_AUTO;
	if (!*transient)
		return attached(job->vm, err);
	if (kh_vm_open(ctx, spec, &cfg, &vm, err))
		return NULL;
	if (!kh_vm_kmod_session(vm, &session))
		hand(job->vm, session);
	if (!same_process(job->vm, err)) {
		kh_vm_close(vm);
		return NULL;
	}
	return vm;
}

/*
 * "ram": the file behind the VM's RAM (or for anonymous RAM a keyhole.ko
 * session of the client's own) and a pidfd of its QEMU, passed with the
 * reply; the reply says which, and where each range lies in it.
 */
/*
 * The kinds of RAM file the client takes ("kinds", default the backend
 * alone, which every client understands): a keyhole.ko session only for
 * one that asks, as it grants more than guest RAM (all of QEMU's
 * readable memory, and pausing the vCPUs). The module checks the client's
 * own right to that (auth_kmod_attach()). -1: malformed.
 */
static int ram_kinds(const struct job *job, unsigned int *flags)
{
	json_t *kinds = json_object_get(job->args, "kinds"), *kind;
	size_t i;

	*flags = 0;
	if (!kinds)
		return 0;
	if (!json_is_array(kinds))
		return -1;
	json_array_foreach(kinds, i, kind) {
		const char *name = json_string_value(kind);

		if (!name || (strcmp(name, "backend") &&
			      strcmp(name, "keyhole.ko")))
			return -1;
		if (!strcmp(name, "keyhole.ko"))
			*flags |= KH_RAM_FILE_MAY_KMOD;
	}
	return 0;
}

/*
 * Sessions of keyhole.ko on one QEMU, all holders together, past which
 * "ram" hands out no more: a client's unread or kept fds each pin one,
 * with the module's state for it, and the client could not have opened
 * them itself.
 */
#define MAX_SESSIONS_PER_QEMU	64

/* kh_kmod_attach_t for "ram": the session made as the client. */
static int attach_for_client(void *peer, int dev, const struct kh_access *acc,
			     uint64_t *session)
{
	int nr = module_sessions_on(acc->pid);

	if (nr < 0)
		return nr;
	if (nr >= MAX_SESSIONS_PER_QEMU)
		return -EUSERS;
	return auth_kmod_attach(peer, dev, acc, session);
}

static json_t *run_ram(struct job *job, struct kh_vm *vm)
{
	struct kh_ram_file ram;
	struct kh_err err = { 0 };
	json_t *ranges, *doc;
	unsigned int i, flags;

	if (ram_kinds(job, &flags))
		return kh_proto_error(KH_ERR_BAD_ARGUMENT, job->id,
				      "ram: 'kinds' is a list of \"backend\" and \"keyhole.ko\"");
	if (kh_vm_ram_file_by(vm, flags, attach_for_client,
			      (void *)client_peer(job->client), &ram, &err))
		return kh_proto_error(error_class(job, err.code), job->id,
				      "%s", err.msg);
	if (ram.kind == KH_RAM_FILE_KMOD)
		hand(job->vm, ram.kmod_session);
	ranges = json_array();
	for (i = 0; i < ram.nr; i++)
		json_array_append_new(ranges, json_pack("{s:I, s:I, s:I}",
			"gpa", (json_int_t)ram.range[i].gpa,
			"size", (json_int_t)ram.range[i].size,
			"offset", (json_int_t)ram.range[i].offset));
	doc = json_pack("{s:i, s:s, s:s, s:o, s:[s, s]}", "pid", (int)ram.pid,
			"name", ram.name, "kind",
			ram.kind == KH_RAM_FILE_KMOD ? "keyhole.ko" : "backend",
			"ranges", ranges, "fds", "ram",
			ram.pidfd >= 0 ? "pidfd" : "none");
	job->fds[job->nr_fds++] = ram.fd;
	if (ram.pidfd >= 0)
		job->fds[job->nr_fds++] = ram.pidfd;
	return kh_proto_return(doc, job->id);
}

#define HOLD_DEFAULT_S	60
#define HOLD_MAX_S	600

/*
 * "pause" and "resume": a hold of the VM's own attachment, so that the
 * client's queries and the VM's feeds read the halted guest.
 */
static json_t *run_hold(struct job *job)
{
	struct worker *w = &workers[job->vm->worker];
	json_t *secs = json_object_get(job->args, "seconds");
	struct kh_err err = { 0 };
	json_int_t seconds = HOLD_DEFAULT_S;
	const char *key;
	json_t *value;
	int ret;

	json_object_foreach(job->args, key, value)
		if (strcmp(key, "seconds") || !strcmp(job->command, "resume"))
			return kh_proto_error(KH_ERR_BAD_ARGUMENT, job->id,
					      "%s: unknown argument '%.64s'",
					      job->command, key);
	if (secs) {
		seconds = json_is_integer(secs) ? json_integer_value(secs) : 0;
		if (seconds < 1 || seconds > HOLD_MAX_S)
			return kh_proto_error(KH_ERR_BAD_ARGUMENT, job->id,
					      "pause: 'seconds' must be an integer from 1 to %d",
					      HOLD_MAX_S);
	}
	if (!attached(job->vm, &err))
		return kh_proto_error(error_class(job, err.code), job->id,
				      "%s", err.msg);
	if (!strcmp(job->command, "resume")) {
		ret = hold_resume(&w->holds, job->vm, job->client, &err);
		if (ret)
			return kh_proto_error(ret == -ENOENT ?
					      KH_ERR_BAD_ARGUMENT :
					      error_class(job, err.code),
					      job->id, "%s", err.msg);
		return kh_proto_return(json_object(), job->id);
	}
	ret = hold_pause(&w->holds, job->vm, job->client,
			 mono_ns() + seconds * 1000000000ull, &err);
	if (ret < 0)
		return kh_proto_error(error_class(job, err.code), job->id,
				      "%s", err.msg);
	return kh_proto_return(json_pack("{s:o, s:I, s:b}", "vm",
					 vm_entry_ident(job->vm), "seconds",
					 seconds, "extended", ret == 1),
			       job->id);
}

/*
 * A hold ended by itself: its client is told, as an event, whether it ran
 * out ("deadline") or the guest ran before it did ("guest-ran": keyhole.ko
 * ended the pause, or QEMU went).
 */
static void hold_ended(struct client *c, struct vm_entry *e, const char *why)
{
	struct job *job = calloc(1, sizeof(*job));
	json_t *data = json_pack("{s:o, s:s}", "vm", vm_entry_ident(e),
				 "reason", why ? "guest-ran" : "deadline");

	if (!job || !data) {
		free(job);
		json_decref(data);
		return;
	}
	if (why)
		json_object_set_new(data, "desc", json_string(why));
	client_get(c);
	job->client = c;
	job->notice = true;
	job->reply = json_pack("{s:s, s:o}", "event", "pause-expired",
			       "data", data);
	finish(job, false);
}

static json_t *run_job(struct job *job)
{
	struct kh_query_result res = { 0 };
	struct kh_err err = { 0 };
	struct kh_vm_info info;
	struct kh_vm *vm = NULL;
	bool transient = false;
	json_t *reply;
	char spec[16], problem[sizeof(res.problem)];
	int ret;

	if (job->vm->gone)
		return kh_proto_error(KH_ERR_VM_GONE, job->id,
				      "QEMU process %d exited",
				      (int)job->vm->id.pid);
	if (!strcmp(job->command, "pause") || !strcmp(job->command, "resume"))
		return run_hold(job);
	if (!strcmp(job->command, "ram")) {
		vm = vm_for(job, &transient, &err);
		if (!vm)
			return kh_proto_error(error_class(job, err.code),
					      job->id, "%s", err.msg);
		reply = run_ram(job, vm);
		if (transient)
			kh_vm_close(vm);
		return reply;
	}
	if (!strcmp(job->command, "crawl")) {
		clamp_budget(job->args, "budget_ms", config->budget.time_ms);
		clamp_budget(job->args, "budget_kib",
			     config->budget.memory_bytes >> 10);
	}
	if (kh_query_known(job->command) == 2) {
		struct kh_vm_config cfg = job->cfg;

		vm_spec(job, spec, sizeof(spec));
		cfg.libvirt_uri = config->libvirt_uri;
		ret = kh_query_techniques(spec, &cfg, &res, &err);
	} else {
		vm = vm_for(job, &transient, &err);
		ret = vm ? kh_query(vm, job->command, job->args, &res, &err) :
			   -(err.code ?: EIO);
	}
	if (ret) {
		reply = kh_proto_error(error_class(job, err.code), job->id,
				       "%s", err.msg);
		goto out;
	}
	reply = kh_proto_return(res.doc, job->id);
	res.doc = NULL;
	if (vm) {
		kh_vm_get_info(vm, &info);
		json_object_set_new(reply, "technique",
				    json_string(info.technique));
	}
	/* The problem names guest strings: printable, or it is lost. */
	if (res.flags) {
		kh_printable(res.problem, sizeof(problem), problem);
		json_object_set_new(reply, "result",
			json_pack("{s:b, s:b, s:s}",
				  "incomplete",
				  !!(res.flags & KH_RESULT_INCOMPLETE),
				  "inconsistent",
				  !!(res.flags & KH_RESULT_INCONSISTENT),
				  "problem", problem));
	}
out:
	kh_query_result_release(&res);
	if (transient)
		kh_vm_close(vm);
	return reply;
}

/* Drops cancelled feeds; the earliest due of the others. Locked. */
static struct feed *earliest_feed(struct worker *w)
{
	struct feed *f;

	while ((f = feed_heap_top(&w->feeds)) && atomic_load(&f->cancelled)) {
		feed_heap_remove(&w->feeds, f);
		feed_put(f);
	}
	return f;
}

static void wait_until(struct worker *w, uint64_t due_ns)
{
	struct timespec ts = {
		.tv_sec = due_ns / 1000000000ull,
		.tv_nsec = due_ns % 1000000000ull,
	};

	pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

struct unheld {
	struct worker *w;
	struct vm_entry *found;
};

static void find_unheld(struct vm_entry *e, void *arg)
{
	struct unheld *u = arg;

	if (!u->found && !e->gone &&
	    atomic_load(&e->worker) == u->w->index &&
	    !holds_on(u->w->holds, e)) {
		vm_get(e);
		u->found = e;
	}
}

/*
 * Moves e, or when a client holds e paused another VM of w's that no
 * client holds: else one held VM would stop all balancing for as long
 * as its client holds it.
 */
static void move_some_vm(struct worker *w, struct vm_entry *e,
			 unsigned int to)
{
	struct unheld u = { .w = w };

	if (!holds_on(w->holds, e)) {
		move_vm(w, e, to);
		return;
	}
	registry_foreach(find_unheld, &u);
	if (u.found) {
		move_vm(w, u.found, to);
		vm_put(u.found);
	}
}

/*
 * A job off w's queue, run unlocked: a client's end (no VM), a job whose
 * VM moved to another worker (passed on), a move, a look at a VM's holds
 * (no client), or a query. Once stopping, queries are answered, not run.
 */
static void run_queued(struct worker *w, struct job *job, bool stopping)
{
	uint64_t now;

	if (!job->vm) {
		/* A client went: its holds end. */
		holds_release_client(&w->holds, job->client);
	} else if (job->move && atomic_load(&job->vm->worker) != w->index) {
		/* A move of a VM that moved since: dropped, not passed on. */
	} else if (!stopping && atomic_load(&job->vm->worker) != w->index) {
		/* Not expected: move_vm takes a VM's jobs along. */
		enqueue_for_vm(job->vm, job);
		return;
	} else if (job->move) {
		if (!stopping)
			move_some_vm(w, job->vm, job->move_to);
	} else if (!job->client) {
		/* keyhole.ko ended a pause: see which. */
		holds_tick(&w->holds, mono_ns(), true, hold_ended);
	} else {
		now = mono_ns();
		job->reply = stopping ?
			kh_proto_error(KH_ERR_SHUTDOWN, job->id,
				       "keyholed is stopping") :
			run_job(job);
		metrics_worker_busy(w->index, mono_ns() - now);
		finish(job, false);
		return;
	}
	job_free(job);
}

/*
 * How early a feed's crawl may run, when its worker is awake anyway: a
 * hundredth of its period, at most 2 ms. Crawls due close together then
 * share one wake-up of their worker (and of the loop) instead of one
 * each, which on a host of a thousand VMs at 1 Hz is most of what a
 * crawl costs beyond itself. The feed keeps its phase.
 */
#define MAX_EARLY_NS	2000000ull

static uint64_t early_ns(const struct feed *f)
{
	return f->actual_ns / 100 < MAX_EARLY_NS ? f->actual_ns / 100 :
						   MAX_EARLY_NS;
}

/*
 * Records a worker finished wait for the loop to be told (once for the
 * batch) while the worker runs crawls that have been fast or sleeps: at
 * most this many, for at most this long, and never across a query, a
 * hold's turn, an attach or a crawl whose last run was slow. A crawl
 * that turns slow unforeseen can still hold them back, by at most its
 * time budget. At 1 Hz on a thousand VMs, telling the loop of each
 * record as the worker goes to sleep woke it 700 times a second, and its
 * wake-ups were most of what keyholed costs beyond the crawls; records a
 * few ms later halve them.
 */
#define MAX_UNTOLD	16
#define MAX_UNTOLD_NS	5000000ull
#define SLOW_CRAWL_NS	1000000ull

static void tell_loop(struct worker *w)
{
	if (!w->untold)
		return;
	w->untold = 0;
	wake_loop();
}

static void told_later(struct worker *w)
{
	if (!w->untold++)
		w->untold_since = mono_ns();
	if (w->untold >= MAX_UNTOLD)
		tell_loop(w);
}

/* Whether f's crawl may be slow, or records have waited long enough. */
static bool tell_before(const struct worker *w, const struct feed *f,
			uint64_t now)
{
	const struct vm_entry *e = f->vm;

	return !f->took_ns || f->took_ns > SLOW_CRAWL_NS || !e->vm ||
	       (atomic_load(&e->layout_event) && now >= e->reread_after_ns) ||
	       now - w->untold_since > MAX_UNTOLD_NS;
}

/*
 * Until when f's crawl may be put off: for the next attach, and by 10 s
 * at most. A worker that cannot keep up always has crawls due before
 * the next attach (late ones, whose deadlines are older), and a crawl
 * put off for as long as that would never attach its VM: one put off by
 * 10 s runs in deadline order among them. Shorter, and the first crawls
 * of a burst of new VMs that takes longer than that to attach would
 * again run back to back ahead of the watched ones (a thousand VMs, 9 ms
 * each, take 4.5 s of each of two workers).
 */
#define PUT_OFF_MAX_NS	(10 * 1000000000ull)

static uint64_t put_off_until(const struct worker *w, const struct feed *f)
{
	uint64_t limit = (f->asked_ns ?: f->due_ns) + PUT_OFF_MAX_NS;

	return w->attach_after < limit ? w->attach_after : limit;
}

/*
 * Whether f's crawl, which would attach its VM first, is put off behind
 * crawls due meanwhile. An attach takes milliseconds (tens with a slow
 * QEMU) against a crawl's fraction of one, and when hundreds of VMs
 * appear at once their first crawls, all due, would run back to back in
 * deadline order, ahead of every crawl that fell due behind them. So
 * after an attach that took t, crawls due within the next t go first.
 * A due crawl then waits for one attach at most, and attaching still
 * gets at least half of a worker that keeps up while it has VMs to
 * attach (a put-off crawl that reaches the top runs at once). Its
 * lateness counts from when it was due before it was put off.
 */
static bool attach_waits(const struct worker *w, const struct feed *f,
			 uint64_t now)
{
	return !f->vm->vm && f->due_ns <= now + early_ns(f) &&
	       now < w->attach_after && f->due_ns < w->attach_after &&
	       f->due_ns < put_off_until(w, f);
}

/*
 * Holds that are due first; then jobs (one-shot queries), in order; then
 * the feed whose crawl is due soonest (earliest deadline first); else
 * sleep until one is due or work comes.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct feed *feed;
	struct job *job;
	cpu_set_t cpus;
	long nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t now, hold_due;

	CPU_ZERO(&cpus);
	CPU_SET(w->index % (nr_cpus > 0 ? nr_cpus : 1), &cpus);
	/* A core of its own when there is one; else shared, still correct. */
	pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	rcu_register_thread();
	pthread_mutex_lock(&w->lock);
	for (;;) {
		/*
		 * Holds before anything else, at every turn (a look at a few
		 * entries when none is due): a queue kept full must not starve
		 * their renewal past keyhole.ko's watchdog, nor their deadline.
		 */
		hold_due = 0;
		if (w->untold && (w->holds || w->head)) {
			pthread_mutex_unlock(&w->lock);
			tell_loop(w);
			pthread_mutex_lock(&w->lock);
		}
		if (w->holds) {
			pthread_mutex_unlock(&w->lock);
			hold_due = holds_tick(&w->holds, mono_ns(), false,
					      hold_ended);
			pthread_mutex_lock(&w->lock);
		}
		job = w->head;
		if (job) {
			bool stopping = w->stop;

			w->head = job->next;
			if (!w->head)
				w->tail = &w->head;
			pthread_mutex_unlock(&w->lock);
			run_queued(w, job, stopping);
			pthread_mutex_lock(&w->lock);
			continue;
		}
		if (w->stop)
			break;
		feed = earliest_feed(w);
		now = mono_ns();
		if (feed && attach_waits(w, feed, now)) {
			uint64_t until = put_off_until(w, feed);

			if (!feed->asked_ns)
				feed->asked_ns = feed->due_ns;
			feed->due_ns = until;
			feed_heap_fix(&w->feeds, feed);
			continue;
		}
		if (feed && (feed->due_ns <= now + early_ns(feed) ||
			     feed->asked_ns)) {
			uint64_t was = feed->asked_ns ?: feed->due_ns, due, end;
			bool attach = !feed->vm->vm;

			/*
			 * Only this thread takes a feed out of w's heap (a
			 * move of its VM runs here too): still there after.
			 */
			pthread_mutex_unlock(&w->lock);
			if (w->untold && tell_before(w, feed, now))
				tell_loop(w);
			job = crawl_feed(feed, now, was, &due);
			end = mono_ns();
			metrics_worker_busy(w->index, end - now);
			if (job) {
				finish(job, true);
				told_later(w);
			}
			pthread_mutex_lock(&w->lock);
			/*
			 * Cancelled meanwhile (its VM exited, most likely):
			 * dropped now, with its VM, not at its next due time.
			 */
			if (atomic_load(&feed->cancelled)) {
				feed_heap_remove(&w->feeds, feed);
				feed_put(feed);
				continue;
			}
			/* Never earlier: put-off feeds keep their order. */
			if (attach && end + (end - now) > w->attach_after)
				w->attach_after = end + (end - now);
			feed->asked_ns = 0;
			feed->due_ns = due;
			feed_heap_fix(&w->feeds, feed);
			continue;
		}
		/* Only for a crawl whose record can share the wake-up. */
		if (w->untold && !hold_due && feed &&
		    feed->due_ns < w->untold_since + MAX_UNTOLD_NS) {
			wait_until(w, feed->due_ns);
			continue;
		}
		if (w->untold) {
			pthread_mutex_unlock(&w->lock);
			tell_loop(w);
			pthread_mutex_lock(&w->lock);
			continue;	/* work may have come meanwhile */
		}
		if (feed || hold_due)
			wait_until(w, !feed ? hold_due :
				   !hold_due || feed->due_ns < hold_due ?
				   feed->due_ns : hold_due);
		else
			pthread_cond_wait(&w->wake, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	tell_loop(w);
	holds_release_all(&w->holds);
	pthread_mutex_lock(&w->lock);
	while ((feed = feed_heap_top(&w->feeds))) {
		feed_heap_remove(&w->feeds, feed);
		feed_put(feed);
	}
	feed_heap_release(&w->feeds);
	pthread_mutex_unlock(&w->lock);
	rcu_unregister_thread();
	return NULL;
}

/* The worker of e, locked: e may move until its worker's lock is held. */
static struct worker *lock_worker_of(struct vm_entry *e)
{
	struct worker *w;

	for (;;) {
		w = &workers[atomic_load(&e->worker)];
		pthread_mutex_lock(&w->lock);
		if (atomic_load(&e->worker) == w->index)
			return w;
		pthread_mutex_unlock(&w->lock);
	}
}

int workers_add_feed(struct feed *f)
{
	struct worker *w;

	f->actual_ns = f->period_ns;
	/*
	 * Feeds start at a phase of their own within the period, spread
	 * by pid: VMs subscribed together would otherwise fall due together
	 * every period, and the last of a burst would be late by the whole
	 * burst's work.
	 */
	f->due_ns = mono_ns() + ((uint64_t)f->vm->id.pid *
				 0x9E3779B97F4A7C15ull) % f->period_ns;
	w = lock_worker_of(f->vm);
	if (feed_heap_reserve(&w->feeds, 1)) {
		pthread_mutex_unlock(&w->lock);
		return -ENOMEM;
	}
	atomic_fetch_add(&f->refs, 1);	/* the worker's */
	feed_heap_push(&w->feeds, f);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void workers_cancel_feed(struct feed *f)
{
	struct worker *w;

	atomic_store(&f->cancelled, true);
	w = lock_worker_of(f->vm);
	/*
	 * Due now, so that the worker drops it (and its VM reference) at
	 * its next turn, not a period later. A crawl of it under way sets
	 * its due time after; it is dropped when that comes.
	 */
	if (f->heap_index < w->feeds.nr && w->feeds.at[f->heap_index] == f) {
		f->due_ns = 0;
		feed_heap_fix(&w->feeds, f);
	}
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* Appends job to w's queue and wakes w. */
static void enqueue(struct worker *w, struct job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&w->lock);
	*w->tail = job;
	w->tail = &job->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/*
 * On the queue of e's worker, under that worker's lock: a move of e
 * (move_vm) takes it along then, behind e's earlier jobs.
 */
static void enqueue_for_vm(struct vm_entry *e, struct job *job)
{
	struct worker *w = lock_worker_of(e);

	job->next = NULL;
	*w->tail = job;
	w->tail = &job->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* A job with a VM and no client: the worker looks at the VM's holds. */
void workers_check_holds(struct vm_entry *e)
{
	struct job *job = calloc(1, sizeof(*job));

	/* Without memory the hold's next renewal finds it out. */
	if (!job)
		return;
	vm_get(e);
	job->vm = e;
	enqueue_for_vm(e, job);
}

/* A job with a client and no VM: the worker ends the client's holds. */
void workers_client_gone(struct client *c)
{
	unsigned int i;

	for (i = 0; i < nr_workers; i++) {
		struct job *job = calloc(1, sizeof(*job));

		/* Without memory its holds still end, at their deadlines. */
		if (!job)
			continue;
		client_get(c);
		job->client = c;
		enqueue(&workers[i], job);
	}
}

void workers_submit(struct job *job)
{
	enqueue_for_vm(job->vm, job);
}

int workers_start(const struct daemon_config *cfg)
{
	struct kh_ctx_config ccfg = { .cache_dir = cfg->cache_dir };
	struct kh_err err = { 0 };
	pthread_condattr_t attr;
	unsigned int i;
	int ret;

	config = cfg;
	if (kh_ctx_new(&ccfg, &ctx, &err)) {
		fprintf(stderr, "keyholed: %s\n", err.msg);
		return err.code ? -err.code : -EIO;
	}
	if (kh_ctx_set_halt_journal(ctx, state_journal(), &err)) {
		fprintf(stderr, "keyholed: %s\n", err.msg);
		return err.code ? -err.code : -EIO;
	}
	done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (done_fd < 0)
		return -errno;
	nr_workers = cfg->workers;
	metrics_set_workers(nr_workers);
	workers = calloc(nr_workers, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	for (i = 0; i < nr_workers; i++) {
		struct worker *w = &workers[i];

		w->index = i;
		w->tail = &w->head;
		pthread_mutex_init(&w->lock, NULL);
		/* Feeds' deadlines are CLOCK_MONOTONIC, as the waits. */
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&w->wake, &attr);
		pthread_condattr_destroy(&attr);
		ret = pthread_create(&w->thread, NULL, worker_main, w);
		if (ret) {
			nr_workers = i;
			return -ret;
		}
	}
	return 0;
}

/*
 * Each worker finishes the job it runs and every queued one (they are
 * short: one query each), so that every client gets its answers before
 * its goodbye, and the registry closes no VM a job still uses.
 */
void workers_stop(void)
{
	unsigned int i;

	for (i = 0; i < nr_workers; i++) {
		pthread_mutex_lock(&workers[i].lock);
		workers[i].stop = true;
		pthread_cond_signal(&workers[i].wake);
		pthread_mutex_unlock(&workers[i].lock);
	}
	for (i = 0; i < nr_workers; i++)
		pthread_join(workers[i].thread, NULL);
}

void workers_exit(void)
{
	if (ctx)
		kh_ctx_free(ctx);
	ctx = NULL;
	if (done_fd >= 0)
		close(done_fd);
	free(workers);
	workers = NULL;
	nr_workers = 0;
}
