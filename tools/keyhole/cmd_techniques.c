// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole techniques: every access technique with its class in the
 * taxonomy of Suneja et al. (VEE 2015), its properties, and whether it
 * can work on this VM, and if not, why and what would enable it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "keyhole.h"

static const struct {
	unsigned int bit;
	const char *name;
} props[] = {
	{ KH_TECHNIQUE_LIVE, "live" },
	{ KH_TECHNIQUE_HALTING, "halting" },
	{ KH_TECHNIQUE_SNAPSHOT, "snapshot" },
	{ KH_TECHNIQUE_AGENT, "agent" },
	{ KH_TECHNIQUE_INTERFACE, "interface" },
	{ KH_TECHNIQUE_MAPPED, "mapped" },
};

#define NR_PROPS (sizeof(props) / sizeof(props[0]))

static void print_text(const struct kh_technique *list, unsigned int nr)
{
	unsigned int i, p;

	printf("%-9s %-5s %-4s %-27s %s\n", "NAME", "CLASS", "OK",
	       "PROPERTIES", "WHY NOT");
	for (i = 0; i < nr; i++) {
		char text[128] = "";
		size_t len = 0;

		for (p = 0; p < NR_PROPS; p++)
			if (list[i].props & props[p].bit)
				len += snprintf(text + len, sizeof(text) - len,
						"%s%s", len ? "," : "",
						props[p].name);
		printf("%-9s %-5s %-4s %-27s %s\n", list[i].name,
		       list[i].klass, list[i].available ? "yes" : "no", text,
		       list[i].reason);
	}
}

static json_t *techniques_json(const struct kh_technique *list,
			       unsigned int nr)
{
	json_t *array = json_array();
	unsigned int i, p;

	for (i = 0; i < nr; i++) {
		json_t *t = json_pack("{s:s, s:s, s:s}", "name", list[i].name,
				      "class", list[i].klass,
				      "description", list[i].description);

		for (p = 0; p < NR_PROPS; p++)
			json_object_set_new(t, props[p].name,
				json_boolean(list[i].props & props[p].bit));
		json_object_set_new(t, "available",
				    json_boolean(list[i].available));
		if (!list[i].available)
			json_object_set_new(t, "reason",
					    json_string(list[i].reason));
		json_array_append_new(array, t);
	}
	return array;
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
		print_json(techniques_json(list, nr));
	else
		print_text(list, nr);
	free(list);
	return 0;
}
