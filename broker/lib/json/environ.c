// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A process's environment as JSON (kh_json_environ): its entries as
 * printable strings, the way argv is given (kh_json_argv).
 */
#include "json/format.h"

json_t *kh_json_environ(const struct kh_task *task, const char *env,
			size_t len)
{
	char comm[KH_COMM_LEN + 1];
	json_t *vars = kh_json_argv(env, len);

	if (!vars)
		return NULL;
	kh_printable(task->comm, sizeof(comm), comm);
	return json_pack("{s:i, s:s, s:o}", "pid", (int)task->pid,
			 "comm", comm, "environ", vars);
}
