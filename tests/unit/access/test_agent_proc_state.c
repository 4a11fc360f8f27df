// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh_guest_parse_stat (broker/lib/access/agent_proc.c) takes the state only
 * from the letters Linux prints: a /proc/PID/stat line from the guest agent
 * whose state is a NUL byte was once accepted (strchr finds the string's own
 * terminator) and gave a task with an empty state; found by
 * tests/fuzz/fuzz_parsers.c. Every byte that is not a state letter must be
 * refused, and every state letter still parses.
 *
 * A zombie ('Z') and a dead task ('X') also get the exit_state the guest
 * kernel itself would hold, EXIT_ZOMBIE 0x20 and EXIT_DEAD 0x10
 * (include/linux/sched.h), as libkeyhole.h promises; the values are
 * spelled out here, not taken from keyhole's header, because keyhole once
 * had them swapped in this parser.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "access/agent_proc.h"

static const char states[] = "RSDTtXZPIWxKn";

/* "93 (kh-files) S 1 ..." with the state byte replaced by state. */
static int parse_with_state(char state, struct kh_task *t)
{
	char line[] = "93 (kh-files) S 1 93 93 0 -1 4194560 103 0 0 0 0 0 0 0 20 0 1 0 312 2502656 171\n";
	char *at = strstr(line, ") S ");

	at[2] = state;
	return kh_guest_parse_stat(line, sizeof(line) - 1, t);
}

int main(void)
{
	struct kh_task t;
	int c, r;

	for (c = 0; c < 256; c++) {
		memset(&t, 0x55, sizeof(t));
		r = parse_with_state(c, &t);
		if (c && strchr(states, c)) {
			CHECK(!r, "state '%c' refused: %d", c, r);
			CHECK(t.state == c && t.pid == 93 && t.ppid == 1,
			      "state '%c' parsed as '%c' pid %d ppid %d", c,
			      t.state, t.pid, t.ppid);
			CHECK(t.exit_state == (c == 'Z' ? 0x20u :
					       c == 'X' ? 0x10u : 0u),
			      "state '%c' gives exit_state 0x%x, the kernel's is 0x%x",
			      c, t.exit_state,
			      c == 'Z' ? 0x20u : c == 'X' ? 0x10u : 0u);
		} else {
			CHECK(r == -EBADMSG,
			      "state byte 0x%02x accepted (state 0x%02x)", c,
			      (unsigned char)t.state);
		}
	}
	return KH_PASS;
}
