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
	char why[512];

	*s = (struct query_session){ .spec = spec, .broker = { .fd = -1 } };
	if (!opts->broker)
		return attach(opts, spec, &s->ctx, &s->vm);
	if (opts->ram_file)
		return attach_ram_file(opts, spec, &s->ctx, &s->vm);
	if (kh_proto_connect(opts->broker, &s->broker, why, sizeof(why)))
		return report_error(opts, "%s", why);
	return 0;
}

void session_close(struct query_session *s)
{
	if (s->vm)
		detach(s->ctx, s->vm);
	kh_proto_close(&s->broker);
	*s = (struct query_session){ 0 };
}

static const char *const layout_names[] = {
	[KH_LAYOUT_AUTO] = "auto", [KH_LAYOUT_QMP] = "qmp",
	[KH_LAYOUT_MAPS] = "maps",
};

/*
 * The query as keyholed's request: the query's arguments plus the VM and
 * the attach options (Documentation/broker-protocol.md). keyholed answers
 * with the document kh_query() would have made, the technique that read
 * it and the result's flags, so that what is printed is the same.
 */
static int broker_query(const struct options *opts, struct query_session *s,
			const char *name, json_t *args,
			struct kh_query_result *res)
{
	json_int_t id = ++s->next_id;
	json_t *reply, *error, *result;
	char why[512];

	json_object_set_new(args, "vm", json_string(s->spec));
	if (opts->technique)
		json_object_set_new(args, "technique",
				    json_string(opts->technique));
	if (opts->layout != KH_LAYOUT_AUTO)
		json_object_set_new(args, "layout",
				    json_string(layout_names[opts->layout]));
	if (kh_proto_send(&s->broker, name, args, id, why, sizeof(why)))
		return report_error(opts, "%s", why);
	for (;;) {
		if (kh_proto_receive(&s->broker, &reply, why, sizeof(why)))
			return report_error(opts, "%s", why);
		if (json_integer_value(json_object_get(reply, "id")) == id)
			break;
		json_decref(reply);	/* an event: not ours to print */
	}
	error = json_object_get(reply, "error");
	if (error) {
		report_error(opts, "%s", json_string_value(json_object_get(
				error, "desc")) ?: "keyholed refused the query");
		json_decref(reply);
		return 1;
	}
	*res = (struct kh_query_result){
		.doc = json_incref(json_object_get(reply, "return")),
	};
	/* What the commands rely on (kh_json_result()): never an array. */
	if (!json_is_object(res->doc)) {
		json_decref(res->doc);
		res->doc = NULL;
		json_decref(reply);
		return report_error(opts, "keyholed's reply has no document as this keyhole reads it");
	}
	set_used_technique(json_string_value(json_object_get(reply,
							     "technique")));
	result = json_object_get(reply, "result");
	if (result) {
		if (json_is_true(json_object_get(result, "incomplete")))
			res->flags |= KH_RESULT_INCOMPLETE;
		if (json_is_true(json_object_get(result, "inconsistent")))
			res->flags |= KH_RESULT_INCONSISTENT;
		snprintf(res->problem, sizeof(res->problem), "%s",
			 json_string_value(json_object_get(result,
							   "problem")) ?: "");
	}
	json_decref(reply);
	return 0;
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
	if (opts->broker && !s->vm)
		return broker_query(opts, s, name, args, res);
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

	if (kh_query_known(name) == 2 && opts->ram_file) {
		json_decref(args);
		return report_error(opts, "--ram-file reads the VM one way (memmap on the file keyholed hands over, or kmap on keyhole.ko's mapping): there are no techniques to list");
	}
	if (kh_query_known(name) == 2 && !opts->broker)
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
