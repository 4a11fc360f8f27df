// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the man page (Documentation/keyhole.1) keeps up with the tool:
 * every command and every long option that `keyhole --help` lists is
 * documented there.
 */
#include <string.h>

#include "check.h"
#include "guest.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char text[1 << 16];
	size_t n;

	CHECK(f, "cannot open %s", path);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

int main(void)
{
	char *help, *man, *line, *save = NULL, word[64], roff[80];
	int status, commands = 0, options = 0, in_commands = 0;

	help = run_capture(&status, "%s --help",
			   env_or("KEYHOLE", "build/bin/keyhole"));
	CHECK(status == 0, "keyhole --help failed");
	man = slurp(env_or("KEYHOLE_MAN", "Documentation/keyhole.1"));
	for (line = strtok_r(help, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *opt = strstr(line, "--");

		if (!strcmp(line, "Commands:")) {
			in_commands = 1;
			continue;
		}
		if (in_commands && sscanf(line, " %63s", word) == 1 &&
		    line[0] == ' ') {
			snprintf(roff, sizeof(roff), "\\fB%s\\fR", word);
			CHECK(strstr(man, roff), "command '%s' is not in the man page",
			      word);
			commands++;
			continue;
		}
		in_commands = 0;
		if (opt && sscanf(opt + 2, "%63[a-z-]", word) == 1) {
			snprintf(roff, sizeof(roff), "\\fB\\-\\-%s", word);
			for (char *p = roff + 8; *p; p++)
				if (*p == '-') {
					memmove(p + 1, p, strlen(p) + 1);
					*p++ = '\\';
				}
			CHECK(strstr(man, roff), "option --%s is not in the man page (%s)",
			      word, roff);
			options++;
		}
	}
	CHECK(commands >= 2 && options >= 4, "parsed %d commands, %d options",
	      commands, options);
	return KH_PASS;
}
