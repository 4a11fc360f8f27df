// SPDX-License-Identifier: GPL-2.0-only
/*
 * Atomic pause/resume of a VM's vCPU threads.
 *
 * Each targeted thread gets a task_work queued with TWA_SIGNAL and is
 * kicked. TIF_NOTIFY_SIGNAL makes KVM_RUN leave guest mode and return
 * -EINTR (KVM_EXIT_INTR), interrupts an interruptible sleep, and on the way
 * back to user mode the kernel runs the work, which parks the thread in a
 * killable sleep until the pause is released. QEMU only sees a KVM_RUN or a
 * futex wait that returned EINTR, which it retries: no signal is sent, no
 * ptrace, no SIGSTOP. The exported API has no freeze_task() or
 * wait_task_inactive(), and needs neither.
 *
 * The per-thread works live in a "round", one per pause, refcounted by the
 * session and by every work still queued: a work whose thread is stuck in
 * an uninterruptible sleep (or stopped, or traced) may run long after its
 * pause ended, and then simply returns. A thread never has two works of
 * this module queued, whichever sessions asked (a module-wide table of the
 * works not yet run, by thread): a PAUSE that would queue a second one is
 * EBUSY. So repeated pauses of a thread that never returns to user mode,
 * from one session or from many opened and closed in turn, cannot pile up
 * works or rounds. Each queued work also holds a module reference, because
 * task_work_cancel() is not exported: rmmod waits until every work ran,
 * and the work drops that reference in a tail call (keyhole_park_work()).
 *
 * A thread is parked only while it runs QEMU's attached address space:
 * after an exec of the QEMU process (whose old address space a CLONE_VM
 * sibling may keep alive), its threads belong to another program, which
 * this session was never allowed to stop.
 *
 * A pause never outlives its timeout (capped by pause_timeout_ms), the fd
 * that took it, or the QEMU process: see keyhole_pause_release() and the
 * watchdog below.
 */

#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/task_work.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "fault.h"
#include "memslots.h"
#include "netlink.h"
#include "pause.h"
#include "vm.h"

/* Upper bound of the module parameter: a typo must not freeze a VM. */
#define KEYHOLE_PAUSE_TIMEOUT_MAX_MS	600000U
/* Threads one pause may target: bounds the scans and the allocations. */
#define KEYHOLE_PAUSE_THREADS_MAX	4096U
/* Threads taken per pass over the thread list (an array on the stack). */
#define KEYHOLE_PAUSE_SCAN_BATCH	32

static unsigned int pause_timeout_ms = 2000;

static int keyhole_pause_timeout_set(const char *val,
				     const struct kernel_param *kp)
{
	unsigned int ms;
	int ret;

	ret = kstrtouint(val, 0, &ms);
	if (ret)
		return ret;
	if (!ms || ms > KEYHOLE_PAUSE_TIMEOUT_MAX_MS)
		return -EINVAL;
	WRITE_ONCE(pause_timeout_ms, ms);
	return 0;
}

static const struct kernel_param_ops keyhole_pause_timeout_ops = {
	.set = keyhole_pause_timeout_set,
	.get = param_get_uint,
};
module_param_cb(pause_timeout_ms, &keyhole_pause_timeout_ops,
		&pause_timeout_ms, 0644);
MODULE_PARM_DESC(pause_timeout_ms,
		 "longest a pause may last, in ms (1..600000, default 2000)");

/* One pause: the threads it targeted and the state they wait on. */
struct keyhole_park_round {
	refcount_t ref;			/* the session, the ioctl, each work */
	struct mm_struct *mm;		/* mmgrab()ed: only its threads park */
	bool released;			/* the parked threads may go */
	atomic_t settled;		/* targets whose work ran */
	atomic_t parked;		/* targets asleep in keyhole_park() */
	wait_queue_head_t release_wq;	/* parked threads sleep here */
	wait_queue_head_t settle_wq;	/* the pausing ioctl sleeps here */
	/* Only the pausing ioctl adds; freed with the round. */
	struct list_head targets;
	unsigned int nr_targets;
	bool all_threads;
};

struct keyhole_park_target {
	struct callback_head work;
	struct list_head node;		/* in round->targets */
	struct hlist_node pending;	/* in keyhole_pending until it runs */
	struct task_struct *task;	/* referenced */
	struct keyhole_park_round *round;
};

