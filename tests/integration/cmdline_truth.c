// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: kh_task_cmdline() reads argv through the process's own page
 * tables exactly as /proc/PID/cmdline has it: kh-maps gives
 * ["kh-maps", "--alpha", "beta", "gamma delta"], and every other
 * process what the guest says; a short buffer gets the first bytes; a
 * task without an mm (kernel thread, zombie) is -ENOENT, and only then:
 * -ENOENT for a process the guest still gives an argv is a failure.
 * kh_task_rss() matches the rss of /proc/PID/stat for processes that
 * sleep.
 *
 * No subcommand prints these yet, so the test calls the library (linked
 * in like every test program) rather than the CLI.
 */
#include <errno.h>

#include "guest.h"
#include "libkeyhole.h"

/* argv joined with '\n' (as the truth daemon prints it), or NULL. */
static char *joined(const char *buf, size_t len)
{
	char *out = malloc(len + 2);
	size_t i;

	CHECK(out, "out of memory");
	memcpy(out, buf, len);
	/* /proc/PID/cmdline ends with the last argument's NUL. */
	if (len && out[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++)
		if (out[i] == '\0')
			out[i] = '\n';
	out[len] = len ? '\n' : '\0';
	out[len + (len ? 1 : 0)] = '\0';
	return out;
}

static const struct kh_task *find_task(const struct kh_task_list *list,
				       int pid)
{
	unsigned int i;

	for (i = 0; i < list->nr; i++)
		if (list->tasks[i].tgid == pid)
			return &list->tasks[i];
	return NULL;
}

/*
 * The guest's own word (its truth daemon's /proc/PID/stat) on whether
 * t's pid is still the process keyhole saw: same pid, same start time
 * (stat's field 22, in clock ticks; t->start_time is in ns). Zombies
 * count: they are still that process.
 */
static int same_in_guest(const struct guest *g, const struct kh_task *t)
{
	char request[64], *stat, *p;
	unsigned long long ticks = 0;
	int field, same;

	snprintf(request, sizeof(request), "stat %d", t->tgid);
	stat = guest_truth_pid(g, request);
	if (!stat)
		return 0;
	p = strrchr(stat, ')');		/* the comm may hold ')' */
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	CHECK(p && sscanf(p, " %llu", &ticks) == 1,
	      "no start time in the guest's stat: %s", stat);
	same = ticks == t->start_time / (1000000000ull / GUEST_USER_HZ);
	free(stat);
	return same;
}

/*
 * 1 when keyhole's argv of seen equals the guest's, 0 when the guest says
 * the process is gone (or its pid belongs to a newer process: the guest
 * forks all the time) or it has no argv (a kernel thread, a zombie, a
 * process on its way out), and keyhole agrees. Whether the process lives
 * is only ever taken from the guest, never from keyhole itself.
 */
static int compare_cmdline(struct kh_vm *vm, const struct guest *g,
			   const struct kh_task *seen)
{
	char request[64], buf[8192], *truth = NULL, *mine = NULL;
	struct kh_err err = { 0 };
	struct kh_task_list *list;
	const struct kh_task *n;
	struct kh_task t = *seen;
	int attempt, ret = 0;
	size_t len;

	snprintf(request, sizeof(request), "cmdline %d", seen->tgid);
	for (attempt = 0; attempt < 3; attempt++) {
		if (attempt) {
			/*
			 * The mm keyhole's earlier walk saw may have been
			 * replaced (an exec) or freed meanwhile: walk again.
			 */
			CHECK(!kh_tasks(vm, 0, &list, &err), "%s", err.msg);
			n = find_task(list, seen->tgid);
			if (n)
				t = *n;
			kh_task_list_free(list);
			if (!n) {
				CHECK(!same_in_guest(g, seen),
				      "keyhole lost pid %d (%s), which the guest still runs",
				      seen->tgid, seen->comm);
				break;
			}
		}
		free(truth);
		free(mine);
		mine = NULL;
		ret = kh_task_cmdline(vm, &t, buf, sizeof(buf), &len, &err);
		truth = guest_truth_pid(g, request);
		if (!truth || !same_in_guest(g, seen))
			break;		/* the guest says: exited or replaced */
		if (!t.mm) {
			CHECK(ret == -ENOENT, "task %d (%s) without an mm: %d",
			      t.tgid, t.comm, ret);
			CHECK(!*truth, "task %d (%s) has no mm for keyhole, the guest gives it a cmdline: %s",
			      t.tgid, t.comm, truth);
			break;
		}
		if (ret == -ENOENT && !*truth)
			break;		/* on its way out: no argv for either */
		if (ret == -ENOENT)
			continue;	/* try a fresh walk; fails after 3 */
		CHECK(!ret, "cmdline of %d (%s): %s", t.tgid, t.comm, err.msg);
		mine = joined(buf, len);
		if (!strcmp(mine, truth)) {
			free(truth);
			free(mine);
			return 1;
		}
	}
	CHECK(attempt < 3, "cmdline of %d (%s), alive in the guest: keyhole %s, guest '%s'",
	      t.tgid, t.comm, ret == -ENOENT ? "finds no mm (-ENOENT)" :
	      mine ? mine : "?", truth);
	free(truth);
	free(mine);
	return 0;
}


/* rss_pages from the truth's "stat PID" reply. */
static long truth_rss(const struct guest *g, int pid)
{
	char request[64], *out, *p;
	long rss;

	snprintf(request, sizeof(request), "stat %d", pid);
	out = guest_truth(g, request);
	p = strstr(out, "rss_pages ");
	CHECK(p, "truth %s: no rss_pages: %s", request, out);
	rss = atol(p + 10);
	free(out);
	return rss;
}

static void check_rss(struct kh_vm *vm, const struct guest *g,
		      const struct kh_task *t, const char *what)
{
	struct kh_err err = { 0 };
	long before, after;
	uint64_t pages;

	before = truth_rss(g, t->tgid);
	CHECK(!kh_task_rss(vm, t, &pages, &err), "rss of %s: %s", what,
	      err.msg);
	after = truth_rss(g, t->tgid);
	/*
	 * These processes sleep, so their counters do not move; the truth
	 * daemon reading /proc does not touch their memory. A page of slack
	 * either side covers a late fault (a timer, a signal frame).
	 */
	CHECK((long)pages >= (before < after ? before : after) - 1 &&
	      (long)pages <= (before > after ? before : after) + 1,
	      "rss of %s (pid %d): keyhole %llu pages, guest %ld then %ld",
	      what, t->tgid, (unsigned long long)pages, before, after);
	printf("%s (pid %d): rss %llu pages, guest %ld\n", what, t->tgid,
	       (unsigned long long)pages, before);
}

int main(int argc, char **argv)
{
	static const char expected[] = "kh-maps\0--alpha\0beta\0gamma delta";
	struct kh_ctx_config ccfg = { 0 };
	struct kh_task_list *list;
	struct kh_err err = { 0 };
	const struct kh_task *t;
	char spec[32], buf[8192];
	unsigned int i, compared = 0;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	struct guest g;
	size_t len;
	int pid;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	pid = guest_pid_of(&g, "kh-maps");
	snprintf(spec, sizeof(spec), "%d", g.pid);
	CHECK(!kh_ctx_new(&ccfg, &ctx, &err), "%s", err.msg);
	CHECK(!kh_vm_open(ctx, spec, NULL, &vm, &err), "%s", err.msg);
	CHECK(!kh_tasks(vm, 0, &list, &err), "%s", err.msg);

	t = find_task(list, pid);
	CHECK(t, "kh-maps (pid %d) not in keyhole's task list", pid);
	CHECK(!kh_task_cmdline(vm, t, buf, sizeof(buf), &len, &err),
	      "cmdline of kh-maps: %s", err.msg);
	CHECK(len == sizeof(expected) && !memcmp(buf, expected, len),
	      "cmdline of kh-maps: %zu bytes '%.*s'", len, (int)len, buf);

	/* A short buffer: the first bytes, as a short read() would give. */
	CHECK(!kh_task_cmdline(vm, t, buf, 5, &len, &err) && len == 5 &&
	      !memcmp(buf, "kh-ma", 5), "cmdline into 5 bytes: %zu", len);

	check_rss(vm, &g, t, "kh-maps");
	check_rss(vm, &g, find_task(list, 1), "init");
	check_rss(vm, &g, find_task(list, guest_pid_of(&g, "kh-files")), "kh-files");

	/* Every process the guest can still describe, argv for argv. */
	for (i = 0; i < list->nr; i++)
		compared += compare_cmdline(vm, &g, &list->tasks[i]);
	CHECK(compared >= 10, "only %u cmdlines compared", compared);
	printf("%u cmdlines match\n", compared);

	kh_task_list_free(list);
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	return KH_PASS;
}
