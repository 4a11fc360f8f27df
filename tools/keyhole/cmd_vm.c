// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole vm: what keyhole learnt while attaching: the QEMU process, the
 * guest RAM layout and where it came from, the access technique, and the
 * guest kernel's identity and placement (KASLR, paging levels).
 */
#include <string.h>

#include "keyhole.h"
#include "render.h"

int cmd_vm(const struct options *opts, int argc, char **argv)
{
	struct kh_query_result res;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		subcommand_usage(&subcommands[1], stdout);
		return 0;
	}
	if (argc != 2)
		return report_error(opts, "vm: expected one VM (a QEMU pid, QMP socket path or -name)");
	if (run_query(opts, argv[1], "vm", json_object(), &res))
		return 1;
	return show_result(opts, &res, render_vm);
}
