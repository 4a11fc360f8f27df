// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's debug log: one callback for the process, set before any
 * VM is opened (it is a switch for a command line, not per handle).
 */
#include <stdarg.h>
#include <stdio.h>

#include "debug.h"
#include "libkeyhole.h"

static void (*debug_log)(void *opaque, const char *msg);
static void *debug_opaque;

void kh_set_debug_log(void (*log)(void *opaque, const char *msg),
		      void *opaque)
{
	debug_log = log;
	debug_opaque = opaque;
}

bool kh_debug_on(void)
{
	return debug_log != NULL;
}

void kh_debug_say(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	debug_log(debug_opaque, msg);
}
