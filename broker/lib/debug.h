/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the engine decides, said as it decides it, for kh_set_debug_log()
 * (keyhole --debug): which process a VM spec named, each technique tried
 * and why it was passed over, where the RAM layout and the kernel were
 * found. Off unless a caller asks; the format work is skipped then.
 */
#ifndef KH_DEBUG_H
#define KH_DEBUG_H

#include <stdbool.h>

bool kh_debug_on(void);
void kh_debug_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define kh_debug(...)				\
	do {					\
		if (kh_debug_on())		\
			kh_debug_say(__VA_ARGS__); \
	} while (0)

#endif
