// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "ptrace" (class VI, guest-halting reads): every thread
 * of QEMU is stopped with PTRACE_SEIZE + PTRACE_INTERRUPT around each
 * public operation, guest RAM is read with process_vm_readv while they
 * are stopped, and PTRACE_DETACH lets them go. QEMU sees nothing but the
 * stop time: no signal is sent to it (SEIZE, unlike ATTACH, needs no
 * SIGSTOP) and a signal that arrives while a thread is stopped is handed
 * back to it on detach.
 *
 * ptrace belongs to a thread, not a process: only the thread that seized
 * QEMU's threads may wait for and detach them. The engine calls pause,
 * the reads and resume of one operation from the calling thread; the
 * mutex serialises handles shared by threads, and resume from any other
 * thread is refused with a clear error rather than silently failing.
 * Should the tracer thread or the whole program die (SIGINT, a crash),
 * the kernel detaches every tracee and QEMU simply runs on.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access/technique.h"

#define MAX_THREADS	4096	/* QEMU with more threads than this is refused */
#define MAX_PASSES	32	/* /proc/PID/task re-reads until no new thread */
#define STOP_WAIT_NS	(2 * 1000000000ull)	/* per thread, then give up */

struct traced {
	pid_t tid;
	int stopped;		/* in a ptrace stop: can be detached */
	int signal;		/* caught while stopped: re-inject on detach */
};

struct ptrace_state {
	pthread_mutex_t lock;
	pid_t tracer;		/* thread that seized, or 0 when not paused */
	struct traced *threads;
	unsigned int nr;
	uint64_t stop_start_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static struct traced *find_thread(struct ptrace_state *ps, pid_t tid)
{
	unsigned int i;

	for (i = 0; i < ps->nr; i++)
		if (ps->threads[i].tid == tid)
			return &ps->threads[i];
	return NULL;
}

/* Who traces tid already (TracerPid in its status), for the error. */
static int tracer_of(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	int tracer = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
		 (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

/*
 * Waits (bounded) until t is in a ptrace stop. A signal-delivery stop
 * counts too: the signal is kept for detach. Returns 0, -ESRCH when the
 * thread exited, -ETIMEDOUT.
 */
static int wait_stopped(struct traced *t)
{
	uint64_t deadline = now_ns() + STOP_WAIT_NS;
	int status, spins = 0;
	pid_t r;

	for (;;) {
		r = waitpid(t->tid, &status, __WALL | WNOHANG);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -ESRCH;	/* ECHILD: not ours any more */
		if (r == t->tid) {
			if (WIFEXITED(status) || WIFSIGNALED(status))
				return -ESRCH;
			if (WIFSTOPPED(status)) {
				int sig = WSTOPSIG(status);

				/* status >> 16 set: our PTRACE_EVENT_STOP. */
				if (!(status >> 16) && sig != SIGTRAP &&
				    sig != SIGSTOP)
					t->signal = sig;
				t->stopped = 1;
				return 0;
			}
			continue;
		}
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		/* Stops take 0.1-2 ms: spin briefly, then sleep. */
		if (++spins > 100) {
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
		}
	}
}

static void detach_one(struct traced *t)
{
	if (!t->stopped) {
		/*
		 * Seized but not yet stopped: stop it, or it cannot be
		 * detached and would stay ours until our thread exits.
		 */
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) || wait_stopped(t))
			return;
	}
	ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->signal);
	t->stopped = 0;
}

/* Lets every seized thread go; safe after a half-done pause. */
static void detach_all(struct kh_access *acc, struct ptrace_state *ps)
{
	unsigned int i;

	for (i = 0; i < ps->nr; i++)
		detach_one(&ps->threads[i]);
	if (ps->nr)
		atomic_fetch_add_explicit(&acc->halted_ns,
					  now_ns() - ps->stop_start_ns,
					  memory_order_relaxed);
	ps->nr = 0;
	ps->tracer = 0;
}

/*
 * One pass over /proc/PID/task: seizes and stops every thread not yet
 * ours. Sets *added to how many were new.
 */
static int seize_pass(struct kh_access *acc, struct ptrace_state *ps,
		      unsigned int *added, struct kh_err *err)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	*added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)acc->pid);
	dir = opendir(path);
	if (!dir)
		return kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				  (int)acc->pid);
	while (!ret && (de = readdir(dir))) {
		struct traced *t;
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0 || find_thread(ps, tid))
			continue;
		if (ps->nr >= MAX_THREADS) {
			ret = kh_err_set(err, E2BIG,
					 "QEMU pid %d has more than %d threads",
					 (int)acc->pid, MAX_THREADS);
			break;
		}
		if (ptrace(PTRACE_SEIZE, (pid_t)tid, 0, 0)) {
			if (errno == ESRCH)
				continue;	/* exited since the listing */
			if (errno == EPERM && tracer_of(acc->pid, tid))
				ret = kh_err_set(err, EBUSY,
						 "QEMU thread %ld is already traced by pid %d (a debugger?): ptrace cannot stop it",
						 tid, tracer_of(acc->pid, tid));
			else
				ret = kh_err_set(err, errno,
						 "cannot ptrace QEMU thread %ld: %s%s",
						 tid, strerror(errno),
						 errno == EPERM ? " (need ptrace access, e.g. root, and kernel.yama.ptrace_scope < 3)" : "");
			break;
		}
		t = &ps->threads[ps->nr++];
		*t = (struct traced){ .tid = tid };
		if (!ps->stop_start_ns)
			ps->stop_start_ns = now_ns();
		(*added)++;
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0)) {
			ps->nr--;	/* gone between SEIZE and INTERRUPT */
			ptrace(PTRACE_DETACH, t->tid, 0, 0);
			continue;
		}
		ret = wait_stopped(t);
		if (ret == -ESRCH) {
			ps->nr--;	/* exited: nothing to detach */
			ret = 0;
		} else if (ret) {
			ret = kh_err_set(err, ETIMEDOUT,
					 "QEMU thread %d did not stop within %llu ms of PTRACE_INTERRUPT",
					 (int)t->tid, STOP_WAIT_NS / 1000000);
		}
	}
	closedir(dir);
	return ret;
}

