// SPDX-License-Identifier: GPL-2.0-only
/*
 * info, mem and lsmod as text: the guest OS as uname(2), /proc/uptime
 * and /proc/loadavg, memory as /proc/meminfo, modules as lsmod show them.
 */
#include <inttypes.h>
#include <string.h>

#include "keyhole.h"
#include "render.h"

/* The sizes of struct kh_os_info's strings. */
#define UTS_LEN 65
/* The sizes of struct kh_module's name and state. */
#define MODULE_NAME_LEN 56
#define MODULE_STATE_LEN 12

static void info_line(const json_t *doc, const char *label, const char *key,
		      FILE *out)
{
	char value[UTS_LEN];

	kh_printable(field_str(doc, key), sizeof(value), value);
	fprintf(out, "%-13s %s\n", label, value);
}

void render_info(const json_t *doc, FILE *out)
{
	const json_t *load = json_object_get(doc, "loadavg");

	info_line(doc, "sysname", "sysname", out);
	info_line(doc, "nodename", "nodename", out);
	info_line(doc, "release", "release", out);
	info_line(doc, "version", "version", out);
	info_line(doc, "machine", "machine", out);
	info_line(doc, "domainname", "domainname", out);
	fprintf(out, "uptime        %.2f s\n", field_real(doc, "uptime_s"));
	fprintf(out, "cpus online   %u\n",
		(unsigned int)field_int(doc, "cpus_online"));
	fprintf(out, "cpus possible %u\n",
		(unsigned int)field_int(doc, "cpus_possible"));
	fprintf(out, "loadavg       %.2f %.2f %.2f\n",
		json_number_value(json_array_get(load, 0)),
		json_number_value(json_array_get(load, 1)),
		json_number_value(json_array_get(load, 2)));
}

void render_mem(const json_t *doc, FILE *out)
{
	fprintf(out, "MemTotal:       %8" PRIu64 " kB\n",
		field_u64(doc, "total_kb"));
	fprintf(out, "MemFree:        %8" PRIu64 " kB\n",
		field_u64(doc, "free_kb"));
	fprintf(out, "MemAvailable:   %8" PRIu64 " kB\n",
		field_u64(doc, "available_kb"));
	fprintf(out, "Buffers:        %8" PRIu64 " kB\n",
		field_u64(doc, "buffers_kb"));
	fprintf(out, "Cached:         %8" PRIu64 " kB\n",
		field_u64(doc, "cached_kb"));
	fprintf(out, "Shmem:          %8" PRIu64 " kB\n",
		field_u64(doc, "shmem_kb"));
}

/* The size of "refcount a,b,c" (struct kh_module's used_by and more). */
#define USED_BY_LEN 300

/* Appends " a,b" (lsmod's users) to the count in buf. */
static void used_by(const json_t *names, char *buf, size_t size)
{
	size_t n = strlen(buf), i;
	const json_t *name;
	char text[MODULE_NAME_LEN];

	json_array_foreach(names, i, name) {
		if (n >= size)
			break;
		kh_printable(json_string_value(name) ?: "", sizeof(text), text);
		n += snprintf(buf + n, size - n, "%c%s", i ? ',' : ' ', text);
	}
}

const struct table_column lsmod_columns[] = {
	{ "Module", 0, "the module's name" },
	{ "Size", TABLE_RIGHT, "its size in bytes" },
	{ "Used by", 0,
	  "its reference count (- when not counted) and the modules\n"
	  "               that use it, as lsmod shows them" },
	{ "State", 0, "Live, Loading or Unloading" },
	{ NULL },
};

