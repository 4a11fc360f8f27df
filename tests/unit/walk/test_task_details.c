// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the pure parts of walk/task_details.c name a terminal as ps
 * does from the guest's tty_struct.name ("pts0" is "pts/0"; anything else
 * as it is, cut to KH_TTY_LEN, even a name of 64 bytes without its NUL),
 * and a process's CPU time saturates instead of wrapping when a hostile
 * guest's times add past 2^64.
 *
 * The helpers are static, so the file is included here; the test links
 * against libkeyhole.a only for what that file calls.
 */
#include "check.h"

#include "walk/task_details.c"

int main(void)
{
	static const struct {
		const char *raw, *want;
	} names[] = {
		{ "pts0", "pts/0" }, { "pts123", "pts/123" }, { "pts", "pts" },
		{ "pts12a", "pts12a" }, { "ptsx1", "ptsx1" }, { "pt", "pt" },
		{ "ttyS0", "ttyS0" }, { "", "" }, { "console", "console" },
	};
	char raw[TTY_NAME_LEN], out[KH_TTY_LEN];
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(raw, 0, sizeof(raw));
		memcpy(raw, names[i].raw, strlen(names[i].raw));
		tty_name(raw, out);
		CHECK(!strcmp(out, names[i].want), "'%s' named '%s', want '%s'",
		      names[i].raw, out, names[i].want);
	}
	/* 64 bytes, no NUL: cut, terminated. */
	memset(raw, 'A', sizeof(raw));
	tty_name(raw, out);
	CHECK(strlen(out) == KH_TTY_LEN - 1, "a full name gave %zu bytes",
	      strlen(out));
	/* "pts" and 61 digits: longer than ps's name fits, cut too. */
	memcpy(raw, "pts", 3);
	memset(raw + 3, '7', sizeof(raw) - 3);
	tty_name(raw, out);
	CHECK(!strncmp(out, "pts/777", 7) && strlen(out) == KH_TTY_LEN - 1,
	      "a long pts: '%s'", out);

	CHECK(add_saturated(1, 2) == 3, "1 + 2");
	CHECK(add_saturated(UINT64_MAX - 1, 2) == UINT64_MAX, "wrapped");
	CHECK(add_saturated(UINT64_MAX, UINT64_MAX) == UINT64_MAX, "wrapped");
	return KH_PASS;
}
