// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: kh_task_cmdline() reads argv through the process's own page
 * tables exactly as /proc/PID/cmdline has it: kh-maps gives
 * ["kh-maps", "--alpha", "beta", "gamma delta"], and every other
 * long-lived process what the guest says; a short buffer gets the first
 * bytes; a kernel thread is -ENOENT. kh_task_rss() matches the rss of
 * /proc/PID/stat for processes that sleep.
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

/* t is still in the guest's task list, the same process. */
static int still_there(struct kh_vm *vm, const struct kh_task *t)
{
	struct kh_err err = { 0 };
	struct kh_task_list *now;
	const struct kh_task *n;
	int same;

	CHECK(!kh_tasks(vm, 0, &now, &err), "%s", err.msg);
	n = find_task(now, t->tgid);
	same = n && n->addr == t->addr && n->start_time == t->start_time;
	kh_task_list_free(now);
	return same;
}

/*
 * 1 when keyhole's argv of t equals the guest's, 0 when t is gone (or its
 * pid belongs to a newer process: the guest forks all the time).
 */
static int compare_cmdline(struct kh_vm *vm, const struct guest *g,
			   const struct kh_task *t)
{
	char request[64], buf[8192], *truth = NULL, *mine = NULL;
	struct kh_err err = { 0 };
	int attempt, ret, same = 0;
	size_t len;

	snprintf(request, sizeof(request), "cmdline %d", t->tgid);
	for (attempt = 0; attempt < 3 && !same; attempt++) {
		free(truth);
		free(mine);
		mine = NULL;
		ret = kh_task_cmdline(vm, t, buf, sizeof(buf), &len, &err);
		truth = guest_truth_pid(g, request);
		if (!truth || (ret == -ENOENT && t->mm) ||
		    !still_there(vm, t))
			break;		/* exited or replaced */
		if (!t->mm) {
			CHECK(ret == -ENOENT, "kernel thread %d (%s): %d",
			      t->tgid, t->comm, ret);
			CHECK(!*truth, "kernel thread %d has a cmdline: %s",
			      t->tgid, truth);
			same = 1;
			continue;
		}
		CHECK(!ret, "cmdline of %d (%s): %s", t->tgid, t->comm,
		      err.msg);
		mine = joined(buf, len);
		same = !strcmp(mine, truth);
	}
	if (attempt == 3)
		CHECK(same, "cmdline of %d (%s): keyhole '%s', guest '%s'",
		      t->tgid, t->comm, mine, truth);
	free(truth);
	free(mine);
	return same && t->mm;
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
