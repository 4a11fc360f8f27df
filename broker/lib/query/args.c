// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A query's arguments, checked strictly against what it declares: an
 * unknown key or a value of the wrong type is EINVAL, never ignored, so
 * that a client's typo ("thread" for "threads") is an error rather than a
 * different answer. The arguments may come from a socket: what an error
 * quotes of them is made printable.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "query/query.h"

/* Room for a key in an error message; a longer one is cut. */
#define KEY_SHOWN 64

static const struct kh_query_arg *find_arg(const struct kh_query_op *op,
					   const char *key)
{
	const struct kh_query_arg *arg;

	for (arg = op->args; arg->key; arg++)
		if (!strcmp(arg->key, key))
			return arg;
	return NULL;
}

static int set_bool(const struct kh_query_op *op,
		    const struct kh_query_arg *arg, const json_t *value,
		    void *dst, struct kh_err *err)
{
	if (!json_is_boolean(value))
		return kh_err_set(err, EINVAL, "%s: '%s' must be a boolean",
				     op->name, arg->key);
	*(int *)dst = json_is_true(value);
	return 0;
}

/* An integer from min to max (a real such as 1.0 is not one). */
static int get_int(const struct kh_query_op *op,
		   const struct kh_query_arg *arg, const json_t *value,
		   json_int_t min, json_int_t max, json_int_t *out,
		   struct kh_err *err)
{
	json_int_t v;

	if (!json_is_integer(value) || json_integer_value(value) < min)
		return kh_err_set(err, EINVAL,
				     "%s: '%s' must be an integer %s",
				     op->name, arg->key,
				     min ? "> 0" : ">= 0");
	v = json_integer_value(value);
	if (v > max)
		return kh_err_set(err, EINVAL,
				     "%s: '%s' must be at most %lld",
				     op->name, arg->key, (long long)max);
	*out = v;
	return 0;
}

/* Printable ASCII, so that it can be quoted and matched as it is. */
static int set_text(const struct kh_query_op *op,
		    const struct kh_query_arg *arg, const json_t *value,
		    char *dst, struct kh_err *err)
{
	const char *s = json_string_value(value);
	size_t i, len = s ? strlen(s) : 0;

	if (!s || !len || len >= KH_QUERY_TEXT_MAX ||
	    len != json_string_length(value))
		return kh_err_set(err, EINVAL,
				  "%s: '%s' must be a string of 1 to %d bytes",
				  op->name, arg->key, KH_QUERY_TEXT_MAX - 1);
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return kh_err_set(err, EINVAL,
					  "%s: '%s' must be printable ASCII",
					  op->name, arg->key);
	memcpy(dst, s, len + 1);
	return 0;
}

static int set_value(const struct kh_query_op *op,
		     const struct kh_query_arg *arg, const json_t *value,
		     struct kh_query_args *args, struct kh_err *err)
{
	void *dst = (char *)args + arg->offset;
	json_int_t v;
	int ret;

	switch (arg->type) {
	case KH_QUERY_BOOL:
		return set_bool(op, arg, value, dst, err);
	case KH_QUERY_PID:
		ret = get_int(op, arg, value, 1, INT32_MAX, &v, err);
		if (!ret)
			*(int32_t *)dst = v;
		return ret;
	case KH_QUERY_TEXT:
		return set_text(op, arg, value, dst, err);
	case KH_QUERY_INDEX:
		/* kh_json_crawl() encodes the iteration as an int. */
		ret = get_int(op, arg, value, 0, INT32_MAX, &v, err);
		if (!ret)
			*(unsigned int *)dst = v;
		return ret;
	}
	return kh_err_set(err, EINVAL, "%s: '%s' has no type", op->name,
			     arg->key);
}

int kh_query_parse_args(const struct kh_query_op *op, const json_t *json,
			struct kh_query_args *args, struct kh_err *err)
{
	const struct kh_query_arg *arg;
	char shown[KEY_SHOWN];
	const char *key;
	json_t *value;
	int ret;

	*args = (struct kh_query_args){ 0 };
	if (json && !json_is_object(json))
		return kh_err_set(err, EINVAL,
				     "%s: the arguments must be a JSON object",
				     op->name);
	/* Every key first: an unknown one is named even beside a bad one. */
	json_object_foreach((json_t *)json, key, value) {
		if (find_arg(op, key))
			continue;
		kh_printable(key, sizeof(shown), shown);
		return kh_err_set(err, EINVAL,
				     "%s: unknown argument '%s'", op->name,
				     shown);
	}
	for (arg = op->args; arg->key; arg++) {
		value = json ? json_object_get(json, arg->key) : NULL;
		if (!value) {
			if (arg->required)
				return kh_err_set(err, EINVAL,
						     "%s: '%s' is required",
						     op->name, arg->key);
			continue;
		}
		ret = set_value(op, arg, value, args, err);
		if (ret)
			return ret;
	}
	return 0;
}
