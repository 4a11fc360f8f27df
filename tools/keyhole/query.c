// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where the commands get what they print. Every command names a query of
 * libkeyhole.h with its arguments as JSON, and prints the document it
 * gets back: as JSON, or as text rendered from that document alone
 * (render_*.c), never from the library's structs. Today the VM is
 * attached here and kh_query() answers; a keyhole that asks keyholed
 * instead replaces the session below with a socket round trip and prints
 * the same bytes.
 */
#include <stdio.h>

#include "keyhole.h"

int session_open(const struct options *opts, const char *spec,
		 struct query_session *s)
{
	*s = (struct query_session){ .spec = spec };
	return attach(opts, spec, &s->ctx, &s->vm);
}

void session_close(struct query_session *s)
{
	if (s->vm)
		detach(s->ctx, s->vm);
	*s = (struct query_session){ 0 };
}

/* Errors are reported here, as attach() reports its own; exit code 1. */
static int query_failed(const struct options *opts, json_t *args,
			const struct kh_err *err)
{
	json_decref(args);
	return report_error(opts, "%s", err->msg);
}

int session_query(const struct options *opts, struct query_session *s,
		  const char *name, json_t *args,
		  struct kh_query_result *res)
{
	struct kh_err err = { 0 };

	if (!args)
		return report_error(opts, "out of memory");
	if (kh_query(s->vm, name, args, res, &err))
		return query_failed(opts, args, &err);
	json_decref(args);
	return 0;
}

/* "techniques" lists what attaching could use: it must not attach. */
static int query_techniques(const struct options *opts, const char *spec,
			    json_t *args, struct kh_query_result *res)
{
	struct kh_err err = { 0 };
	struct kh_vm_config cfg;

	vm_config(opts, &cfg);
	if (kh_query_techniques(spec, &cfg, res, &err))
		return query_failed(opts, args, &err);
	json_decref(args);
	return 0;
}

int run_query(const struct options *opts, const char *spec,
	      const char *name, json_t *args, struct kh_query_result *res)
{
	struct query_session s;
	int ret;

	if (kh_query_known(name) == 2)
		return query_techniques(opts, spec, args, res);
	if (session_open(opts, spec, &s)) {
		json_decref(args);
		return 1;
	}
	ret = session_query(opts, &s, name, args, res);
	session_close(&s);
	return ret;
}

int show_result(const struct options *opts, struct kh_query_result *res,
		render_fn *render)
{
	int status;

	if (opts->json)
		print_json(json_incref(res->doc));
	else
		render(res->doc, stdout);
	status = result_status(res->flags, res->problem);
	kh_query_result_release(res);
	return status;
}