/*
 * The works queued and not yet run, by thread, whatever their session: a
 * thread gets no second one. A thread stuck outside user mode thus holds
 * at most one work and one round of this module, however often any number
 * of sessions try to pause it.
 */
static DEFINE_SPINLOCK(keyhole_pending_lock);
static DEFINE_HASHTABLE(keyhole_pending, 8);

/* Under keyhole_pending_lock. */
static bool keyhole_pending_has(struct task_struct *task)
{
	struct keyhole_park_target *target;

	hash_for_each_possible(keyhole_pending, target, pending,
			       (unsigned long)task)
		if (target->task == task)
			return true;
	return false;
}

struct keyhole_pause_state {
	struct keyhole_vm *vm;
	struct mutex ioctl_lock;	/* one PAUSE or RESUME at a time */
	struct mutex lock;		/* the fields below */
	struct keyhole_park_round *round;	/* parking or paused */
	u32 depth;
	u32 nr_vcpus;			/* threads parked by the last pause */
	bool dead;			/* fd closing or QEMU gone */
	ktime_t parked_at;
	ktime_t expires;
	/*
	 * The file table of the process that took the pause, or is taking
	 * it: when it closes its fd (.flush), the pause ends, even if a forked
	 * child still has the fd. Compared, never dereferenced.
	 */
	fl_owner_t owner;
	bool flushed;			/* the owner closed it while parking */
	u64 seq;			/* bumped by every PAUSE that worked */
	struct hrtimer watchdog;
	struct work_struct expire_work;	/* the watchdog's sleepable half */
};

static void keyhole_round_put(struct keyhole_park_round *round)
{
	struct keyhole_park_target *target, *next;

	if (!refcount_dec_and_test(&round->ref))
		return;
	list_for_each_entry_safe(target, next, &round->targets, node) {
		put_task_struct(target->task);
		kfree(target);
	}
	mmdrop(round->mm);
	kfree(round);
}

/* Charged to the caller's memory cgroup: the caller asked for them. */
static struct keyhole_park_round *keyhole_round_alloc(struct mm_struct *mm,
						      bool all_threads)
{
	struct keyhole_park_round *round;

	round = keyhole_fail_or(kzalloc(sizeof(*round), GFP_KERNEL_ACCOUNT));
	if (!round)
		return NULL;
	refcount_set(&round->ref, 1);
	mmgrab(mm);
	round->mm = mm;
	atomic_set(&round->settled, 0);
	atomic_set(&round->parked, 0);
	init_waitqueue_head(&round->release_wq);
	init_waitqueue_head(&round->settle_wq);
	INIT_LIST_HEAD(&round->targets);
	round->all_threads = all_threads;
	return round;
}

/* Lets every parked thread go; the pausing ioctl, if waiting, gives up. */
static void keyhole_round_release(struct keyhole_park_round *round)
{
	WRITE_ONCE(round->released, true);
	wake_up_all(&round->release_wq);
	wake_up_all(&round->settle_wq);
}

static void keyhole_round_settle(struct keyhole_park_round *round)
{
	atomic_inc(&round->settled);
	wake_up_all(&round->settle_wq);
}

/*
 * The task_work's body: runs in the targeted thread on its way back to
 * user mode, so the thread is out of guest mode (KVM) or out of
 * translated code (TCG) and holds no lock. It sleeps killable: a fatal
 * signal still lets the thread die, and a thread already dying, or one
 * that now runs another address space (an exec), does not park at all.
 * noinline: keyhole_park_work() must stay a frame-less tail call.
 */
static noinline void keyhole_park(struct callback_head *work)
{
	struct keyhole_park_target *target =
		container_of(work, struct keyhole_park_target, work);
	struct keyhole_park_round *round = target->round;

	spin_lock(&keyhole_pending_lock);
	hash_del(&target->pending);
	spin_unlock(&keyhole_pending_lock);
	if ((current->flags & PF_EXITING) || fatal_signal_pending(current) ||
	    current->mm != round->mm || READ_ONCE(round->released)) {
		keyhole_round_settle(round);
	} else {
		atomic_inc(&round->parked);
		keyhole_round_settle(round);
		wait_event_killable(round->release_wq,
				    READ_ONCE(round->released));
		atomic_dec(&round->parked);
	}
	keyhole_round_put(round);
}

