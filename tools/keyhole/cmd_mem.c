// SPDX-License-Identifier: GPL-2.0-only
/* PLACEHOLDER: replaced by the extractor's author before commit. */
#include "keyhole.h"

int cmd_mem(const struct options *opts, int argc, char **argv)
{
	return report_error(opts, "mem: PLACEHOLDER");
}
