/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Parsers the engine keeps private to one file but exports, unversioned,
 * for its fuzzers (tests/fuzz/fuzz_parsers.c). Not part of the library's
 * API: broker/libkeyhole.map does not list them.
 */
#ifndef KH_FUZZ_ENTRY_H
#define KH_FUZZ_ENTRY_H

#include <stdint.h>

/*
 * access_hmp.c: HMP "xp /NRgx GPA" output (NUL-terminated text) into
 * out[nr * 8], or -EPROTO unless every line carries the expected address.
 */
int kh_hmp_parse_xp(const char *text, uint64_t gpa, unsigned int nr,
		    uint8_t *out);

#endif