/*
 * The task_work itself. Its queueing took a module reference, which must
 * be dropped last, with no instruction of this module left to run after:
 * rmmod may free the module's text as soon as module_put() returns (after
 * a grace period this function would not be inside). So module_put() is
 * a tail call: its return goes straight back to task_work_run(). The
 * module test harness checks in the built object that it compiled to a
 * jump (tests/kmod/run, lint/tail-call).
 */
static void keyhole_park_work(struct callback_head *work)
{
	keyhole_park(work);
	module_put(THIS_MODULE);
}

/*
 * QEMU names its vCPU threads so with -name ...,debug-threads=on; without
 * it every thread has the program's name. TCG vCPUs are known only so.
 */
static bool keyhole_is_vcpu_comm(const char *comm)
{
	const char *p;

	if (!strcmp(comm, "ALL CPUs/TCG"))
		return true;
	if (strncmp(comm, "CPU ", 4))
		return false;
	p = comm + 4;
	if (!isdigit(*p))
		return false;
	while (isdigit(*p))
		p++;
	return !strcmp(p, "/KVM") || !strcmp(p, "/TCG");
}

/* Under rcu_read_lock(): task_pid() is stable. */
static bool keyhole_is_kvm_vcpu(struct task_struct *task,
				const struct keyhole_kvm_vcpu_pids *vcpus)
{
	struct pid *pid = task_pid(task);
	unsigned int i;

	for (i = 0; vcpus && i < vcpus->nr; i++)
		if (vcpus->pid[i] == pid)
			return true;
	return false;
}

/*
 * Under rcu_read_lock(). A vCPU thread is one QEMU named so, or one that
 * runs a vCPU of its KVM VM (@vcpus, NULL without a KVM VM).
 */
static bool keyhole_park_eligible(struct task_struct *task,
				  struct keyhole_park_round *round,
				  const struct keyhole_kvm_vcpu_pids *vcpus)
{
	char comm[TASK_COMM_LEN];

	/*
	 * io_uring workers never return to user mode; kernel threads are not
	 * QEMU's; a thread that is exiting counts as gone; one that runs
	 * another address space is not the QEMU this session attached to.
	 */
	if (task == current ||
	    (READ_ONCE(task->flags) & (PF_EXITING | PF_KTHREAD | PF_IO_WORKER)) ||
	    READ_ONCE(task->mm) != round->mm)
		return false;
	if (round->all_threads || keyhole_is_kvm_vcpu(task, vcpus))
		return true;
	get_task_comm(comm, task);
	return keyhole_is_vcpu_comm(comm);
}

static bool keyhole_round_has(struct keyhole_park_round *round,
			      struct task_struct *task)
{
	struct keyhole_park_target *target;

	list_for_each_entry(target, &round->targets, node)
		if (target->task == task)
			return true;
	return false;
}

/*
 * Queues the parking work on @task and kicks it; takes over the caller's
 * task reference. Returns 1 when queued, 0 when the thread is already past
 * running task works (it is exiting: gone), -EBUSY when it still has a
 * work of an earlier pause (of any session) to run, or -ENOMEM.
 */
static int keyhole_park_queue(struct keyhole_park_round *round,
			      struct task_struct *task)
{
	struct keyhole_park_target *target;

	target = keyhole_fail_or(kzalloc(sizeof(*target), GFP_KERNEL_ACCOUNT));
	if (!target) {
		put_task_struct(task);
		return -ENOMEM;
	}
	target->task = task;
	target->round = round;
	init_task_work(&target->work, keyhole_park_work);
	/* In the table before it can run, which takes it out again. */
	spin_lock(&keyhole_pending_lock);
	if (keyhole_pending_has(task)) {
		spin_unlock(&keyhole_pending_lock);
		put_task_struct(task);
		kfree(target);
		return -EBUSY;
	}
	hash_add(keyhole_pending, &target->pending, (unsigned long)task);
	spin_unlock(&keyhole_pending_lock);
	refcount_inc(&round->ref);
	__module_get(THIS_MODULE);
	if (task_work_add(task, &target->work, TWA_SIGNAL)) {
		spin_lock(&keyhole_pending_lock);
		hash_del(&target->pending);
		spin_unlock(&keyhole_pending_lock);
		module_put(THIS_MODULE);
		refcount_dec(&round->ref);	/* the caller holds another */
		put_task_struct(task);
		kfree(target);
		return 0;
	}
	list_add_tail(&target->node, &round->targets);
	WRITE_ONCE(round->nr_targets, round->nr_targets + 1);
	/* TWA_SIGNAL kicked it already unless TIF_NOTIFY_SIGNAL was set. */
	kick_process(task);
	return 1;
}

