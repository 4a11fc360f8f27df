// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * keyhole check's report as JSON (kh_json_check): each finding with only
 * the evidence it has (no pid for a hooked table entry, no target for a
 * hidden process), kernel addresses as "0x..." strings, and every text
 * that came from the guest (names in the sentence too) made printable.
 */
#include <inttypes.h>
#include <stdio.h>

#include "json/format.h"

static int set_text(json_t *obj, const char *key, const char *text,
		    size_t size)
{
	char buf[256];

	if (!text[0])
		return 0;
	kh_printable(text, size < sizeof(buf) ? size : sizeof(buf), buf);
	return json_object_set_new(obj, key, json_string(buf));
}

static int set_addr(json_t *obj, const char *key, uint64_t va)
{
	char buf[24];

	if (!va)
		return 0;
	snprintf(buf, sizeof(buf), "0x%" PRIx64, va);
	return json_object_set_new(obj, key, json_string(buf));
}

static json_t *finding_json(const struct kh_finding *f)
{
	json_t *o = json_pack("{s:s}", "check", kh_check_name(f->check));

	if (!o || set_text(o, "what", f->what, sizeof(f->what)) ||
	    (f->pid && json_object_set_new(o, "pid", json_integer(f->pid))) ||
	    set_text(o, "comm", f->comm, sizeof(f->comm)) ||
	    set_addr(o, "addr", f->addr) || set_addr(o, "end", f->end) ||
	    set_addr(o, "target", f->target) ||
	    set_text(o, "target_symbol", f->target_sym,
		     sizeof(f->target_sym)) ||
	    set_text(o, "owner", f->owner, sizeof(f->owner)) ||
	    set_text(o, "expected", f->expected, sizeof(f->expected)) ||
	    set_text(o, "hooked", f->hooked, sizeof(f->hooked)) ||
	    set_text(o, "role", f->role, sizeof(f->role)) ||
	    (f->netns &&
	     json_object_set_new(o, "netns", json_integer(f->netns)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A hook as kh_hooks() lists it: every field, empty or not. */
static json_t *hook_json(const struct kh_finding *f)
{
	char what[sizeof(f->what)], hooked[sizeof(f->hooked)],
	     sym[sizeof(f->target_sym)], owner[sizeof(f->owner)],
	     role[sizeof(f->role)], addr[24], target[24];
	json_t *o;

	kh_printable(f->what, sizeof(what), what);
	kh_printable(f->hooked, sizeof(hooked), hooked);
	kh_printable(f->target_sym, sizeof(sym), sym);
	kh_printable(f->owner, sizeof(owner), owner);
	kh_printable(f->role, sizeof(role), role);
	snprintf(addr, sizeof(addr), "0x%" PRIx64, f->addr);
	snprintf(target, sizeof(target), "0x%" PRIx64, f->target);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
		      "addr", addr, "hooked", hooked, "role", role,
		      "target", target, "target_symbol", sym, "owner", owner,
		      "suspect", f->suspect, "what", what);
	if (o && f->check == KH_CHECK_NETFILTER &&
	    (json_object_set_new(o, "priority", json_integer(f->priority)) ||
	     json_object_set_new(o, "netns", json_integer(f->netns)))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

json_t *kh_json_hooks(const struct kh_check_report *report,
		      enum kh_check_id check)
{
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; array && i < report->nr; i++)
		if (report->findings[i].check == check &&
		    json_array_append_new(array,
					  hook_json(&report->findings[i]))) {
			json_decref(array);
			return NULL;
		}
	return array;
}

static json_t *status_json(const struct kh_check_report *r, unsigned int id)
{
	const struct kh_check_status *st = &r->checks[id];
	char problem[sizeof(st->problem)];

	kh_printable(st->problem, sizeof(problem), problem);
	return json_pack("{s:s, s:b, s:I, s:I, s:s}", "name", kh_check_name(id),
			 "ran", st->ran, "examined", (json_int_t)st->examined,
			 "findings", (json_int_t)st->findings,
			 "problem", problem);
}

json_t *kh_json_check(const struct kh_check_report *report)
{
	json_t *findings = json_array(), *checks = json_array();
	unsigned int i;

	for (i = 0; findings && i < report->nr; i++)
		if (json_array_append_new(findings,
					  finding_json(&report->findings[i])))
			goto fail;
	for (i = 0; checks && i < KH_CHECK_NR; i++)
		if (json_array_append_new(checks, status_json(report, i)))
			goto fail;
	if (!findings || !checks)
		goto fail;
	return json_pack("{s:o, s:o}", "findings", findings, "checks", checks);
fail:
	json_decref(findings);
	json_decref(checks);
	return NULL;
}
