// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: a guest whose task lists are corrupted on purpose (written
 * through /proc/PID/mem into the live guest) makes the walk stop within a
 * bound with a result marked incomplete that names the problem, through
 * the library and through `keyhole ps` (exit 3 plus a warning); and that
 * once the bytes are restored the walk is whole again. Corruptions: a
 * process-list cycle, a wild pointer, and a thread-list cycle.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "guest.h"
#include "vm.h"

struct poke {
	int fd;
	uint64_t hva;
	uint64_t orig;
};

static struct kh_vm *vm;

static const struct kh_task *find_comm(const struct kh_task_list *list,
				       const char *comm, int nth_thread)
{
	unsigned int i;

	for (i = 0; i < list->nr; i++)
		if (!strcmp(list->tasks[i].comm, comm) && nth_thread-- == 0)
			return &list->tasks[i];
	CHECK(0, "no task '%s' in the guest", comm);
	return NULL;
}

static void poke_open(struct poke *p, int pid, uint64_t va)
{
	const struct kh_ram_range *range;
	char path[64];
	uint64_t gpa, run;

	CHECK(!kh_kva_to_gpa(vm, va, &gpa, &run, NULL), "cannot translate 0x%" PRIx64, va);
	range = kh_layout_find(&vm->layout, gpa);
	CHECK(range, "gpa 0x%" PRIx64 " not in RAM", gpa);
	p->hva = range->hva + (gpa - range->gpa);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	p->fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(p->fd >= 0, "cannot open %s for writing", path);
	CHECK(pread(p->fd, &p->orig, 8, p->hva) == 8, "cannot read guest");
}

static void poke(struct poke *p, uint64_t value)
{
	CHECK(pwrite(p->fd, &value, 8, p->hva) == 8, "cannot write guest");
}

static void poke_restore(struct poke *p)
{
	poke(p, p->orig);
	close(p->fd);
}

static void expect_incomplete(unsigned int flags, const char *needle,
			      const char *what)
{
	struct kh_task_list *list;
	struct kh_err err = { 0 };

	CHECK(!kh_tasks(vm, flags, &list, &err), "%s: %s", what, err.msg);
	CHECK(list->result.flags & KH_RESULT_INCOMPLETE, "%s: not marked incomplete",
	      what);
	CHECK(strstr(list->result.problem, needle), "%s: problem '%s' lacks '%s'",
	      what, list->result.problem, needle);
	printf("ok: %s -> %u tasks, %s\n", what, list->nr, list->result.problem);
	kh_task_list_free(list);
}

static void expect_cli_partial(int pid, const char *flags)
{
	int status;
	char *out = run_capture(&status, "%s ps %s %d 2>&1 >/dev/null",
				env_or("KEYHOLE", "keyhole"), flags, pid);

	CHECK(status == 3 && strstr(out, "incomplete"),
	      "keyhole ps %s on a corrupted guest: exit %d: %s", flags, status,
	      out);
	free(out);
}

int main(int argc, char **argv)
{
	struct kh_task_list *list;
	const struct kh_task *victim;
	const struct kh_task_layout *tl;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct poke p;
	char spec[32];
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	alarm(240);	/* a hang must fail, not pass */
	snprintf(spec, sizeof(spec), "%d", g.pid);
	CHECK(!kh_ctx_new(NULL, &ctx, &err), "%s", err.msg);
	CHECK(!kh_vm_open(ctx, spec, NULL, &vm, &err), "%s", err.msg);
	tl = &vm->profile->task;
	CHECK(!kh_tasks(vm, KH_TASKS_THREADS, &list, &err), "%s", err.msg);

	/* kh-tree and its list neighbours live forever: safe to bend. */
	victim = find_comm(list, "kh-tree", 0);
	poke_open(&p, g.pid, victim->addr + tl->tasks);
	poke(&p, victim->addr + tl->tasks);
	expect_incomplete(0, "cycle", "task list cycle");
	expect_cli_partial(g.pid, "");
	poke(&p, 0xdead4ead00000000ULL);
	expect_incomplete(0, "not a kernel address", "wild task pointer");
	poke_restore(&p);

	victim = find_comm(list, "kh-threads", 2);
	poke_open(&p, g.pid, victim->addr + tl->thread_node);
	poke(&p, victim->addr + tl->thread_node);
	expect_incomplete(KH_TASKS_THREADS, "cycle", "thread list cycle");
	expect_cli_partial(g.pid, "-T");
	poke_restore(&p);
	kh_task_list_free(list);

	CHECK(!kh_tasks(vm, KH_TASKS_THREADS, &list, &err), "%s", err.msg);
	CHECK(!(list->result.flags & KH_RESULT_INCOMPLETE),
	      "walk still incomplete after restoring: %s", list->result.problem);
	kh_task_list_free(list);
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	return KH_PASS;
}
