/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The queries' shared parts: how a query is declared (its name, the
 * arguments it accepts, the read behind it), the checked arguments, and
 * how a read becomes a struct kh_query_result.
 */
#ifndef KH_QUERY_H
#define KH_QUERY_H

#include <stddef.h>

#include "err.h"
#include "libkeyhole.h"

/* The longest text argument, with its NUL. */
#define KH_QUERY_TEXT_MAX 128

/* Every query's arguments once checked; what was not given is 0. */
struct kh_query_args {
	int threads;		/* ps */
	int32_t pid;		/* lsof, maps */
	int all;		/* maps: every process's */
	int pause;		/* crawl */
	int summary;		/* crawl */
	int check;		/* crawl: every rootkit check too */
	unsigned int iteration;	/* crawl */
	unsigned int budget_ms;	/* crawl */
	unsigned int budget_kib;	/* crawl */
	char match[KH_QUERY_TEXT_MAX];	/* kallsyms, check's only; "" none */
};

enum kh_query_arg_type {
	KH_QUERY_BOOL,		/* true or false, into an int */
	KH_QUERY_PID,		/* an integer > 0, into an int32_t */
	KH_QUERY_INDEX,		/* an integer >= 0, into an unsigned int */
	KH_QUERY_TEXT,		/* printable ASCII, 1 to KH_QUERY_TEXT_MAX - 1
				 * bytes, into a char[KH_QUERY_TEXT_MAX] */
};

/* One key a query accepts; any other key is EINVAL. */
struct kh_query_arg {
	const char *key;
	enum kh_query_arg_type type;
	int required;
	size_t offset;		/* of its member in struct kh_query_args */
};

struct kh_query_op {
	const char *name;
	const struct kh_query_arg *args;	/* up to a NULL key */
	/* Reads, sorts and encodes; vm is never NULL here. */
	int (*run)(struct kh_vm *vm, const struct kh_query_args *args,
		   struct kh_query_result *res, struct kh_err *err);
	/* What the arguments must be together, or NULL: 0 or -EINVAL. */
	int (*check)(const struct kh_query_args *args, struct kh_err *err);
	/*
	 * The op scopes its own page cache (a crawl, which can be asked to
	 * run uncached): kh_query() opens none around it.
	 */
	int own_cache;
};

extern const struct kh_query_op kh_query_ps, kh_query_lsof, kh_query_maps,
	kh_query_envars, kh_query_creds, kh_query_bash, kh_query_elfs,
	kh_query_libs, kh_query_kprobes, kh_query_ftrace, kh_query_netfilter;
extern const struct kh_query_op kh_query_vm, kh_query_info, kh_query_mem,
	kh_query_lsmod, kh_query_dmesg, kh_query_kallsyms, kh_query_mounts,
	kh_query_ebpf;
extern const struct kh_query_op kh_query_ifconfig, kh_query_netstat;
extern const struct kh_query_op kh_query_crawl, kh_query_check;

/*
 * A halting technique (ptrace, gdbstub) halts the guest for each read
 * operation and lets it run after; a query of several (a walk, then its
 * details) holds it once, so that all see the same guest. hold sets
 * *held when it paused; release resumes then, and returns ret, or the
 * resume's error when ret was 0.
 */
int kh_query_hold(struct kh_vm *vm, int *held, struct kh_err *err);
int kh_query_release(struct kh_vm *vm, int held, int ret, struct kh_err *err);

/* An op without arguments. */
extern const struct kh_query_arg kh_query_no_args[];

/* Checks json (NULL: {}) against op->args and fills args. */
int kh_query_parse_args(const struct kh_query_op *op, const json_t *json,
			struct kh_query_args *args, struct kh_err *err);

/*
 * Gives res the document doc (a new reference, or NULL when an encoder
 * failed) and the flags of result (NULL: none). The document keeps the
 * rule of kh_json_result(): a list (an array) goes under key, the name
 * of the command that shows it, which also names the query in errors.
 */
int kh_query_done(const char *key, json_t *doc,
		  const struct kh_result *result, struct kh_query_result *res,
		  struct kh_err *err);

#endif