/*
 * One pass over the process's threads: queues a work on every eligible
 * thread not yet targeted. Returns how many were queued, or -errno.
 */
static int keyhole_park_scan(struct keyhole_park_round *round,
			     struct task_struct *leader,
			     const struct keyhole_kvm_vcpu_pids *vcpus)
{
	struct task_struct *found[KEYHOLE_PAUSE_SCAN_BATCH];
	struct task_struct *task;
	int nr, i, ret, queued = 0;
	bool more;

	do {
		/* Ended meanwhile (QEMU exit, watchdog, close): queue no more. */
		if (READ_ONCE(round->released))
			return queued;
		nr = 0;
		more = false;
		rcu_read_lock();
		for_each_thread(leader, task) {
			if (!keyhole_park_eligible(task, round, vcpus) ||
			    keyhole_round_has(round, task))
				continue;
			if (nr == KEYHOLE_PAUSE_SCAN_BATCH) {
				more = true;
				break;
			}
			get_task_struct(task);
			found[nr++] = task;
		}
		rcu_read_unlock();

		if (round->nr_targets + nr > KEYHOLE_PAUSE_THREADS_MAX) {
			i = 0;
			ret = -ERANGE;
			goto err_put;
		}
		for (i = 0; i < nr; i++) {
			ret = keyhole_park_queue(round, found[i]);
			if (ret < 0) {
				i++;
				goto err_put;
			}
			queued += ret;
		}
	} while (more);
	return queued;

err_put:
	for (; i < nr; i++)
		put_task_struct(found[i]);
	return ret;
}

static bool keyhole_round_settled(struct keyhole_park_round *round)
{
	return READ_ONCE(round->released) ||
	       atomic_read(&round->settled) >= round->nr_targets;
}

/*
 * The threads of QEMU's KVM VM's vCPUs, for a vCPU-only pause: NULL when
 * there is no KVM VM (TCG), so that vCPUs are known by name only.
 */
static struct keyhole_kvm_vcpu_pids *
keyhole_park_kvm_vcpus(struct keyhole_vm *vm, bool all_threads)
{
	struct keyhole_kvm_vcpu_pids *vcpus;

	if (all_threads)
		return NULL;
	/* More vCPUs than threads a pause may park would be ERANGE anyway. */
	vcpus = keyhole_kvm_vcpu_pids(vm, KEYHOLE_PAUSE_THREADS_MAX);
	if (PTR_ERR_OR_ZERO(vcpus) == -ENOENT)
		return NULL;
	return vcpus;
}

/*
 * Parks the process's threads into @round and waits until each one is
 * parked or gone, rescanning for threads created meanwhile. Bounded by
 * @deadline; a signal to the caller ends it.
 */
