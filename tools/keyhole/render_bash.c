// SPDX-License-Identifier: GPL-2.0-only
/*
 * bash as text: one row per command of each running bash's history, as
 * Volatility's linux.bash lists them (PID, Process, CommandTime,
 * Command), in the order bash's own `history` gives them; the time in
 * UTC, the command made printable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "keyhole.h"
#include "render.h"

const struct table_column bash_columns[] = {
	{ "PID", TABLE_RIGHT, "the bash process's id" },
	{ "COMM", 0, "its command name" },
	{ "TIME", 0, "when the command was entered (UTC), as HISTTIMEFORMAT='%F %T' shows it" },
	{ "COMMAND", 0, "the command as typed" },
	{ "ADDR", TABLE_HIDDEN, "its HIST_ENTRY's address in the process" },
	{ "LISTED", TABLE_HIDDEN, "in bash's history list (no: found outside it)" },
	{ NULL },
};

void render_bash(const json_t *doc, FILE *out)
{
	const json_t *entries = json_object_get(doc, "bash"), *e;
	struct table *t = table_new(bash_columns);
	size_t i;

	json_array_foreach(entries, i, e) {
		char pid[16], when[32] = "?", command[4096];
		const char *cells[] = {
			pid, field_str(e, "comm"), when, command,
			field_str(e, "addr"),
			json_is_true(json_object_get(e, "in_list")) ? "yes" : "no",
		};
		time_t secs = field_int(e, "time");
		struct tm tm;

		snprintf(pid, sizeof(pid), "%" PRId64,
			 (int64_t)field_int(e, "pid"));
		if (gmtime_r(&secs, &tm))
			strftime(when, sizeof(when), "%F %T", &tm);
		kh_printable(field_str(e, "command"), sizeof(command),
			     command);
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}
