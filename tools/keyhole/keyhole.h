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
	bool pretty;		/* JSON indented */
	bool debug;		/* the engine and libbpf explain on stderr */
	bool version, help;	/* asked for, anywhere on the line */
	const char *output;	/* the table's columns; NULL: all */
	bool noheadings, raw;	/* of tables */
	const char *technique;
	enum kh_layout_source layout;
	const char *cache_dir;
	const char *connect;	/* libvirt URI */
	const char *broker;	/* keyholed's socket; NULL: in-process */
	bool ram_file;		/* with broker: read the RAM file it hands over */
};

/*
 * One option of a command, or of keyhole itself: its name, its letter
 * (or a number from OPT_LONG_ONLY up when it has none), the name of its
 * value in help (NULL: it takes none) and its help.
 */
#define OPT_LONG_ONLY	256

struct cmd_option {
	const char *name;
	int key;
	const char *arg;
	const char *help;
	bool optional;		/* the value only as --name=VALUE */
};

#define OPTION(n, k, a, h) { .name = (n), .key = (k), .arg = (a), .help = (h) }

/* A command's options (key and value, in order) and arguments. */
#define CMD_ARGS_MAX	64

struct cmd_arg {
	int key;
	const char *value;
};

struct cmd_args {
	unsigned int nr_opts, nr_pos;
	struct cmd_arg opt[CMD_ARGS_MAX];
	const char *pos[CMD_ARGS_MAX];
};

/* Text from a query's document (render_*.c). */
typedef void render_fn(const json_t *doc, FILE *out);

/*
 * A table's column (table.c): its header, which --output names it by,
 * how it is laid out, and what it shows.
 */
#define TABLE_RIGHT	(1 << 0)	/* aligned right: a number */
#define TABLE_TRUNC	(1 << 1)	/* may be cut to fit a terminal */
#define TABLE_HIDDEN	(1 << 2)	/* shown only when --output names it */
#define TABLE_THREADS	(1 << 3)	/* shown by default in thread lists */

struct table_column {
	const char *name;
	unsigned int flags;
	const char *help;
};

struct table;

/* --output, --noheadings and --raw, for every table from now on. */
void table_setup(const struct options *opts);
/* Whether the tables list threads: TABLE_THREADS columns are then shown. */
void table_show_threads(bool threads);
/*
 * 0 when the options ask a table of cols (NULL: the command prints none)
 * only for columns it has; else -EINVAL and why (its columns named).
 */
int table_check(const struct options *opts,
		const struct table_column *cols, char *why, size_t size);
/* A table of cols (NULL-terminated) as the options say; NULL: no memory. */
struct table *table_new(const struct table_column *cols);
/*
 * One that draws the rows' tree, as ps --forest does, in the first column
 * of trees (ended by -1) that --output shows; none shown, no tree.
 */
struct table *table_new_tree(const struct table_column *cols,
			     const int *trees);
/* A row: one cell per column of cols, in their order. */
int table_row(struct table *t, const char *const *cells);
/* A row under parent (NULL: at the top); the row, or NULL: no memory. */
struct table_row;
struct table_row *table_row_under(struct table *t, struct table_row *parent,
				  const char *const *cells);
/* Prints t (nothing but a message if it is NULL). */
void table_print(struct table *t, FILE *out);
void table_free(struct table *t);

struct subcommand {
	const char *name;
	int (*run)(const struct options *opts, const struct subcommand *cmd,
		   const struct cmd_args *args);
	const char *usage;	/* arguments after the subcommand name */
	const char *summary;
	const struct cmd_option *options;	/* NULL-terminated, or NULL */
	const char *example;	/* arguments after "keyhole NAME" */
	render_fn *render;	/* of the query cmd_view, cmd_pid_view send */
	const struct table_column *columns;	/* of its table, if any */
};

extern const struct subcommand subcommands[];
extern const char *prog_name;

/* What VM is, for every help text and message that names it. */
#define VM_HELP \
	"VM is a QEMU pid, the path of its QMP socket, its -name or -uuid, the\n" \
	"name or UUID of a libvirt domain, or the path of a RAM dump (ELF or raw)\n" \
	"or migration stream. With --broker, keyholed attaches (or hands over the\n" \
	"RAM file, with --ram-file) and VM is never a path.\n"

#define EXIT_USAGE 2	/* the command line was wrong; nothing was done */

/*
 * The command line (args.c): keyhole's options into opts wherever they
 * are, the command into *cmdp (NULL if none was named), its options and
 * arguments into args. 0, or the exit status of a usage error it
 * reported. --help and --version only set opts.
 */
int parse_command_line(int argc, char **argv, struct options *opts,
		       const struct subcommand **cmdp, struct cmd_args *args);
/* keyhole's own options, for its help. */
const struct cmd_option *keyhole_options(void);
void print_options(const struct cmd_option *options, FILE *out);

/* Reports a usage error of cmd (or of keyhole, NULL); returns 2. */
int usage_error(const struct options *opts, const struct subcommand *cmd,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 0 when args has exactly nr arguments, else a usage error naming what. */
int expect_args(const struct options *opts, const struct subcommand *cmd,
		const struct cmd_args *args, unsigned int nr,
		const char *what);
/* An option's value as a whole number in [min, max], or a usage error. */
int parse_uint(const struct options *opts, const struct subcommand *cmd,
	       const char *option, const char *value, unsigned long min,
	       unsigned long max, unsigned long *out);
/* An option's value as a rate in Hz, above 0 (or 0 too), or a usage error. */
int parse_rate(const struct options *opts, const struct subcommand *cmd,
	       const char *option, const char *value, bool zero_ok,
	       double *out);

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


/*
 * Prints res as JSON or as render makes it text, warns as result_status()
 * does, releases res; the exit status.
 */
int show_result(const struct options *opts, struct kh_query_result *res,
		render_fn *render);

/* Prints a subcommand's help: usage, options, VM, an example. */
void subcommand_usage(const struct subcommand *cmd, FILE *out);

#define COMMAND(name) \
	int cmd_##name(const struct options *opts, \
		       const struct subcommand *cmd, \
		       const struct cmd_args *args); \
	extern const struct cmd_option name##_options[]

COMMAND(ps);
COMMAND(ss);
COMMAND(ip);
COMMAND(maps);
COMMAND(kallsyms);
COMMAND(check);
COMMAND(crawl);
COMMAND(watch);
COMMAND(list);

/* The commands whose one argument is a VM and which take no options. */
int cmd_view(const struct options *opts, const struct subcommand *cmd,
	     const struct cmd_args *args);
/* The same with -p PID, for one process (lsof, envars). */
extern const struct cmd_option pid_view_options[];
int cmd_pid_view(const struct options *opts, const struct subcommand *cmd,
		 const struct cmd_args *args);

/* The subcommand entry called name (for --help of each). */
const struct subcommand *subcommand_find(const char *name);

#endif
