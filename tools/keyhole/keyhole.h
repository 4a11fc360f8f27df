/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The keyhole command: shared options and helpers of the subcommands.
 */
#ifndef KEYHOLE_TOOL_H
#define KEYHOLE_TOOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "libkeyhole.h"
#include "proto.h"

struct options {
	bool json;
	const char *technique;
	enum kh_layout_source layout;
	const char *cache_dir;
	const char *connect;	/* libvirt URI */
	const char *broker;	/* keyholed's socket; NULL: in-process */
	bool ram_file;		/* with broker: read the RAM file it hands over */
};

struct subcommand {
	const char *name;
	int (*run)(const struct options *opts, int argc, char **argv);
	const char *usage;	/* arguments after the subcommand name */
	const char *summary;
};

extern const struct subcommand subcommands[];
extern const char *prog_name;

/* Reports an error (as {"error": ...} with --json); returns exit code 1. */
int report_error(const struct options *opts, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Attaches through the RAM file keyholed hands over (--broker
 * --ram-file, ram_file.c); reports its errors, exit code 1.
 */
int attach_ram_file(const struct options *opts, const char *spec,
		    struct kh_ctx **ctxp, struct kh_vm **vmp);

/*
 * keyholed's list of VMs (list_broker.c), as kh_qemu_discover() lists
 * them; reports its errors, exit code 1.
 */
int broker_list(const struct options *opts, struct kh_qemu_proc **listp,
		unsigned int *nrp);

/* The VM settings of the options and the environment (keyhole.1). */
void vm_config(const struct options *opts, struct kh_vm_config *cfg);

/* The kernel profile cache directory (keyhole.1), maybe composed in buf. */
const char *cache_dir(const struct options *opts, char *buf, size_t size);

/* Opens a context and attaches to spec, reporting failures. */
int attach(const struct options *opts, const char *spec,
	   struct kh_ctx **ctxp, struct kh_vm **vmp);
void detach(struct kh_ctx *ctx, struct kh_vm *vm);
/* The technique the result was read with, for print_json (copied). */
void set_used_technique(const char *name);
/* A signal arrived that waits for detach: stop looping and detach. */
int interrupted(void);

/*
 * For commands whose only argument is a VM: handles --help and a wrong
 * argument count. The VM spec, or NULL with *status the exit code.
 */
const char *only_vm_argument(const struct options *opts, int argc,
			     char **argv, int *status);

#define EXIT_PARTIAL 3	/* printed what could be read; see the warning */

/* Warns about a result marked incomplete or inconsistent; exit status. */
int result_status(unsigned int flags, const char *problem);

/* Prints and frees a JSON document. */
int print_json(json_t *doc);

/*
 * Where the commands' documents come from (query.c): a session with one
 * VM, which the queries of libkeyhole.h are sent to. Each call that fails
 * has reported why and returns exit code 1. args is a new reference that
 * the call takes (NULL: out of memory).
 */
struct query_session {
	const char *spec;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	struct kh_proto_conn broker;	/* with --broker: keyholed instead */
	json_int_t next_id;
};

int session_open(const struct options *opts, const char *spec,
		 struct query_session *s);
int session_query(const struct options *opts, struct query_session *s,
		  const char *name, json_t *args,
		  struct kh_query_result *res);
void session_close(struct query_session *s);

/* One query in a session of its own (or none, for "techniques"). */
int run_query(const struct options *opts, const char *spec,
	      const char *name, json_t *args, struct kh_query_result *res);

/* Text from a query's document (render_*.c). */
typedef void render_fn(const json_t *doc, FILE *out);

/*
 * Prints res as JSON or as render makes it text, warns as result_status()
 * does, releases res; the exit status.
 */
int show_result(const struct options *opts, struct kh_query_result *res,
		render_fn *render);

/* Prints a subcommand's usage. */
void subcommand_usage(const struct subcommand *cmd, FILE *out);

int cmd_ps(const struct options *opts, int argc, char **argv);
int cmd_vm(const struct options *opts, int argc, char **argv);
int cmd_info(const struct options *opts, int argc, char **argv);
int cmd_mem(const struct options *opts, int argc, char **argv);
int cmd_lsmod(const struct options *opts, int argc, char **argv);
int cmd_ifconfig(const struct options *opts, int argc, char **argv);
int cmd_lsof(const struct options *opts, int argc, char **argv);
int cmd_netstat(const struct options *opts, int argc, char **argv);
int cmd_maps(const struct options *opts, int argc, char **argv);
int cmd_crawl(const struct options *opts, int argc, char **argv);
int cmd_watch(const struct options *opts, int argc, char **argv);
int cmd_techniques(const struct options *opts, int argc, char **argv);
int cmd_list(const struct options *opts, int argc, char **argv);

/* The subcommand entry called name (for --help of each). */
const struct subcommand *subcommand_find(const char *name);

#endif
