/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * keyholed: the broker. One event loop thread owns every socket (server.c);
 * the VM registry is an RCU hash table that every thread reads without
 * locks (registry.c); N workers, one per core, run the introspection
 * (workers.c); a client may touch only a VM its own uid could ptrace
 * (auth.c). Documentation/broker.md draws it.
 */
#ifndef KEYHOLED_H
#define KEYHOLED_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <urcu.h>
#include <urcu/rculfhash.h>

#include "libkeyhole.h"
#include "proto.h"

struct daemon_config {
	const char *socket_path;
	unsigned int workers;
	const char *cache_dir;		/* kernel profiles; NULL: none */
	const char *libvirt_uri;
	const char *technique;		/* of its own attachments; NULL: best */
	const char *metrics;		/* ADDR:PORT for /metrics, or NULL */
	const char *state_dir;		/* the halt journal's; NULL: none */
	struct kh_crawl_budget budget;	/* of every crawl it makes */
	bool full_crawls;		/* never kh_crawl_since (--full-crawls) */
};

/* --- the state directory and its halt journal (recover.c) --- */

/* Creates and locks STATE/paused; 0 with nothing done when NULL. */
int state_open(const char *state_dir);
/* The halt journal directory, or NULL. */
const char *state_journal(void);
/* Resumes what a killed keyholed left halted; logs to stderr. */
void state_recover(void);

/* --- the VM registry (registry.c) --- */

#define NR_HANDED 16
/* layout_event after events of two sessions: one may be another's. */
#define LAYOUT_EVENTS_MANY UINT64_MAX

struct vm_entry {
	struct cds_lfht_node node;	/* keyed by pid */
	struct rcu_head rcu;
	atomic_int refs;		/* the registry's one, plus each user's */
	struct kh_qemu_proc id;
	/*
	 * The one worker that runs its work. Only that worker moves it to
	 * another (workers_rebalance), under the workers' count lock, and
	 * its jobs still queued on the old one are passed on.
	 */
	_Atomic unsigned int worker;
	bool counted;			/* in its worker's count (that lock) */
	int pidfd;
	void *exit_watch;		/* the loop's source on pidfd */
	atomic_bool gone;		/* QEMU exited: no new work */
	unsigned long seen;		/* the last rescan that saw it (loop) */
	unsigned long found;		/* the rescan that found it (loop) */
	/* Attached on first use, by its worker only. */
	struct kh_vm *vm;
	/*
	 * vm's last crawl for a feed, for the next to keep what reads the
	 * same (kh_crawl_since), whichever feed of the VM makes it: its
	 * worker's, freed whenever vm is closed. full_crawls_left: after an
	 * incremental crawl went over budget, how many more are full ones.
	 */
	struct kh_crawl *last;
	unsigned int full_crawls_left;
	/*
	 * The module sessions keyholed last made besides its own: for
	 * clients ("ram") and for queries with another technique; worker's.
	 */
	uint64_t handed[NR_HANDED];
	unsigned int nr_handed;
	uint64_t reread_after_ns;	/* no layout re-read before (worker's) */
	/* keyhole.ko's id of that attachment, or 0 (module_events.c). */
	_Atomic uint64_t kmod_session;
	/*
	 * The session of the module's LAYOUT_CHANGED since last read, or
	 * LAYOUT_EVENTS_MANY when more than one session's came.
	 */
	_Atomic uint64_t layout_event;
};

int registry_init(void);
/* Rescans /proc: adds QEMU processes that started, drops those gone. */
void registry_rescan(void);
/* A process exited (its pidfd said so). */
void registry_drop(pid_t pid);
/*
 * The VM spec names, with a reference taken (vm_put() it); NULL if none
 * does, or (*ambiguous > 1) if several do. A pid names its process
 * alone; else a libvirt domain's name or UUID (which libvirt's pid file
 * vouches for); else a -uuid or -name, which any QEMU's owner may choose,
 * so that a name two QEMUs claim is refused, never resolved to either.
 */
struct vm_entry *registry_find(const char *spec, unsigned int *ambiguous);
struct vm_entry *registry_get_pid(pid_t pid);
struct vm_entry *registry_any_on(unsigned int worker);
/* Calls fn for each VM under the RCU read lock (fn must not block). */
void registry_foreach(void (*fn)(struct vm_entry *e, void *arg), void *arg);
unsigned int registry_count(void);
void vm_get(struct vm_entry *e);
void vm_put(struct vm_entry *e);
void registry_exit(void);
/* JSON for the list command, without the probe (no attach). */
json_t *vm_entry_json(const struct vm_entry *e);
/* {"pid", "name"}: how events name a VM (libvirt's name first). */
json_t *vm_entry_ident(const struct vm_entry *e);

/* --- the event loop and the clients (server.c) --- */

int server_run(const struct daemon_config *cfg, int listen_fd);
/* Binds and listens on the socket before the daemon detaches. */
int server_listen(const char *path, int *fd);

