// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: what keyhole finds about the guest kernel from guest RAM alone
 * is what the guest says about itself: the kernel release, the KASLR'd
 * address of _text (from the guest's /proc/kallsyms) and so the KASLR
 * slide (against the link address of _text in the very kernel image the
 * guest booted), the physical address of the kernel ("Kernel code" in
 * its /proc/iomem), the base of the direct map (from its /proc/kcore),
 * and 4- or 5-level paging (la57 in its /proc/cpuinfo); and that the RAM
 * layout covers the
 * below- and above-4 GiB ranges, the same whether learnt from QMP or, for
 * a memfd backend, from /proc/PID/maps; and that for anonymous RAM the
 * maps path refuses with advice instead of guessing.
 */
#include <elf.h>
#include <inttypes.h>

#include "guest.h"

/* The guest's own view of where its kernel is (truth "kernel"). */
struct guest_kernel {
	uint64_t text;			/* _text, virtual */
	uint64_t code;			/* "Kernel code", physical */
	uint64_t page_offset_base;	/* the direct map */
};

static uint64_t hexval(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	CHECK(s, "no %s in keyhole vm output", key);
	return strtoull(s, NULL, 16);
}

static void guest_kernel(const struct guest *g, struct guest_kernel *k)
{
	char *out = guest_truth(g, "kernel");

	CHECK(sscanf(out, "text %" SCNx64 " kernel_code %" SCNx64
		     " page_offset_base %" SCNx64, &k->text, &k->code,
		     &k->page_offset_base) == 3,
	      "unexpected truth kernel reply: %s", out);
	free(out);
}

/*
 * _text's link-time address: where the kernel image the guest booted
 * (KH_GUEST_IMAGES/vmlinux, which bzImage carries too) loads its text.
 */
static uint64_t link_text(void)
{
	char path[4096];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint64_t text = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/vmlinux",
		 env_or("KH_GUEST_IMAGES", "build/guest"));
	f = fopen(path, "r");
	CHECK(f && fread(&eh, sizeof(eh), 1, f) == 1 &&
	      !memcmp(eh.e_ident, ELFMAG, SELFMAG),
	      "cannot read the ELF header of %s", path);
	for (i = 0; i < eh.e_phnum && !text; i++) {
		CHECK(!fseek(f, eh.e_phoff + i * sizeof(ph), SEEK_SET) &&
		      fread(&ph, sizeof(ph), 1, f) == 1,
		      "cannot read %s's program headers", path);
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			text = ph.p_vaddr;
	}
	fclose(f);
	CHECK(text, "no text segment in %s", path);
	return text;
}

static uint64_t ram_total(json_t *ram)
{
	uint64_t total = 0;
	size_t i;
	json_t *range;

	json_array_foreach(ram, i, range)
		total += json_integer_value(json_object_get(range, "size_bytes"));
	return total;
}

/*
 * Above 1 MiB the two layouts must agree exactly. Below it QMP shows the
 * firmware's current PAM shadowing of 0xc0000-0xfffff, which /proc/PID/maps
 * cannot know; both must still start RAM at GPA 0 at the same address.
 */
static int same_high_ram(json_t *maps, json_t *qmp)
{
	json_t *a = json_array(), *b = json_array(), *range;
	size_t i;
	int same;

	json_array_foreach(maps, i, range)
		if (hexval(range, "gpa") >= 0x100000)
			json_array_append(a, range);
	json_array_foreach(qmp, i, range)
		if (hexval(range, "gpa") >= 0x100000)
			json_array_append(b, range);
	same = json_array_size(a) > 0 && json_equal(a, b) &&
	       hexval(json_array_get(maps, 0), "gpa") == 0 &&
	       json_equal(json_object_get(json_array_get(maps, 0), "hva"),
			  json_object_get(json_array_get(qmp, 0), "hva"));
	json_decref(a);
	json_decref(b);
	return same;
}

