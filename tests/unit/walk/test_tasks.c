// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the task walker (broker/lib/walk/tasks.c) returns the right tasks
 * from a well-formed synthetic guest, and on corrupted ones always terminates
 * with the result marked and the problem named: a cycle in the process list, a
 * cycle in a thread list (and a task_struct reused while it was walked, which
 * is none), a pointer that is not a kernel address, a pointer
 * outside guest RAM, a list whose prev pointers disagree, a hostile list
 * longer than guest RAM could hold, and a cred that cannot be read: a walk
 * cut short for a live task, an inconsistency for one exiting or still
 * being set up.
 *
 * The "guest" is a buffer read through a test access technique; the kernel
 * placement and profile are set by hand, so only the walker is under test.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "vm.h"

#define RAM_SIZE	(32ULL << 20)
#define TEXT_VA		0xffffffff81000000ULL
#define KERNEL_PHYS	0x1000000ULL
#define PAGE_OFFSET	0xffff888000000000ULL
#define INIT_TASK_OFF	0x100000ULL
#define TASK_GPA	0x200000ULL
#define SIGNAL_GPA	0x300000ULL
#define CRED_GPA	0x400000ULL

/* A task_struct as this synthetic kernel lays it out. */
static const struct kh_task_layout layout = {
	.state = 0x08, .tasks = 0x10, .pid = 0x40, .tgid = 0x44,
	.exit_state = 0x48, .real_parent = 0x50, .real_cred = 0x58,
	.comm = 0x60, .signal = 0x70, .thread_node = 0x78, .flags = 0x20,
	.mm = 0x28, .start_boottime = 0x30,
	.span_start = 0x08, .span_len = 0x80, .signal_thread_head = 0x10,
	.signal_nr_threads = 0x20, .cred_uid = 0x04, .cred_gid = 0x08,
	.task_size = 0x200,
};

static uint8_t *ram;
/* Runs once, when the walk reads the task_struct at this gpa: the guest
 * moves on while it is walked. */
static uint64_t hook_gpa;
static void (*hook)(void);

static int fake_open(struct kh_access *acc, struct kh_err *err)
{
	return 0;
}

static int fake_read(struct kh_access *acc, struct kh_read *reads,
		     unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (hook && reads[i].addr == hook_gpa) {
			void (*fn)(void) = hook;

			hook = NULL;
			fn();
		}
		memcpy(reads[i].buf, ram + reads[i].addr, reads[i].len);
		reads[i].result = 0;
	}
	return 0;
}

static void fake_close(struct kh_access *acc)
{
}

static const struct kh_access_ops fake_ops = {
	.name = "fake", .open = fake_open, .read = fake_read,
	.close = fake_close,
};

static uint64_t va(uint64_t gpa)
{
	return PAGE_OFFSET + gpa;
}

static void put64(uint64_t va_addr, uint64_t val)
{
	uint64_t gpa = va_addr >= TEXT_VA ? KERNEL_PHYS + va_addr - TEXT_VA :
					    va_addr - PAGE_OFFSET;

	memcpy(ram + gpa, &val, 8);
}

static void put32(uint64_t va_addr, uint32_t val)
{
	uint64_t gpa = va_addr >= TEXT_VA ? KERNEL_PHYS + va_addr - TEXT_VA :
					    va_addr - PAGE_OFFSET;

	memcpy(ram + gpa, &val, 4);
}

static uint64_t task_va(int i)
{
	return i ? va(TASK_GPA + i * layout.task_size) : TEXT_VA + INIT_TASK_OFF;
}

/*
 * With build_guest(6): task 2 exits (unlinked between 1 and 3) and a new
 * task, pid 900, gets its task_struct and is linked in at the tail, after
 * 5. A walk that listed 2 before this meets its address again.
 */
static void reuse_task2(void)
{
	uint64_t t2 = task_va(2);

	put64(task_va(1) + layout.tasks, task_va(3) + layout.tasks);
	put64(task_va(3) + layout.tasks + 8, task_va(1) + layout.tasks);
	put32(t2 + layout.pid, 900);
	put32(t2 + layout.tgid, 900);
	put64(t2 + layout.start_boottime, 12345);
	put64(task_va(5) + layout.tasks, t2 + layout.tasks);
	put64(t2 + layout.tasks + 8, task_va(5) + layout.tasks);
	put64(t2 + layout.tasks, task_va(0) + layout.tasks);
	put64(task_va(0) + layout.tasks + 8, t2 + layout.tasks);
}