void render_lsmod(const json_t *doc, FILE *out)
{
	const json_t *modules = json_object_get(doc, "lsmod");
	struct table *t = table_new(lsmod_columns);
	char name[MODULE_NAME_LEN], state[MODULE_STATE_LEN], size[24];
	const json_t *module;
	size_t i;

	json_array_foreach(modules, i, module) {
		char used[USED_BY_LEN] = "-";
		int refcount = field_int(module, "refcount");
		const char *cells[] = { name, size, used, state };

		kh_printable(field_str(module, "name"), sizeof(name), name);
		kh_printable(field_str(module, "state"), sizeof(state), state);
		snprintf(size, sizeof(size), "%" PRIu64,
			 field_u64(module, "size_bytes"));
		/* -1: the kernel counts no users (no CONFIG_MODULE_UNLOAD). */
		if (refcount != -1)
			snprintf(used, sizeof(used), "%d", refcount);
		used_by(json_object_get(module, "used_by"), used,
			sizeof(used));
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}

const struct table_column mounts_columns[] = {
	{ "DEVICE", 0, "the device (or source) mounted, as /proc/PID/mounts" },
	{ "PATH", 0, "where it is mounted" },
	{ "TYPE", 0, "the file system type" },
	{ "OPTIONS", 0, "rw or ro and the generic options (not the file system's own)" },
	{ "ID", TABLE_RIGHT | TABLE_HIDDEN, "the mount's id, as mountinfo" },
	{ "PARENT", TABLE_RIGHT | TABLE_HIDDEN, "its parent's id, as mountinfo" },
	{ "NS", TABLE_RIGHT, "its mount namespace's inode number" },
	{ NULL },
};

/* The mounts as /proc/PID/mounts lists them, a namespace after another. */
void render_mounts(const json_t *doc, FILE *out)
{
	const json_t *mounts = json_object_get(doc, "mounts"), *m;
	struct table *t = table_new(mounts_columns);
	size_t i;

	json_array_foreach(mounts, i, m) {
		char id[16], parent[16], ns[24];
		const char *cells[] = {
			field_str(m, "devname"), field_str(m, "path"),
			field_str(m, "fstype"), field_str(m, "options"),
			id, parent, ns,
		};

		snprintf(id, sizeof(id), "%" PRId64,
			 (int64_t)field_int(m, "id"));
		snprintf(parent, sizeof(parent), "%" PRId64,
			 (int64_t)field_int(m, "parent_id"));
		snprintf(ns, sizeof(ns), "%" PRIu64, field_u64(m, "ns"));
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}

const struct table_column ebpf_columns[] = {
	{ "KIND", 0, "prog or map" },
	{ "ID", TABLE_RIGHT, "its id, as bpftool shows it" },
	{ "TYPE", 0, "its type, as bpftool names it" },
	{ "NAME", 0, "its name" },
	{ "DETAIL", 0, "a program's tag and sizes, a map's key, value and entries" },
	{ "ADDR", TABLE_HIDDEN, "its struct bpf_prog or bpf_map" },
	{ NULL },
};

/* Programs, then maps, as bpftool prog and bpftool map list them. */
void render_ebpf(const json_t *doc, FILE *out)
{
	static const char *const kinds[] = { "progs", "maps" };
	struct table *t = table_new(ebpf_columns);
	const json_t *o;
	unsigned int k;
	size_t i;

	for (k = 0; k < 2; k++)
		json_array_foreach(json_object_get(doc, kinds[k]), i, o) {
			char id[16], detail[160];
			const char *cells[] = {
				k ? "map" : "prog", id, field_str(o, "type"),
				field_str(o, "name"), detail,
				field_str(o, "addr"),
			};

			snprintf(id, sizeof(id), "%" PRIu64, field_u64(o, "id"));
			if (k)
				snprintf(detail, sizeof(detail),
					 "key %" PRIu64 "B value %" PRIu64 "B max_entries %" PRIu64,
					 field_u64(o, "key_size"),
					 field_u64(o, "value_size"),
					 field_u64(o, "max_entries"));
			else
				snprintf(detail, sizeof(detail),
					 "tag %s xlated %" PRIu64 "B jited %" PRIu64 "B",
					 field_str(o, "tag"),
					 field_u64(o, "xlated_bytes"),
					 field_u64(o, "jited_bytes"));
			table_row(t, cells);
		}
	table_print(t, out);
	table_free(t);
}

/*
 * The kernel log as dmesg prints it: "[seconds.micros] text", the text as
 * the document has it (escaped as /dev/kmsg escapes it, so nothing the
 * guest logged reaches the terminal as a control byte).
 */
void render_dmesg(const json_t *doc, FILE *out)
{
	const json_t *records = json_object_get(doc, "dmesg");
	const json_t *m;
	size_t i;

	json_array_foreach(records, i, m) {
		uint64_t ns = field_u64(m, "ts_ns");
		const char *text = json_string_value(json_object_get(m, "text"));
		size_t size = text ? strlen(text) + 1 : 1;
		char *line = malloc(size);

		if (!line)
			break;
		kh_printable(text ?: "", size, line);
		fprintf(out, "[%5" PRIu64 ".%06" PRIu64 "] %s\n",
			ns / 1000000000, ns % 1000000000 / 1000, line);
		free(line);
	}
}

/* The symbols as /proc/kallsyms lists them: "ffffffff81000000 T _text". */
void render_kallsyms(const json_t *doc, FILE *out)
{
	const json_t *symbols = json_object_get(doc, "kallsyms"), *s;
	size_t i;

	json_array_foreach(symbols, i, s)
		fprintf(out, "%016" PRIx64 " %.1s %s\n", field_hex(s, "addr"),
			field_str(s, "type"), field_str(s, "name"));
}
