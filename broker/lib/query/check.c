// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * check: every rootkit check (kh_check), on one hold of the guest for a
 * halting technique, so that the views compared are of one moment.
 * "only" names one check to run instead ("syscalls", ...). And the
 * listings of three checks' hooks: kprobes, ftrace, netfilter.
 */
#include <errno.h>
#include <string.h>

#include "query/query.h"

static int run_check(struct kh_vm *vm, const struct kh_query_args *args,
		     struct kh_query_result *res, struct kh_err *err)
{
	struct kh_check_report *report = NULL;
	unsigned int mask = 0, i;
	int held, ret;

	if (args->match[0]) {
		for (i = 0; i < KH_CHECK_NR; i++)
			if (!strcmp(args->match, kh_check_name(i)))
				mask = 1u << i;
		if (!mask)
			return kh_err_set(err, EINVAL,
					  "\"only\": no check named \"%s\"",
					  args->match);
	}
	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_check(vm, mask, &report, err);
	ret = kh_query_release(vm, held, ret, err);
	if (!ret)
		ret = kh_query_done("check", kh_json_check(report),
				    &report->result, res, err);
	kh_check_report_free(report);
	return ret;
}

static const struct kh_query_arg check_args[] = {
	{ "only", KH_QUERY_TEXT, 0, offsetof(struct kh_query_args, match) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_check = {
	.name = "check", .args = check_args, .run = run_check,
};

/*
 * kprobes, ftrace, netfilter: every hook of that kind (kh_hooks). What
 * the walk could not do (including run at all, on a kernel without the
 * facility) has marked the result already, as for check.
 */
static int run_hooks(struct kh_vm *vm, enum kh_check_id id,
		     struct kh_query_result *res, struct kh_err *err)
{
	struct kh_check_report *report = NULL;
	int held, ret;

	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_hooks(vm, 1u << id, &report, err);
	ret = kh_query_release(vm, held, ret, err);
	if (ret)
		return ret;
	ret = kh_query_done(kh_check_name(id), kh_json_hooks(report, id),
			    &report->result, res, err);
	kh_check_report_free(report);
	return ret;
}

static int run_kprobes(struct kh_vm *vm, const struct kh_query_args *args,
		       struct kh_query_result *res, struct kh_err *err)
{
	return run_hooks(vm, KH_CHECK_KPROBES, res, err);
}

static int run_ftrace(struct kh_vm *vm, const struct kh_query_args *args,
		      struct kh_query_result *res, struct kh_err *err)
{
	return run_hooks(vm, KH_CHECK_FTRACE, res, err);
}

static int run_netfilter(struct kh_vm *vm, const struct kh_query_args *args,
			 struct kh_query_result *res, struct kh_err *err)
{
	return run_hooks(vm, KH_CHECK_NETFILTER, res, err);
}

const struct kh_query_op kh_query_kprobes = {
	.name = "kprobes", .args = kh_query_no_args, .run = run_kprobes,
};

const struct kh_query_op kh_query_ftrace = {
	.name = "ftrace", .args = kh_query_no_args, .run = run_ftrace,
};

const struct kh_query_op kh_query_netfilter = {
	.name = "netfilter", .args = kh_query_no_args,
	.run = run_netfilter,
};
