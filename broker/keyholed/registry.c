// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM registry: every QEMU process on the host, in an RCU hash table
 * (liburcu's cds_lfht) keyed by pid, so that the event loop and every
 * worker look VMs up without taking a lock, while only the event loop
 * adds and removes them.
 *
 * A VM is found by a rescan of /proc (kh_qemu_discover(), the same code as
 * `keyhole list`) at start and every RESCAN_MS, and its exit is seen at
 * once through a pidfd, which the event loop polls: the kernel says when
 * the process is gone, so no VM outlives its QEMU for more than one turn
 * of the loop, and a new QEMU waits at most RESCAN_MS to be seen. (The
 * proc connector would see starts at once too, but it needs
 * CAP_NET_ADMIN and sends every fork and exec on the host to the daemon,
 * thousands a second on a busy host, to find one QEMU a minute.)
 *
 * A pid is an identity only with the process's start time: a pid the
 * kernel gave a new process is a new VM.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "keyholed.h"
#include "qemu/discover.h"
#include "metrics.h"

static struct cds_lfht *table;
static atomic_uint nr_vms;
/* Rescans so far: an entry a rescan did not see is gone (loop thread). */
static unsigned long scan;

static unsigned long pid_hash(pid_t pid)
{
	/* Fibonacci hashing: pids are dense, the table's buckets are not. */
	return (unsigned long)pid * 0x9E3779B97F4A7C15ul;
}

static int match_pid(struct cds_lfht_node *node, const void *key)
{
	const struct vm_entry *e = caa_container_of(node, struct vm_entry,
						    node);

	return e->id.pid == *(const pid_t *)key;
}

int registry_init(void)
{
	table = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE, NULL);
	return table ? 0 : -ENOMEM;
}

void vm_get(struct vm_entry *e)
{
	atomic_fetch_add(&e->refs, 1);
}

static void free_entry(struct rcu_head *head)
{
	struct vm_entry *e = caa_container_of(head, struct vm_entry, rcu);

	/* Closing resumes a VM the daemon left paused (kh_vm_close()). */
	if (e->vm)
		kh_vm_close(e->vm);
	kh_crawl_free(e->last);
	free(e);
}

void vm_put(struct vm_entry *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1)
		call_rcu(&e->rcu, free_entry);
}

/* A reference to the entry of pid, or NULL. */
static struct vm_entry *lookup_pid(pid_t pid)
{
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	struct vm_entry *e = NULL;

	rcu_read_lock();
	cds_lfht_lookup(table, pid_hash(pid), match_pid, &pid, &iter);
	node = cds_lfht_iter_get_node(&iter);
	if (node) {
		e = caa_container_of(node, struct vm_entry, node);
		/* Taken while the table still holds it: refs is not 0. */
		vm_get(e);
	}
	rcu_read_unlock();
	return e;
}

static void remove_entry(struct vm_entry *e)
{
	if (cds_lfht_del(table, &e->node))
		return;		/* someone else removed it */
	e->gone = true;
	atomic_fetch_sub(&nr_vms, 1);
	subscriptions_vm_gone(e);
	metrics_vm_gone(e->id.pid);
	workers_release(e);
	server_unwatch_exit(e);
	vm_put(e);
}

static void add_proc(const struct kh_qemu_proc *proc)
{
	struct vm_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return;
	e->id = *proc;
	e->seen = e->found = scan;
	atomic_init(&e->refs, 1);
	e->pidfd = syscall(SYS_pidfd_open, proc->pid, 0);
	if (e->pidfd < 0) {
		free(e);	/* exited since the scan */
		return;
	}
	workers_assign(e);
	cds_lfht_node_init(&e->node);
	rcu_read_lock();
	cds_lfht_add(table, pid_hash(proc->pid), &e->node);
	rcu_read_unlock();
	atomic_fetch_add(&nr_vms, 1);
	server_watch_exit(e);
	subscriptions_vm_added(e);
}

struct vm_entry *registry_get_pid(pid_t pid)
{
	return lookup_pid(pid);
}

void registry_drop(pid_t pid)
{
	struct vm_entry *e = lookup_pid(pid);

	if (!e)
		return;
	rcu_read_lock();
	remove_entry(e);
	rcu_read_unlock();
	vm_put(e);
	workers_rebalance();
}

/* A reference to some VM of worker's, or NULL. */
struct vm_entry *registry_any_on(unsigned int worker)
{
	struct cds_lfht_iter iter;
	struct vm_entry *e, *found = NULL;