struct client;

struct peer {
	struct ucred cred;		/* SO_PEERCRED at connect */
	gid_t groups[64];		/* SO_PEERGROUPS */
	int nr_groups;
};

void client_get(struct client *c);
void client_put(struct client *c);
const struct peer *client_peer(const struct client *c);
/* Queues a message for the client; steals msg. Event loop thread only. */
void client_send(struct client *c, json_t *msg);
/* The same with descriptors (SCM_RIGHTS), which it takes over. */
void client_send_fds(struct client *c, json_t *msg, const int *fds,
		     unsigned int nr_fds);
/* A job of c's is queued; its reply counts it back down (MAX_IN_FLIGHT). */
void client_job_started(struct client *c);
/* Authorization answers remembered for this client (auth.c). */
struct auth_memo *client_auth_memo(struct client *c);
/*
 * Its socket is closed (any thread): a pause it asked for that a worker
 * comes to only now would hold the guest for nobody.
 */
bool client_gone(const struct client *c);

/* The event loop polls each VM's pidfd and drops the VM when it exits. */
/* keyhole.ko's netlink events (module_events.c), on the loop thread. */
struct sd_event;
void module_events_poll(struct sd_event *loop);
void module_events_stop(void);
/* How many sessions keyhole.ko has on QEMU process pid, or -errno. */
int module_sessions_on(pid_t pid);

void server_watch_exit(struct vm_entry *e);
void server_unwatch_exit(struct vm_entry *e);

/* --- authorization (auth.c) --- */

/*
 * Whether the peer could ptrace each of the pids itself: ok[i] for
 * pids[i]. Asks the kernel, as the peer: a child with the peer's uid,
 * gid and groups opens /proc/PID/mem. Root peers may all.
 */
int auth_may_ptrace(const struct peer *peer, const pid_t *pids,
		    unsigned int nr, bool *ok);

/*
 * keyhole.ko's attach for a "ram" session (kh_kmod_attach_t, arg the
 * struct peer): made in a child with the peer's credentials, so that the
 * module checks the client's right to read QEMU's memory, not the
 * daemon's, and the session grants the client nothing it lacks.
 */
struct kh_access;
int auth_kmod_attach(void *arg, int dev, const struct kh_access *acc,
		     uint64_t *session);

#define AUTH_MEMOS 256

/* The last answers for one client, by pid and start time. */
struct auth_memo {
	struct {
		pid_t pid;
		uint64_t start_time;
		bool ok;
	} slot[AUTH_MEMOS];
	unsigned int next;
};

/*
 * auth_may_ptrace() for the VM, remembered per client (by pid and start
 * time, so a reused pid is asked again); _many asks for the VMs not yet
 * known with one child.
 */
bool auth_may_introspect(struct client *c, const struct vm_entry *e);
int auth_may_introspect_many(struct client *c, const pid_t *pids,
			     const uint64_t *start_times, unsigned int nr,
			     bool *ok);

/* --- pause holds (holds.c), each worker's own list --- */

struct hold;
/* 0: paused and held; 1: already held by c, deadline moved; or -errno. */
int hold_pause(struct hold **list, struct vm_entry *e, struct client *c,
	       uint64_t until_ns, struct kh_err *err);
/* Ends c's hold of e (-ENOENT when there is none) and resumes. */
int hold_resume(struct hold **list, struct vm_entry *e, struct client *c,
		struct kh_err *err);
/*
 * Ends the holds past their deadline (expired() is told first) and those
 * of VMs gone; returns the next deadline, 0 when no hold is left.
 */
/* A hold ended by itself: at its deadline (why NULL), or the guest ran. */
typedef void (*hold_ended_fn)(struct client *c, struct vm_entry *e,
			      const char *why);
uint64_t holds_tick(struct hold **list, uint64_t now, bool renew_now,
		    hold_ended_fn ended);
bool holds_on(struct hold *list, const struct vm_entry *e);
void holds_release_client(struct hold **list, const struct client *c);
void holds_release_all(struct hold **list);

/* --- workers (workers.c) --- */

/*
 * A feed: one VM crawled at one rate, whatever the number of clients that
 * subscribed to it (subscriptions.c), so that two clients asking for the
 * same VM at the same rate cause one crawl. Its worker crawls it in
 * deadline order among its VMs' feeds and jobs (workers.c).
 */
