// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole techniques: every access technique with its class in the
 * taxonomy of Suneja et al. (VEE 2015), its properties, and whether it
 * can work on this VM, and if not, why and what would enable it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "keyhole.h"

static void print_text(const struct kh_technique *list, unsigned int nr)
{
	unsigned int i;

	printf("%-9s %-5s %-4s %-27s %s\n", "NAME", "CLASS", "OK",
	       "PROPERTIES", "WHY NOT");
	for (i = 0; i < nr; i++) {
		char text[128];

		kh_format_technique_props(list[i].props, text, sizeof(text));
		printf("%-9s %-5s %-4s %-27s %s\n", list[i].name,
		       list[i].klass, list[i].available ? "yes" : "no", text,
		       list[i].reason);
	}
}

int cmd_techniques(const struct options *opts, int argc, char **argv)
{
	struct kh_vm_config cfg;
	struct kh_technique *list;
	struct kh_err err = { 0 };
	const char *spec;
	unsigned int nr;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	vm_config(opts, &cfg);
	if (kh_techniques(spec, &cfg, &list, &nr, &err))
		return report_error(opts, "%s", err.msg);
	if (opts->json)
		print_json(kh_json_techniques(list, nr));
	else
		print_text(list, nr);
	free(list);
	return 0;
}