/* nr_tasks tasks (0 is init_task), task 3 has threads 10 and 11. */
static void build_guest(int nr_tasks)
{
	int i;

	memset(ram, 0, RAM_SIZE);
	for (i = 0; i < nr_tasks; i++) {
		uint64_t t = task_va(i);
		uint64_t signal = va(SIGNAL_GPA + i * 0x100);

		put64(t + layout.tasks, task_va((i + 1) % nr_tasks) + layout.tasks);
		put64(t + layout.tasks + 8,
		      task_va((i + nr_tasks - 1) % nr_tasks) + layout.tasks);
		put32(t + layout.pid, i * 100);
		put32(t + layout.tgid, i * 100);
		put32(t + layout.state, 1);
		put64(t + layout.real_parent, task_va(i > 1 ? 1 : 0));
		put64(t + layout.real_cred, va(CRED_GPA + i * 0x40));
		put32(va(CRED_GPA + i * 0x40) + layout.cred_uid, 1000 + i);
		snprintf((char *)ram + (t >= TEXT_VA ? KERNEL_PHYS +
			 t - TEXT_VA : t - PAGE_OFFSET) + layout.comm, 16,
			 "task%d", i);
		put64(t + layout.signal, signal);
		/* Single-threaded: head <-> leader.thread_node. */
		put64(signal + layout.signal_thread_head,
		      t + layout.thread_node);
		put64(t + layout.thread_node, signal + layout.signal_thread_head);
	}
	/* Task 3 gets threads 10 and 11 in its thread group. */
	{
		uint64_t leader = task_va(3), signal = va(SIGNAL_GPA + 0x300);
		uint64_t t10 = task_va(10), t11 = task_va(11);

		put64(leader + layout.thread_node, t10 + layout.thread_node);
		put64(t10 + layout.thread_node, t11 + layout.thread_node);
		put64(t11 + layout.thread_node,
		      signal + layout.signal_thread_head);
		put32(t10 + layout.pid, 301);
		put32(t11 + layout.pid, 302);
		put32(t10 + layout.tgid, 300);
		put32(t11 + layout.tgid, 300);
		put64(t10 + layout.real_parent, task_va(1));
		put64(t11 + layout.real_parent, task_va(1));
		put64(t10 + layout.real_cred, va(CRED_GPA));
		put64(t11 + layout.real_cred, va(CRED_GPA));
		put64(t10 + layout.signal, signal);
		put64(t11 + layout.signal, signal);
		put32(signal + layout.signal_nr_threads, 3);
	}
}

static struct kh_vm *make_vm(void)
{
	struct kh_profile_parts parts = { .banner = "Linux version test",
					  .btf_header = (const uint8_t *)"BTF header of 24 bytes.",
					  .task = &layout };
	static struct kh_vm vm;
	struct kh_err err = { 0 };

	memset(&vm, 0, sizeof(vm));
	vm.layout.nr = 1;
	vm.layout.range[0] = (struct kh_ram_range){ .gpa = 0, .size = RAM_SIZE,
						     .hva = 0 };
	vm.acc.ops = &fake_ops;
	vm.acc.layout = &vm.layout;
	vm.acc.pidfd = -1;
	vm.acc.pagemap_fd = -1;
	vm.kernel = (struct kh_kernel){
		.phys = KERNEL_PHYS, .text_va = TEXT_VA,
		.image_size = 8ULL << 20, .levels = 4,
		.page_offset_base = PAGE_OFFSET, .direct_map_size = RAM_SIZE,
	};
	parts.symtab = kh_symtab_new();
	CHECK(parts.symtab, "kh_symtab_new");
	kh_symtab_add(parts.symtab, "init_task", 'D', 0, INIT_TASK_OFF);
	kh_symtab_add(parts.symtab, "linux_banner", 'R', 0, 0x200000);
	kh_symtab_add(parts.symtab, "__start_BTF", 'R', 0, 0x300000);
	kh_symtab_add(parts.symtab, "_end", 'B', 0, 8 << 20);
	kh_symtab_finish(parts.symtab);
	CHECK(!kh_profile_new(&parts, &vm.profile, &err), "%s", err.msg);
	return &vm;
}

static struct kh_task_list *walk(struct kh_vm *vm, unsigned int flags)
{
	struct kh_task_list *list;
	struct kh_err err = { 0 };

	CHECK(!kh_tasks(vm, flags, &list, &err), "kh_tasks: %s", err.msg);
	return list;
}

static void expect(struct kh_vm *vm, unsigned int flags, unsigned int mark,
		   const char *needle, const char *what)
{
	struct kh_task_list *list = walk(vm, flags);

	CHECK(list->result.flags & mark, "%s: flags 0x%x, problem '%s'", what,
	      list->result.flags, list->result.problem);
	CHECK(strstr(list->result.problem, needle), "%s: problem '%s' lacks '%s'",
	      what, list->result.problem, needle);
	kh_task_list_free(list);
}

