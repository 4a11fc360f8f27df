// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The queries about the VM and its OS as a whole: vm (what attaching
 * learnt), info (uname, uptime, CPUs, load), mem (/proc/meminfo) and
 * lsmod (modules, in the guest's order, as /proc/modules has them),
 * mounts (every mount namespace's, as /proc/PID/mounts lists them),
 * ebpf (the loaded programs and maps, as bpftool lists them) and
 * dmesg (the kernel log, oldest first, as /dev/kmsg has it) and
 * kallsyms (the kernel's symbols, as /proc/kallsyms has its own).
 */
#include "query/query.h"

static int run_vm(struct kh_vm *vm, const struct kh_query_args *args,
		  struct kh_query_result *res, struct kh_err *err)
{
	struct kh_vm_info info;

	kh_vm_get_info(vm, &info);
	return kh_query_done("vm", kh_json_vm_info(&info), NULL, res, err);
}

const struct kh_query_op kh_query_vm = {
	.name = "vm", .args = kh_query_no_args, .run = run_vm,
};

static int run_info(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	struct kh_os_info info;
	int ret;

	ret = kh_os_info(vm, &info, err);
	if (ret)
		return ret;
	return kh_query_done("info", kh_json_os_info(&info), &info.result,
			     res, err);
}

const struct kh_query_op kh_query_info = {
	.name = "info", .args = kh_query_no_args, .run = run_info,
};

static int run_mem(struct kh_vm *vm, const struct kh_query_args *args,
		   struct kh_query_result *res, struct kh_err *err)
{
	struct kh_mem_info mem;
	int ret;

	ret = kh_mem_info(vm, &mem, err);
	if (ret)
		return ret;
	return kh_query_done("mem", kh_json_mem_info(&mem), &mem.result, res,
			     err);
}

const struct kh_query_op kh_query_mem = {
	.name = "mem", .args = kh_query_no_args, .run = run_mem,
};

static int run_lsmod(struct kh_vm *vm, const struct kh_query_args *args,
		     struct kh_query_result *res, struct kh_err *err)
{
	struct kh_module_list *list;
	int ret;

	ret = kh_modules(vm, &list, err);
	if (ret)
		return ret;
	ret = kh_query_done("lsmod", kh_json_modules(list), &list->result,
			    res, err);
	kh_module_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_lsmod = {
	.name = "lsmod", .args = kh_query_no_args, .run = run_lsmod,
};

static int run_mounts(struct kh_vm *vm, const struct kh_query_args *args,
		      struct kh_query_result *res, struct kh_err *err)
{
	struct kh_mount_list *list;
	int ret;

	ret = kh_mounts(vm, &list, err);
	if (ret)
		return ret;
	ret = kh_query_done("mounts", kh_json_mounts(list), &list->result,
			    res, err);
	kh_mount_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_mounts = {
	.name = "mounts", .args = kh_query_no_args, .run = run_mounts,
};

static int run_ebpf(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	struct kh_bpf_list *list;
	int ret;

	ret = kh_ebpf(vm, &list, err);
	if (ret)
		return ret;
	ret = kh_query_done("ebpf", kh_json_ebpf(list), &list->result, res,
			    err);
	kh_bpf_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_ebpf = {
	.name = "ebpf", .args = kh_query_no_args, .run = run_ebpf,
};

static int run_dmesg(struct kh_vm *vm, const struct kh_query_args *args,
		     struct kh_query_result *res, struct kh_err *err)
{
	struct kh_kmsg_list *list;
	int ret;

	ret = kh_dmesg(vm, &list, err);
	if (ret)
		return ret;
	ret = kh_query_done("dmesg", kh_json_dmesg(list), &list->result,
			    res, err);
	kh_kmsg_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_dmesg = {
	.name = "dmesg", .args = kh_query_no_args, .run = run_dmesg,
};

static int run_kallsyms(struct kh_vm *vm, const struct kh_query_args *args,
			struct kh_query_result *res, struct kh_err *err)
{
	struct kh_symbol_list *list;
	int ret;

	ret = kh_kallsyms(vm, args->match[0] ? args->match : NULL, &list,
			  err);
	if (ret)
		return ret;
	ret = kh_query_done("kallsyms", kh_json_kallsyms(list), NULL, res,
			    err);
	kh_symbol_list_free(list);
	return ret;
}

static const struct kh_query_arg kallsyms_args[] = {
	{ "match", KH_QUERY_TEXT, 0, offsetof(struct kh_query_args, match) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_kallsyms = {
	.name = "kallsyms", .args = kallsyms_args, .run = run_kallsyms,
};