static int do_pause(struct kh_access *acc, struct ptrace_state *ps,
		    struct kh_err *err)
{
	unsigned int pass, added = 0;
	int ret = 0;

	ps->tracer = my_tid();
	ps->stop_start_ns = 0;
	/*
	 * A thread may spawn another before it is stopped: list again
	 * until a pass finds nothing new.
	 */
	for (pass = 0; pass < MAX_PASSES; pass++) {
		ret = seize_pass(acc, ps, &added, err);
		if (ret || !added)
			break;
	}
	if (!ret && added)
		ret = kh_err_set(err, EAGAIN,
				 "QEMU pid %d kept creating threads through %d passes over /proc/%d/task",
				 (int)acc->pid, MAX_PASSES, (int)acc->pid);
	if (!ret && !ps->nr)
		ret = kh_err_set(err, ESRCH, "QEMU pid %d has exited",
				 (int)acc->pid);
	if (ret)
		detach_all(acc, ps);
	return ret;
}

static int ptrace_pause(struct kh_access *acc, struct kh_err *err)
{
	struct ptrace_state *ps = acc->priv;
	int ret = 0;

	pthread_mutex_lock(&ps->lock);
	if (!ps->tracer)
		ret = do_pause(acc, ps, err);
	else if (ps->tracer != my_tid())
		ret = kh_err_set(err, EBUSY,
				 "QEMU pid %d is already stopped by thread %d of this program",
				 (int)acc->pid, (int)ps->tracer);
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

static int ptrace_resume(struct kh_access *acc, struct kh_err *err)
{
	struct ptrace_state *ps = acc->priv;
	int ret = 0;

	pthread_mutex_lock(&ps->lock);
	if (ps->tracer && ps->tracer != my_tid())
		ret = kh_err_set(err, EPERM,
				 "QEMU pid %d was stopped by thread %d: only that thread can let it go (ptrace is per thread)",
				 (int)acc->pid, (int)ps->tracer);
	else if (ps->tracer)
		detach_all(acc, ps);
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

static int ptrace_open(struct kh_access *acc, struct kh_err *err)
{
	struct ptrace_state *ps;
	int ret;

	if (!acc->pid)
		return kh_err_set(err, EINVAL,
				  "ptrace needs a live QEMU process");
	/* The reads are pvreadv's; check it works before stopping anything. */
	ret = kh_access_pvreadv.open(acc, err);
	if (ret)
		return ret;
	ps = calloc(1, sizeof(*ps));
	if (ps)
		ps->threads = calloc(MAX_THREADS, sizeof(*ps->threads));
	if (!ps || !ps->threads) {
		free(ps);
		return kh_err_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&ps->lock, NULL);
	acc->priv = ps;
	/* Availability means stopping really works: stop once, let go. */
	ret = ptrace_pause(acc, err);
	if (!ret)
		ret = ptrace_resume(acc, err);
	if (ret) {
		pthread_mutex_destroy(&ps->lock);
		free(ps->threads);
		free(ps);
		acc->priv = NULL;
	}
	return ret;
}

static void ptrace_close(struct kh_access *acc)
{
	struct ptrace_state *ps = acc->priv;

	if (!ps)
		return;
	pthread_mutex_lock(&ps->lock);
	if (ps->tracer == my_tid())
		detach_all(acc, ps);
	/* Otherwise the tracer thread's exit detaches them (see above). */
	pthread_mutex_unlock(&ps->lock);
	pthread_mutex_destroy(&ps->lock);
	free(ps->threads);
	free(ps);
	acc->priv = NULL;
}

/*
 * Reads outside a pause (the engine's own attach reads) still stop QEMU
 * for the batch: a halting technique never reads a running guest.
 */
static int ptrace_read(struct kh_access *acc, struct kh_read *reads,
		       unsigned int nr)
{
	struct ptrace_state *ps = acc->priv;
	struct kh_err err;
	unsigned int i;
	int own = 0, ret;

	pthread_mutex_lock(&ps->lock);
	if (!ps->tracer) {
		ret = do_pause(acc, ps, &err);
		if (ret) {
			pthread_mutex_unlock(&ps->lock);
			for (i = 0; i < nr; i++)
				reads[i].result = ret;
			return ret;
		}
		own = 1;
	}
	ret = kh_access_pvreadv.read(acc, reads, nr);
	if (own)
		detach_all(acc, ps);
	pthread_mutex_unlock(&ps->lock);
	return ret;
}

const struct kh_access_ops kh_access_ptrace = {
	.name = "ptrace",
	.klass = "VI",
	.props = KH_TECHNIQUE_HALTING,
	.description = "stops every QEMU thread with ptrace around each operation, then process_vm_readv",
	.pid_addressed = 1,
	.open = ptrace_open,
	.read = ptrace_read,
	.close = ptrace_close,
	.pause = ptrace_pause,
	.resume = ptrace_resume,
};
