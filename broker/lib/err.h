/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error reporting inside the engine.
 *
 * Internal functions return 0 or a negative errno. The function that first
 * detects a problem also writes one human-readable sentence naming it into
 * the caller's struct kh_err; callers further up only add context when the
 * sentence would otherwise be ambiguous. Nothing here is global: every call
 * carries its own kh_err, so concurrent callers never see each other's errors.
 */
#ifndef KH_ERR_H
#define KH_ERR_H

#include "libkeyhole.h"

/* Sets err (if non-NULL) and returns -code. code is a positive errno. */
int kh_err_set(struct kh_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "what: " to the message already in err; returns -err->code. */
int kh_err_prefix(struct kh_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