	rcu_read_lock();
	cds_lfht_for_each_entry(table, &iter, e, node) {
		if (!e->gone && atomic_load(&e->worker) == worker) {
			vm_get(e);
			found = e;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/*
 * libvirt writes a domain's pid file only once its QEMU runs: a QEMU
 * found before that would stay unbound to its domain for good. One that
 * looks like libvirt's (a -uuid, and its monitor passed as an fd, so no
 * socket on its argv) is read again at each rescan for its first
 * minute, until its domain is known.
 */
#define BIND_SCANS	60

static bool unbound(const struct vm_entry *e)
{
	return !e->id.libvirt_name[0] && e->id.uuid[0] && !e->id.qmp_path[0] &&
	       scan - e->found < BIND_SCANS;
}

/*
 * The process is one the registry holds: marked seen, not read again.
 * pid is a VM listed before with a pidfd, whose exit the loop watches
 * (server_watch_exit): until it drops the VM, the pid is the same
 * process, or one that reused it after the exit, which the rescan after
 * the drop finds. Not even a poll of the pidfd: with a thousand VMs,
 * those were a third of a rescan.
 */
static int known(pid_t pid, void *priv)
{
	struct vm_entry *e = lookup_pid(pid);
	int same;

	/* Without a pidfd (its exit watch failed): read again, as new. */
	same = e && e->pidfd >= 0;

	if (same)
		e->seen = scan;
	if (same && unbound(e))
		same = 0;	/* alive, read again: it may be bound now */
	if (e)
		vm_put(e);
	return same;
}

/*
 * Only processes new since the last rescan are read whole (exe, status,
 * command line, libvirt's pid file): with hundreds of QEMUs, reading
 * them all every second would hold the loop thread for tens of ms.
 */
void registry_rescan(void)
{
	struct kh_err err = { 0 };
	struct kh_qemu_proc *procs;
	struct cds_lfht_iter iter;
	struct vm_entry *e;
	unsigned int nr, i;

	scan++;
	if (kh_qemu_discover_known(&procs, &nr, known, NULL, &err)) {
		fprintf(stderr, "keyholed: rescan: %s\n", err.msg);
		return;
	}
	/* Gone, or the pid is another process now. */
	rcu_read_lock();
	cds_lfht_for_each_entry(table, &iter, e, node)
		if (e->seen != scan)
			remove_entry(e);
	rcu_read_unlock();
	workers_rebalance();
	for (i = 0; i < nr; i++) {
		e = lookup_pid(procs[i].pid);
		/*
		 * Bound to its libvirt domain since it was found: the VM
		 * goes and comes back under that name (its subscribers see
		 * it leave and return), rather than change name under them.
		 */
		if (e && e->id.start_time == procs[i].start_time &&
		    !e->id.libvirt_name[0] && procs[i].libvirt_name[0]) {
			remove_entry(e);
			vm_put(e);
			add_proc(&procs[i]);
		} else if (e) {
			vm_put(e);	/* the same, or exited and reused */
		} else {
			add_proc(&procs[i]);
		}
	}
	free(procs);
}

enum { NAMED_NOT, NAMED_BY_NAME, NAMED_BY_LIBVIRT, NAMED_BY_PID };

/* How strongly spec names the VM (NAMED_*). */
static int names(const struct vm_entry *e, const char *spec)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)e->id.pid);
	if (!strcmp(spec, pid))
		return NAMED_BY_PID;
	if ((e->id.libvirt_name[0] && !strcmp(spec, e->id.libvirt_name)) ||
	    (e->id.libvirt_uuid[0] && !strcasecmp(spec, e->id.libvirt_uuid)))
		return NAMED_BY_LIBVIRT;
	if ((e->id.name[0] && !strcmp(spec, e->id.name)) ||
	    (e->id.uuid[0] && !strcasecmp(spec, e->id.uuid)))
		return NAMED_BY_NAME;
	return NAMED_NOT;
}

/*
 * The entry of a pid spelled as names() spells it, found through the
 * table's key: a pid names a VM more strongly than anything else, and
 * only one, so no scan of every VM for each request is needed.
 */
static struct vm_entry *find_by_pid(const char *spec)
{
	struct vm_entry *e;
	char *end, again[16];
	long pid;

	if (*spec < '1' || *spec > '9')
		return NULL;
	errno = 0;
	pid = strtol(spec, &end, 10);
	if (*end || errno || pid > INT_MAX)
		return NULL;
	snprintf(again, sizeof(again), "%ld", pid);
	if (strcmp(again, spec))
		return NULL;
	e = lookup_pid((pid_t)pid);
	if (e && e->gone) {
		vm_put(e);
		return NULL;
	}
	return e;
}

struct vm_entry *registry_find(const char *spec, unsigned int *ambiguous)
{
	struct vm_entry *e, *best = NULL;
	struct cds_lfht_iter iter;
	int strength = NAMED_NOT, how;
	unsigned int count = 0;

	best = find_by_pid(spec);
	if (best) {
		*ambiguous = 1;
		return best;
	}
	rcu_read_lock();
	cds_lfht_for_each_entry(table, &iter, e, node) {
		if (e->gone)
			continue;
		how = names(e, spec);
		if (how > strength) {
			best = e;
			strength = how;
			count = 1;
		} else if (how && how == strength) {
			count++;
		}
	}
	if (best && count == 1)
		vm_get(best);
	else
		best = NULL;
	rcu_read_unlock();
	*ambiguous = count;
	return best;
}

void registry_foreach(void (*fn)(struct vm_entry *e, void *arg), void *arg)
{
	struct cds_lfht_iter iter;
	struct vm_entry *e;

	rcu_read_lock();
	cds_lfht_for_each_entry(table, &iter, e, node)
		fn(e, arg);
	rcu_read_unlock();
}

unsigned int registry_count(void)
{
	return atomic_load(&nr_vms);
}

void registry_exit(void)
{
	struct cds_lfht_iter iter;
	struct vm_entry *e;

	rcu_read_lock();
	cds_lfht_for_each_entry(table, &iter, e, node)
		remove_entry(e);
	rcu_read_unlock();
	/* Every free_entry() has run, so every VM is resumed and closed. */
	rcu_barrier();
	cds_lfht_destroy(table, NULL);
	table = NULL;
}

json_t *vm_entry_ident(const struct vm_entry *e)
{
	return json_pack("{s:i, s:s}", "pid", (int)e->id.pid, "name",
			 e->id.libvirt_name[0] ? e->id.libvirt_name :
			 e->id.name);
}

json_t *vm_entry_json(const struct vm_entry *e)
{
	/* The encoder of `keyhole list --json`, so both say the same. */
	json_t *list = kh_json_qemu_procs(&e->id, 1);
	json_t *row = json_incref(json_array_get(list, 0));

	json_decref(list);
	return row;
}
