/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The text tables of the keyhole command, each rendered from the JSON
 * document of its query (libkeyhole.h, "Queries") and nothing else, so
 * that a document that came over keyholed's socket prints the same bytes
 * as one made here. The text is what the commands printed from the
 * library's structs before there were queries, byte for byte: guest text
 * is made printable as it was then (a no-op on a document the library
 * made, a guard on one that came from elsewhere).
 */
#ifndef KEYHOLE_RENDER_H
#define KEYHOLE_RENDER_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "keyhole.h"
#include "libkeyhole.h"

/* The columns of the tables, for --output and each command's --help. */
extern const struct table_column ps_columns[], lsof_columns[],
	ss_columns[], lsmod_columns[], list_columns[], envars_columns[],
	creds_columns[], check_columns[], mounts_columns[], ebpf_columns[],
	bash_columns[], elfs_columns[], hooks_columns[];

/* render_processes.c */
void render_ps(const json_t *doc, FILE *out);
void render_ps_forest(const json_t *doc, FILE *out);
void render_lsof(const json_t *doc, FILE *out);
void render_maps(const json_t *doc, FILE *out);
void render_maps_all(const json_t *doc, FILE *out);
/* render_environ.c, render_bash.c, render_elfs.c, render_creds.c */
void render_envars(const json_t *doc, FILE *out);
void render_bash(const json_t *doc, FILE *out);
void render_elfs(const json_t *doc, FILE *out);
void render_creds(const json_t *doc, FILE *out);
/* render_check.c */
void render_hooks(const json_t *doc, FILE *out);
void render_check(const json_t *doc, FILE *out);
/* render_system.c */
void render_info(const json_t *doc, FILE *out);
void render_mem(const json_t *doc, FILE *out);
void render_lsmod(const json_t *doc, FILE *out);
void render_mounts(const json_t *doc, FILE *out);
void render_ebpf(const json_t *doc, FILE *out);
void render_dmesg(const json_t *doc, FILE *out);
void render_kallsyms(const json_t *doc, FILE *out);
/* render_network.c */
void render_ifconfig(const json_t *doc, FILE *out);
void render_ss(const json_t *doc, FILE *out);
void render_ip(const json_t *doc, FILE *out);
/* The ifconfig document as ip -j addr's; NULL: out of memory. */
json_t *ip_document(const json_t *doc, int stats);
/* render_vm.c */
void render_vm(const json_t *doc, FILE *out);
void render_techniques(const json_t *doc, FILE *out);

/*
 * A field of a document: a member that is missing or of another type
 * reads as "" or 0, so that a malformed document prints blanks rather
 * than crash the command.
 */
static inline const char *field_str(const json_t *obj, const char *key)
{
	/*
	 * Made printable here, whatever the field: a document from
	 * keyholed's socket (or whatever --broker names) must not write
	 * terminal escapes. A few slots, as a row prints several fields.
	 */
	static char slot[16][4096];
	static unsigned int next;
	const char *s = json_string_value(json_object_get(obj, key));
	char *out;

	if (!s || !s[0])
		return "";
	out = slot[next++ % 16];
	kh_printable(s, sizeof(slot[0]), out);
	return out;
}

static inline json_int_t field_int(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* Unsigned 64-bit values: the encoders store their bits as json_int_t. */
static inline uint64_t field_u64(const json_t *obj, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(obj, key));
}

static inline double field_real(const json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

/* An address, which the encoders write as a "0x..." string. */
static inline uint64_t field_hex(const json_t *obj, const char *key)
{
	return strtoull(field_str(obj, key), NULL, 16);
}

static inline int field_true(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

#endif
