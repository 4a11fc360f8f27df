// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int kh_err_set(struct kh_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -code;
}

int kh_err_prefix(struct kh_err *err, const char *fmt, ...)
{
	char joined[2 * sizeof(err->msg) + 2];
	size_t n;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(joined, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= sizeof(err->msg))
		n = sizeof(err->msg) - 1;
	memcpy(joined + n, ": ", 2);
	memcpy(joined + n + 2, err->msg, sizeof(err->msg));
	joined[sizeof(joined) - 1] = '\0';
	/* Truncate rather than fail: the start names the problem. */
	memcpy(err->msg, joined, sizeof(err->msg) - 1);
	err->msg[sizeof(err->msg) - 1] = '\0';
	return -err->code;
}
