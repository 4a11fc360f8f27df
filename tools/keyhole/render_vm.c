// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm and techniques as text: what keyhole learnt while attaching (the
 * QEMU process, the RAM layout, the technique, the guest kernel's
 * placement), and which access techniques work on the VM.
 */
#include <inttypes.h>

#include "keyhole.h"
#include "render.h"

void render_vm(const json_t *doc, FILE *out)
{
	const json_t *range;
	uint64_t gpa;
	size_t i;

	fprintf(out, "pid              %d\n", (int)field_int(doc, "pid"));
	fprintf(out, "name             %s\n", field_str(doc, "name"));
	fprintf(out, "technique        %s\n", field_str(doc, "technique"));
	fprintf(out, "layout source    %s\n",
		field_str(doc, "layout_source"));
	json_array_foreach(json_object_get(doc, "ram"), i, range) {
		gpa = field_hex(range, "gpa");
		fprintf(out, "ram              gpa 0x%09" PRIx64 "-0x%09" PRIx64
			" at hva 0x%" PRIx64 "\n", gpa,
			gpa + field_u64(range, "size_bytes") - 1,
			field_hex(range, "hva"));
	}
	fprintf(out, "kernel           %s\n",
		field_str(doc, "kernel_release"));
	fprintf(out, "kernel phys      0x%" PRIx64 "\n",
		field_hex(doc, "kernel_phys"));
	fprintf(out, "kernel virt      0x%" PRIx64 " (KASLR slide 0x%" PRIx64
		")\n", field_hex(doc, "kernel_virt"),
		field_hex(doc, "kaslr_slide"));
	fprintf(out, "page_offset_base 0x%" PRIx64 "\n",
		field_hex(doc, "page_offset_base"));
	fprintf(out, "paging levels    %u\n",
		(unsigned int)field_int(doc, "paging_levels"));
	fprintf(out, "profile          %s\n",
		field_true(doc, "profile_cached") ? "from cache" :
		"built from guest RAM");
	fprintf(out, "attach time      %.1f ms\n", field_real(doc, "attach_ms"));
}

/* The properties' members of a technique, as libkeyhole.h names them. */
static const struct {
	const char *key;
	unsigned int bit;
} technique_props[] = {
	{ "live", KH_TECHNIQUE_LIVE },
	{ "halting", KH_TECHNIQUE_HALTING },
	{ "snapshot", KH_TECHNIQUE_SNAPSHOT },
	{ "agent", KH_TECHNIQUE_AGENT },
	{ "interface", KH_TECHNIQUE_INTERFACE },
	{ "mapped", KH_TECHNIQUE_MAPPED },
};

void render_techniques(const json_t *doc, FILE *out)
{
	const json_t *list = json_object_get(doc, "techniques");
	const json_t *t;
	unsigned int props, p;
	char text[128];
	size_t i;

	fprintf(out, "%-9s %-5s %-4s %-27s %s\n", "NAME", "CLASS", "OK",
		"PROPERTIES", "WHY NOT");
	json_array_foreach(list, i, t) {
		props = 0;
		for (p = 0; p < sizeof(technique_props) /
				sizeof(technique_props[0]); p++)
			if (field_true(t, technique_props[p].key))
				props |= technique_props[p].bit;
		/* The library's one text form of the properties. */
		kh_format_technique_props(props, text, sizeof(text));
		fprintf(out, "%-9s %-5s %-4s %-27s %s\n", field_str(t, "name"),
			field_str(t, "class"),
			field_true(t, "available") ? "yes" : "no", text,
			field_str(t, "reason"));
	}
}
