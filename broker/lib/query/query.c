// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * query/: each keyhole command's read as a named query with JSON
 * arguments and a JSON document as its answer (libkeyhole.h, "Queries"),
 * so that the keyhole command and keyholed answer a command with the same
 * code: this file holds the table of queries and the public calls,
 * args.c checks arguments, and one file per group holds the reads
 * (processes.c, system.c, network.c, crawl.c).
 *
 * Like json/, the folder calls only libkeyhole.h and jansson, never the
 * engine's insides: it is a user of the public API that lives in the
 * library so that every program has the same one. The one exception is
 * err.h, the library's single way of filling a struct kh_err, which
 * knows nothing of the engine.
 *
 * Arguments are checked before the VM is touched: a daemon can refuse a
 * bad request before it attaches, and the checks are tested without one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/page_cache.h"
#include "query/query.h"
#include "vm.h"

/* The order keyhole --help lists them in. */
static const struct kh_query_op *const queries[] = {
	&kh_query_ps, &kh_query_vm, &kh_query_info, &kh_query_mem,
	&kh_query_lsmod, &kh_query_dmesg, &kh_query_mounts, &kh_query_ebpf,
	&kh_query_kallsyms,
	&kh_query_ifconfig, &kh_query_lsof,
	&kh_query_netstat, &kh_query_maps, &kh_query_envars, &kh_query_creds,
	&kh_query_bash, &kh_query_elfs, &kh_query_libs,
	&kh_query_check, &kh_query_kprobes, &kh_query_ftrace,
	&kh_query_netfilter,
	&kh_query_crawl,
	NULL,
};

/* Needs no attached VM: kh_query_techniques() answers it. */
static const char techniques_name[] = "techniques";

const struct kh_query_arg kh_query_no_args[] = { { NULL, 0, 0, 0 } };

int kh_query_done(const char *key, json_t *doc,
		  const struct kh_result *result, struct kh_query_result *res,
		  struct kh_err *err)
{
	/* A list becomes a document; every document says how it went. */
	if (json_is_array(doc)) {
		doc = kh_json_listing(key, doc, result);
	} else if (doc && kh_json_result(doc, result)) {
		json_decref(doc);
		doc = NULL;
	}
	/*
	 * Out of memory, or a string jansson refused: kh_json_vm_info()
	 * keeps the guest's banner as it is, and it may not be UTF-8.
	 */
	if (!doc)
		return kh_err_set(err, EILSEQ,
				     "%s: the result cannot be made JSON (text that is not valid UTF-8, or out of memory)",
				     key);
	res->doc = doc;
	if (result) {
		res->flags = result->flags;
		snprintf(res->problem, sizeof(res->problem), "%s",
			 result->problem);
	}
	return 0;
}

int kh_query_hold(struct kh_vm *vm, int *held, struct kh_err *err)
{
	int ret;

	*held = 0;
	if (!vm->acc.ops || !vm->acc.ops->pause)
		return 0;
	ret = kh_vm_pause(vm, err);
	*held = !ret;
	return ret;
}

int kh_query_release(struct kh_vm *vm, int held, int ret, struct kh_err *err)
{
	int resumed = held ? kh_vm_resume(vm, ret ? NULL : err) : 0;

	return ret ? ret : resumed;
}

static const struct kh_query_op *find(const char *name)
{
	const struct kh_query_op *const *op;

	for (op = queries; *op; op++)
		if (!strcmp((*op)->name, name))
			return *op;
	return NULL;
}

int kh_query_known(const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, techniques_name))
		return 2;
	return find(name) ? 1 : 0;
}

int kh_query(struct kh_vm *vm, const char *name, const json_t *args,
	     struct kh_query_result *res, struct kh_err *err)
{
	const struct kh_query_op *op;
	struct kh_query_args parsed;
	char shown[64];
	int ret;

	if (!res)
		return kh_err_set(err, EINVAL, "no result to fill");
	*res = (struct kh_query_result){ 0 };
	if (!name)
		return kh_err_set(err, EINVAL, "no query name");
	op = find(name);
	if (!op) {
		if (!strcmp(name, techniques_name))
			return kh_err_set(err, EINVAL,
					     "techniques: not a query on an attached VM (kh_query_techniques())");
		/* The name may come from a client: it reaches a terminal. */
		kh_printable(name, sizeof(shown), shown);
		return kh_err_set(err, EINVAL, "unknown query '%s'",
				     shown);
	}
	ret = kh_query_parse_args(op, args, &parsed, err);
	if (!ret && op->check)
		ret = op->check(&parsed, err);
	if (ret)
		return ret;
	if (!vm)
		return kh_err_set(err, EINVAL, "%s: no VM", name);
	if (op->own_cache)
		return op->run(vm, &parsed, res, err);
	/*
	 * One query is one operation: each guest page it needs is read
	 * once, however many walks ask for it (the page cache, as a crawl
	 * has; walkers that must see a change again read afresh).
	 */
	kh_page_cache_begin(vm);
	ret = op->run(vm, &parsed, res, err);
	kh_page_cache_end(vm);
	return ret;
}

int kh_query_techniques(const char *spec, const struct kh_vm_config *cfg,
			struct kh_query_result *res, struct kh_err *err)
{
	struct kh_technique *list;
	unsigned int nr;
	int ret;

	if (!res)
		return kh_err_set(err, EINVAL, "no result to fill");
	*res = (struct kh_query_result){ 0 };
	if (!spec)
		return kh_err_set(err, EINVAL, "techniques: no VM");
	ret = kh_techniques(spec, cfg, &list, &nr, err);
	if (ret)
		return ret;
	ret = kh_query_done(techniques_name, kh_json_techniques(list, nr),
			    NULL, res, err);
	free(list);
	return ret;
}

void kh_query_result_release(struct kh_query_result *res)
{
	if (!res)
		return;
	json_decref(res->doc);
	*res = (struct kh_query_result){ 0 };
}