int main(int argc, char **argv)
{
	json_t *doc, *maps, *ram;
	char *uname, *la57;
	struct guest_kernel k;
	uint64_t text, link;
	struct guest g;
	int status;
	size_t i;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	doc = keyhole_json(&status, "vm %d", g.pid);
	CHECK(status == 0, "keyhole vm failed: %s", json_dumps(doc, 0));

	uname = guest_truth(&g, "uname");
	uname[strcspn(uname, "\n")] = '\0';
	CHECK(!strcmp(uname, json_string_value(json_object_get(doc,
							"kernel_release"))),
	      "kernel release '%s', guest says '%s'",
	      json_string_value(json_object_get(doc, "kernel_release")), uname);

	guest_kernel(&g, &k);
	text = k.text;
	link = link_text();
	CHECK(hexval(doc, "kernel_virt") == text,
	      "_text at 0x%" PRIx64 ", guest says 0x%" PRIx64,
	      hexval(doc, "kernel_virt"), text);
	CHECK(hexval(doc, "kaslr_slide") == text - link,
	      "KASLR slide 0x%" PRIx64 ", guest's _text 0x%" PRIx64
	      " is linked at 0x%" PRIx64, hexval(doc, "kaslr_slide"), text,
	      link);
	CHECK(hexval(doc, "kernel_phys") == k.code,
	      "kernel at physical 0x%" PRIx64 ", the guest's iomem says 0x%"
	      PRIx64, hexval(doc, "kernel_phys"), k.code);
	CHECK(hexval(doc, "page_offset_base") == k.page_offset_base,
	      "page_offset_base 0x%" PRIx64 ", the guest's kcore says 0x%"
	      PRIx64, hexval(doc, "page_offset_base"), k.page_offset_base);
	if (!strcmp(g.boot, "pvh"))
		CHECK(text == link, "PVH boot has no KASLR");

	la57 = guest_truth(&g, "la57");
	CHECK(json_integer_value(json_object_get(doc, "paging_levels")) ==
	      (!strncmp(la57, "yes", 3) ? 5 : 4),
	      "paging levels %lld, guest la57: %s",
	      json_integer_value(json_object_get(doc, "paging_levels")), la57);

	ram = json_object_get(doc, "ram");
	CHECK(!strcmp(json_string_value(json_object_get(doc, "layout_source")),
		      "qmp"), "the layout should come from QMP when QEMU has it");
	if (!strcmp(g.machine, "q35") && ram_total(ram) > (2ULL << 30)) {
		int above = 0;
		json_t *range;

		json_array_foreach(ram, i, range)
			above |= hexval(range, "gpa") >= (4ULL << 30);
		CHECK(above, "no RAM range above 4 GiB on a 3 GiB q35 guest");
	}

	maps = keyhole_json(&status, "--layout maps vm %d", g.pid);
	if (!strcmp(g.ram, "memfd")) {
		CHECK(status == 0, "maps layout failed: %s", json_dumps(maps, 0));
		CHECK(same_high_ram(json_object_get(maps, "ram"), ram),
		      "maps layout %s differs from QMP layout %s",
		      json_dumps(json_object_get(maps, "ram"), 0),
		      json_dumps(ram, 0));
		CHECK(hexval(maps, "kernel_virt") == text &&
		      hexval(maps, "kaslr_slide") == text - link &&
		      hexval(maps, "kernel_phys") == k.code &&
		      hexval(maps, "page_offset_base") == k.page_offset_base,
		      "kernel found differently through the maps layout");
	} else {
		const char *msg = json_string_value(json_object_get(maps,
								    "error"));

		CHECK(status != 0 && msg, "anonymous RAM without QMP must fail");
		CHECK(strstr(msg, "memory-backend") || strstr(msg, "-qmp"),
		      "the error should say how to start QEMU: %s", msg);
	}
	printf("kernel %s at 0x%" PRIx64 ", %lld-level paging, %zu RAM ranges\n",
	       uname, text,
	       json_integer_value(json_object_get(doc, "paging_levels")),
	       json_array_size(ram));
	return KH_PASS;
}
