// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * check: every rootkit check (kh_check), on one hold of the guest for a
 * halting technique, so that the views compared are of one moment.
 * "only" names one check to run instead ("syscalls", ...).
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