struct feed {
	struct vm_entry *vm;		/* referenced */
	uint64_t period_ns;		/* as asked */
	unsigned int crawl_flags;	/* KH_CRAWL_PAUSE */
	atomic_int refs;		/* the loop's, the worker's, outputs' */
	atomic_bool cancelled;		/* no subscriber left: worker drops it */
	atomic_uint wants;		/* FEED_WANTS_*: what to make of a crawl */
	/* The worker's alone. */
	uint64_t actual_ns;		/* slowed down when it cannot keep up */
	uint64_t seq;
	uint64_t took_ns;		/* its last crawl, 0 before the first */
	json_t *prev;			/* last full record, for changes */
	/* The worker's, under its lock: its place in the worker's heap. */
	uint64_t due_ns;		/* next crawl, CLOCK_MONOTONIC */
	uint64_t asked_ns;		/* due_ns before an attach put it off */
	unsigned int heap_index;
	/* The loop's alone. */
	struct subscription **subs;
	unsigned int nr_subs;
	struct feed *next_in_loop;
};

/* Beyond the summary, which is always made (metrics need it). */
#define FEED_WANTS_RECORD	(1u << 0)	/* the full record */
#define FEED_WANTS_CHANGES	(1u << 1)	/* change events */

void feed_put(struct feed *f);

/* A worker's feeds by due_ns (feed_heap.c). */
struct feed_heap {
	struct feed **at;
	unsigned int nr, cap;
};

int feed_heap_reserve(struct feed_heap *h, unsigned int more);
void feed_heap_push(struct feed_heap *h, struct feed *f);
struct feed *feed_heap_top(const struct feed_heap *h);
void feed_heap_remove(struct feed_heap *h, struct feed *f);
/* f's due_ns changed: back to its place. */
void feed_heap_fix(struct feed_heap *h, struct feed *f);
void feed_heap_release(struct feed_heap *h);

struct job {
	struct client *client;		/* referenced; NULL for a feed's */
	struct feed *feed;		/* a feed's crawl output: referenced */
	uint64_t seq;
	double lateness_ms, rate_hz;
	json_t *record, *summary;	/* the crawl, full and as counts */
	json_t *changes;		/* since the feed's last crawl, or NULL */
	json_t *id;			/* the request's, or NULL */
	char *command;
	json_t *args;			/* the query's own arguments */
	struct vm_entry *vm;		/* referenced */
	struct kh_vm_config cfg;	/* technique and layout of the request */
	char *technique, *layout_spec;
	json_t *reply;			/* filled by the worker */
	int fds[2];			/* sent with the reply ("ram") */
	unsigned int nr_fds;
	bool notice;			/* reply is an event of the worker's own */
	bool move;			/* move vm to worker move_to */
	unsigned int move_to;
	struct job *next;
};

int workers_start(const struct daemon_config *cfg);
/* The client went: every worker ends its pause holds. Loop thread. */
void workers_client_gone(struct client *c);
void workers_check_holds(struct vm_entry *e);
/*
 * Starts crawling a new feed on its VM's worker, or -ENOMEM. Event loop
 * thread.
 */
int workers_add_feed(struct feed *f);
/* The feed has no subscriber left: its worker drops it. Any thread. */
void workers_cancel_feed(struct feed *f);
/* Hands the job to its VM's worker. Event loop thread. */
void workers_submit(struct job *job);
/* Finished jobs, for the event loop to send (an eventfd says when). */
int workers_done_fd(void);
struct job *workers_take_done(void);
void job_free(struct job *job);
void workers_stop(void);
void workers_exit(void);
unsigned int workers_count(void);
/* The worker for a new VM: the one with the fewest VMs. */
void workers_assign(struct vm_entry *e);
void workers_release(struct vm_entry *e);
void workers_rebalance(void);

/* --- subscriptions (subscriptions.c), all on the event loop thread --- */

/* {"execute":"watch"}: checks, subscribes, replies. */
void subscriptions_watch(struct client *c, struct kh_proto_request *req);
void subscriptions_unwatch(struct client *c, struct kh_proto_request *req);
/* A feed's crawl output: to every subscriber of the feed. */
void subscriptions_deliver(struct job *job);
/* A VM appeared: subscriptions to every VM (or a pattern) take it. */
void subscriptions_vm_added(struct vm_entry *e);
/* A VM is gone: its subscribers are told, its feeds end. */
void subscriptions_vm_gone(struct vm_entry *e);
/* The client is gone: its subscriptions end. */
void subscriptions_client_gone(struct client *c);

/*
 * Sends a subscription's message: queued like a reply, but at most
 * STREAM_QUEUE of them wait per client, the oldest dropped (and counted)
 * when a new one comes, so that a slow client costs bounded memory and
 * never holds anyone up. Steals msg.
 */
void client_stream(struct client *c, json_t *msg);
/* Subscription messages dropped for the client so far. */
uint64_t client_dropped(const struct client *c);

/* --- commands (commands.c) --- */

/*
 * The VM spec names, if the client may introspect it (a reference);
 * else NULL, the client told why (no such VM, ambiguous, not allowed).
 */
struct vm_entry *resolve_vm(struct client *c, const char *spec,
			    const json_t *id);

/* Answers one request from c; steals nothing. Event loop thread. */
void commands_dispatch(struct client *c, struct kh_proto_request *req);

extern const char *const daemon_capabilities[];

#endif