static int keyhole_park_threads(struct keyhole_vm *vm,
				struct keyhole_park_round *round,
				ktime_t deadline)
{
	struct keyhole_kvm_vcpu_pids *vcpus;
	struct task_struct *leader;
	s64 left_ns;
	long left;
	int ret;

	/*
	 * Once per pause: a vCPU whose thread first enters KVM_RUN after
	 * this (hot-added meanwhile, or QEMU -S never continued) is known
	 * by its name only.
	 */
	vcpus = keyhole_park_kvm_vcpus(vm, round->all_threads);
	if (IS_ERR(vcpus))
		return PTR_ERR(vcpus) == -E2BIG ? -ERANGE : PTR_ERR(vcpus);
	leader = get_pid_task(vm->pid, PIDTYPE_TGID);
	/*
	 * Gone, or exec'd: the process is no longer the attached QEMU. (A
	 * leader that left with pthread_exit() has no mm, its process
	 * lives on: its threads are checked one by one.)
	 */
	if (!leader || (READ_ONCE(leader->mm) &&
			READ_ONCE(leader->mm) != round->mm)) {
		if (leader)
			put_task_struct(leader);
		keyhole_kvm_vcpu_pids_put(vcpus);
		return -ESRCH;
	}
	for (;;) {
		ret = keyhole_park_scan(round, leader, vcpus);
		if (ret < 0)
			break;
		if (READ_ONCE(round->released)) {
			ret = -ESRCH;
			break;
		}
		if (!round->nr_targets) {
			ret = (leader->signal->flags & SIGNAL_GROUP_EXIT) ||
			      (READ_ONCE(leader->mm) &&
			       READ_ONCE(leader->mm) != round->mm) ?
			      -ESRCH : -ENOENT;
			break;
		}
		/* Done when a scan after everyone settled finds no one new. */
		if (!ret && keyhole_round_settled(round)) {
			ret = atomic_read(&round->parked) ? 0 : -ESRCH;
			break;
		}
		left_ns = ktime_to_ns(ktime_sub(deadline, ktime_get()));
		if (left_ns <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		left = nsecs_to_jiffies(left_ns) + 1;
		left = wait_event_interruptible_timeout(round->settle_wq,
							keyhole_round_settled(round),
							left);
		if (left < 0) {
			ret = -EINTR;
			break;
		}
		if (!left && !keyhole_round_settled(round)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	put_task_struct(leader);
	keyhole_kvm_vcpu_pids_put(vcpus);
	return ret;
}

/* Under ps->lock. Ends the pause or the parking in progress. */
static u64 keyhole_pause_end(struct keyhole_pause_state *ps)
{
	struct keyhole_park_round *round = ps->round;
	u64 paused_ns = 0;

	if (!round)
		return 0;
	if (ps->depth)
		paused_ns = ktime_to_ns(ktime_sub(ktime_get(), ps->parked_at));
	ps->round = NULL;
	ps->depth = 0;
	ps->seq++;
	/* The timer's handler only queues work: no lock, no deadlock. */
	hrtimer_cancel(&ps->watchdog);
	/* Works not run yet keep the round alive until they run. */
	keyhole_round_release(round);
	keyhole_round_put(round);
	return paused_ns;
}

static enum hrtimer_restart keyhole_pause_watchdog(struct hrtimer *timer)
{
	struct keyhole_pause_state *ps =
		container_of(timer, struct keyhole_pause_state, watchdog);

	/* Hard or soft irq context: netlink and the mutex need a sleeper. */
	schedule_work(&ps->expire_work);
	return HRTIMER_NORESTART;
}

static void keyhole_pause_expire(struct work_struct *work)
{
	struct keyhole_pause_state *ps =
		container_of(work, struct keyhole_pause_state, expire_work);
	u64 paused_ns;

	mutex_lock(&ps->lock);
	/* A RESUME, a new pause or an extension may have come first. */
	if (!ps->depth || ktime_before(ktime_get(), ps->expires)) {
		mutex_unlock(&ps->lock);
		return;
	}
	paused_ns = keyhole_pause_end(ps);
	mutex_unlock(&ps->lock);
	pr_debug("session %llu: pause timed out after %llu ns\n",
		 ps->vm->session_id, paused_ns);
	keyhole_netlink_pause_ended(ps->vm, KEYHOLE_PAUSE_END_TIMEOUT,
				    paused_ns);
}

static void keyhole_pause_arm(struct keyhole_pause_state *ps, ktime_t expires)
{
	ps->expires = expires;
	hrtimer_start(&ps->watchdog, expires, HRTIMER_MODE_ABS);
}

int keyhole_pause_create(struct keyhole_vm *vm)
{
	struct keyhole_pause_state *ps;

	ps = keyhole_fail_or(kzalloc(sizeof(*ps), GFP_KERNEL));
	if (!ps)
		return -ENOMEM;
	ps->vm = vm;
	mutex_init(&ps->ioctl_lock);
	mutex_init(&ps->lock);
	hrtimer_init(&ps->watchdog, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	ps->watchdog.function = keyhole_pause_watchdog;
	INIT_WORK(&ps->expire_work, keyhole_pause_expire);
	vm->pause = ps;
	return 0;
}

void keyhole_pause_destroy(struct keyhole_vm *vm)
{
	struct keyhole_pause_state *ps = vm->pause;

	if (!ps)
		return;
	/* Normally done by keyhole_pause_release(); never leave a VM parked. */
	mutex_lock(&ps->lock);
	ps->dead = true;
	keyhole_pause_end(ps);
	mutex_unlock(&ps->lock);
	hrtimer_cancel(&ps->watchdog);
	cancel_work_sync(&ps->expire_work);
	mutex_destroy(&ps->lock);
	mutex_destroy(&ps->ioctl_lock);
	kfree(ps);
	vm->pause = NULL;
}

void keyhole_pause_release(struct keyhole_vm *vm, enum keyhole_pause_end why)
{
	struct keyhole_pause_state *ps = vm->pause;
	bool was_paused;
	u64 paused_ns;

	if (!ps)
		return;
	mutex_lock(&ps->lock);
	ps->dead = true;
	was_paused = ps->depth;
	paused_ns = keyhole_pause_end(ps);
	mutex_unlock(&ps->lock);
	if (was_paused)
		keyhole_netlink_pause_ended(vm, why, paused_ns);
}

void keyhole_pause_flush(struct keyhole_vm *vm, fl_owner_t id)
{
	struct keyhole_pause_state *ps = vm->pause;
	u64 paused_ns;
	u32 was_paused;

	if (!ps)
		return;
	mutex_lock(&ps->lock);
	if (!ps->round || ps->owner != id) {
		mutex_unlock(&ps->lock);
		return;
	}
	was_paused = ps->depth;
	/* still parking: the PAUSE call ends in EBADF */
	ps->flushed = !was_paused;
	paused_ns = keyhole_pause_end(ps);
	mutex_unlock(&ps->lock);
	if (was_paused)
		keyhole_netlink_pause_ended(vm, KEYHOLE_PAUSE_END_CLOSED,
					    paused_ns);
}

static u32 keyhole_pause_timeout(u32 asked_ms)
{
	u32 cap = READ_ONCE(pause_timeout_ms);

	return asked_ms ? min(asked_ms, cap) : cap;
}

/* A pause while this fd already holds one: count it, extend the watchdog. */
static int keyhole_pause_nested(struct keyhole_pause_state *ps,
				struct keyhole_pause *arg, ktime_t expires)
{
	struct keyhole_park_round *round = ps->round;
	bool widen = (arg->flags & KEYHOLE_PAUSE_ALL_THREADS) &&
		     !round->all_threads;
	int ret = 0;

	if (ps->depth >= KEYHOLE_PAUSE_DEPTH_MAX)
		return -EOVERFLOW;
	if (widen) {
		/*
		 * Park the other threads too, into the same round. On failure
		 * those that parked stay parked until the outer pause ends,
		 * which is bounded by its watchdog.
		 */
		refcount_inc(&round->ref);
		round->all_threads = true;
		mutex_unlock(&ps->lock);
		ret = keyhole_park_threads(ps->vm, round, expires);
		mutex_lock(&ps->lock);
		if (ps->round != round)		/* ended meanwhile */
			ret = ps->dead ? -ESRCH : -ETIMEDOUT;
		else if (ret)			/* a later widening retries */
			round->all_threads = false;
		keyhole_round_put(round);
		if (ret)
			return ret;
		ps->nr_vcpus = atomic_read(&round->parked);
	}
	ps->depth++;
	if (ktime_after(expires, ps->expires))
		keyhole_pause_arm(ps, expires);
	arg->nr_threads = atomic_read(&round->parked);
	arg->depth = ps->depth;
	arg->park_ns = 0;
	return 0;
}

static int keyhole_pause_fresh(struct keyhole_pause_state *ps,
			       struct keyhole_pause *arg, u32 timeout_ms)
{
	struct keyhole_park_round *round;
	ktime_t start, now;
	int ret;

	round = keyhole_round_alloc(ps->vm->mm,
				    arg->flags & KEYHOLE_PAUSE_ALL_THREADS);
	if (!round)
		return -ENOMEM;
	refcount_inc(&round->ref);	/* ps->round's */
	ps->round = round;
	/* From now on: the caller closing its fd ends even the parking. */
	ps->owner = current->files;
	ps->flushed = false;
	mutex_unlock(&ps->lock);

	/* Not under ps->lock: QEMU exiting must be able to end the parking. */
	start = ktime_get();
	ret = keyhole_park_threads(ps->vm, round,
				   ktime_add_ms(start, timeout_ms));
	now = ktime_get();

	mutex_lock(&ps->lock);
	if (ps->round != round) {
		/* keyhole_pause_release() or keyhole_pause_flush() came first */
		ret = ps->flushed ? -EBADF : -ESRCH;
	} else if (ret) {
		keyhole_pause_end(ps);
	} else {
		ps->depth = 1;
		ps->parked_at = now;
		ps->nr_vcpus = atomic_read(&round->parked);
		keyhole_pause_arm(ps, ktime_add_ms(now, timeout_ms));
		atomic64_inc(&ps->vm->pauses);
		arg->nr_threads = ps->nr_vcpus;
		arg->depth = 1;
		arg->park_ns = ktime_to_ns(ktime_sub(now, start));
	}
	keyhole_round_put(round);	/* ours */
	return ret;
}

int keyhole_pause_ioctl(struct keyhole_vm *vm, struct keyhole_pause *arg,
			u64 *seq)
{
	struct keyhole_pause_state *ps = vm->pause;
	u32 timeout_ms;
	int ret;

	if ((arg->flags & ~KEYHOLE_PAUSE_ALL_THREADS) || arg->reserved)
		return -EINVAL;
	if (!ps || READ_ONCE(vm->exited))
		return -ESRCH;
	timeout_ms = keyhole_pause_timeout(arg->timeout_ms);

	mutex_lock(&ps->ioctl_lock);
	mutex_lock(&ps->lock);
	if (ps->dead)
		ret = -ESRCH;
	else if (ps->depth)
		ret = keyhole_pause_nested(ps, arg,
					   ktime_add_ms(ktime_get(), timeout_ms));
	else
		ret = keyhole_pause_fresh(ps, arg, timeout_ms);
	if (!ret)
		*seq = ++ps->seq;
	mutex_unlock(&ps->lock);
	mutex_unlock(&ps->ioctl_lock);
	return ret;
}

int keyhole_resume_ioctl(struct keyhole_vm *vm, struct keyhole_resume *arg)
{
	struct keyhole_pause_state *ps = vm->pause;
	int ret = 0;

	if (arg->flags || arg->reserved)
		return -EINVAL;
	if (READ_ONCE(vm->exited))
		return -ESRCH;
	if (!ps)
		return -EALREADY;

	mutex_lock(&ps->ioctl_lock);
	mutex_lock(&ps->lock);
	if (!ps->depth) {
		/* Never paused, resumed already, or ended by the module. */
		ret = -EALREADY;
	} else if (ps->depth > 1) {
		ps->depth--;
		ps->seq++;
		arg->depth = ps->depth;
		arg->paused_ns = 0;
	} else {
		arg->paused_ns = keyhole_pause_end(ps);
		arg->depth = 0;
	}
	mutex_unlock(&ps->lock);
	mutex_unlock(&ps->ioctl_lock);
	return ret;
}

/*
 * Only if nothing happened to the pause since that PAUSE (seq): another
 * thread may have resumed it and paused anew, and its pause is not ours
 * to undo. (A nested pause's later watchdog stays: it only ever ends a
 * pause later, within the cap.)
 */
void keyhole_pause_undo(struct keyhole_vm *vm, u64 seq)
{
	struct keyhole_pause_state *ps = vm->pause;

	mutex_lock(&ps->ioctl_lock);
	mutex_lock(&ps->lock);
	if (ps->seq == seq && ps->depth > 1) {
		ps->depth--;
		ps->seq++;
	} else if (ps->seq == seq && ps->depth) {
		keyhole_pause_end(ps);
	}
	mutex_unlock(&ps->lock);
	mutex_unlock(&ps->ioctl_lock);
}

u32 keyhole_pause_depth(struct keyhole_vm *vm)
{
	struct keyhole_pause_state *ps = vm->pause;

	return ps ? READ_ONCE(ps->depth) : 0;
}

u32 keyhole_pause_nr_vcpus(struct keyhole_vm *vm)
{
	struct keyhole_pause_state *ps = vm->pause;

	return ps ? READ_ONCE(ps->nr_vcpus) : 0;
}
