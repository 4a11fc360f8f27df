/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The text forms of result fields that the encoders share with the public
 * kh_format_* helpers (format.c), and only the encoders need.
 */
#ifndef KH_JSON_FORMAT_H
#define KH_JSON_FORMAT_H

#include "libkeyhole.h"

/* A connection's address without port: "127.0.0.1", "::1"; unix: "". */
void kh_conn_addr(const struct kh_conn *conn, const uint8_t *addr,
		  char *out, size_t size);

/* A unix socket's bound path, printable; "" for none. size > 0. */
void kh_conn_path(const struct kh_conn *conn, char *out, size_t size);

/*
 * argv from guest memory (NUL-separated, as /proc/PID/cmdline), one
 * printable string per argument: not kh_printable(), which would stop at
 * the first NUL. An array, or NULL when out of memory.
 */
json_t *kh_json_argv(const char *cmdline, size_t len);

/* The task with this pid in tasks sorted by pid (as kh_format_comm). */
const struct kh_task *kh_task_of(const struct kh_task_list *tasks,
				 int32_t pid);

/* The KH_TECHNIQUE_* properties by name, in the order they are shown. */
struct kh_technique_prop {
	unsigned int bit;
	const char *name;
};
extern const struct kh_technique_prop kh_technique_props[];
extern const unsigned int kh_nr_technique_props;

#endif
