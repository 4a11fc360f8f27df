// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The engine's debug log: one callback for the process, set before any
 * VM is opened (it is a switch for a command line, not per handle).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "debug.h"
#include "libkeyhole.h"

/*
 * Set before VMs are opened, but read by every thread that opens one:
 * the callback and its argument are read once, atomically, per message.
 */
typedef void (*debug_fn)(void *opaque, const char *msg);

static _Atomic(debug_fn) debug_log;
static void *_Atomic debug_opaque;

void kh_set_debug_log(void (*log)(void *opaque, const char *msg),
		      void *opaque)
{
	atomic_store(&debug_opaque, opaque);
	atomic_store(&debug_log, log);
}

bool kh_debug_on(void)
{
	return atomic_load_explicit(&debug_log, memory_order_relaxed) != NULL;
}

void kh_debug_say(const char *fmt, ...)
{
	debug_fn log = atomic_load(&debug_log);
	char msg[1024];
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log(atomic_load(&debug_opaque), msg);
}