int main(void)
{
	struct kh_task_list *list;
	struct kh_vm *vm;
	uint64_t node;
	unsigned int i;

	ram = calloc(1, RAM_SIZE);
	CHECK(ram, "out of memory");
	vm = make_vm();

	/* Well-formed: 5 tasks besides the idle task, threads on request. */
	build_guest(6);
	list = walk(vm, 0);
	CHECK(list->nr == 5 && !list->result.flags, "nr %u flags 0x%x (%s)", list->nr,
	      list->result.flags, list->result.problem);
	for (i = 0; i < list->nr; i++) {
		const struct kh_task *t = &list->tasks[i];

		CHECK(t->pid == (int)(i + 1) * 100, "task %u pid %d", i, t->pid);
		CHECK(t->ppid == (i ? 100 : 0), "task %d ppid %d", t->pid, t->ppid);
		CHECK(t->uid == 1001 + i, "task %d uid %u", t->pid, t->uid);
		CHECK(t->state == 'S', "task %d state %c", t->pid, t->state);
	}
	kh_task_list_free(list);
	list = walk(vm, KH_TASKS_THREADS);
	CHECK(list->nr == 7 && !list->result.flags, "with threads: nr %u (%s)",
	      list->nr, list->result.problem);
	kh_task_list_free(list);

	/* A cycle that skips back to an earlier task. */
	put64(task_va(4) + layout.tasks, task_va(2) + layout.tasks);
	expect(vm, 0, KH_RESULT_INCOMPLETE, "cycle", "process list cycle");

	/*
	 * Not a cycle: task 2's task_struct went to a new task while the
	 * walk was at task 4. Both are listed, and the result says why.
	 */
	build_guest(6);
	hook_gpa = TASK_GPA + 4 * layout.task_size + layout.span_start;
	hook = reuse_task2;
	list = walk(vm, 0);
	CHECK(!hook, "the walk did not read task 4");
	CHECK(list->nr == 6 && list->result.flags == KH_RESULT_INCONSISTENT &&
	      strstr(list->result.problem, "reused"),
	      "reused task_struct: nr %u, flags 0x%x (%s)", list->nr,
	      list->result.flags, list->result.problem);
	CHECK(list->tasks[1].pid == 200 && list->tasks[5].pid == 900,
	      "reused task_struct: pids %d and %d", list->tasks[1].pid,
	      list->tasks[5].pid);
	kh_task_list_free(list);

	build_guest(6);
	put64(task_va(2) + layout.tasks, 0x1234);
	expect(vm, 0, KH_RESULT_INCOMPLETE, "not a kernel address", "wild pointer");

	build_guest(6);
	put64(task_va(2) + layout.tasks, va(RAM_SIZE + 0x1000));
	expect(vm, 0, KH_RESULT_INCOMPLETE, "cannot be read", "pointer beyond RAM");

	build_guest(6);
	put64(task_va(3) + layout.tasks + 8, va(0x10));
	expect(vm, 0, KH_RESULT_INCONSISTENT, "prev", "prev mismatch");

	/*
	 * A cred that cannot be read: the walk cannot vouch for it when the
	 * task is live, but a task exiting (or a fork's task_struct still
	 * zeroed) changes under the walk, which is an inconsistency, not a
	 * walk cut short (a slow technique on a forking guest met one on
	 * every walk, CI 2026-12-06).
	 */
	build_guest(6);
	put64(task_va(3) + layout.real_cred, va(RAM_SIZE + 0x1000));
	expect(vm, 0, KH_RESULT_INCOMPLETE, "parent or credential reads failed",
	       "a live task's cred beyond RAM");
	build_guest(6);
	put64(task_va(3) + layout.real_cred, va(RAM_SIZE + 0x1000));
	put32(task_va(3) + layout.exit_state, 16);	/* EXIT_ZOMBIE */
	list = walk(vm, 0);
	CHECK(list->result.flags == KH_RESULT_INCONSISTENT &&
	      strstr(list->result.problem, "exiting or being set up"),
	      "an exiting task's cred beyond RAM: flags 0x%x (%s)",
	      list->result.flags, list->result.problem);
	kh_task_list_free(list);
	build_guest(6);
	put64(task_va(3) + layout.real_cred, 0);
	list = walk(vm, 0);
	CHECK(list->result.flags == KH_RESULT_INCONSISTENT,
	      "a task with no cred yet: flags 0x%x (%s)", list->result.flags,
	      list->result.problem);
	kh_task_list_free(list);

	build_guest(6);
	put64(task_va(11) + layout.thread_node, task_va(10) + layout.thread_node);
	expect(vm, KH_TASKS_THREADS, KH_RESULT_INCOMPLETE, "cycle",
	       "thread list cycle");

	/*
	 * Hostile: a chain of distinct, overlapping "tasks" 0x80 apart, more
	 * than guest RAM could hold as real task_structs. The bound stops it.
	 */
	build_guest(2);
	for (node = 0x100000; node + 0x100 < RAM_SIZE; node += 0x80)
		put64(va(node), va(node + 0x80));
	put64(task_va(1) + layout.tasks, va(0x100000));
	expect(vm, 0, KH_RESULT_INCOMPLETE, "more tasks than guest RAM",
	       "endless distinct list");

	kh_profile_put(vm->profile);
	free(ram);
	return KH_PASS;
}
