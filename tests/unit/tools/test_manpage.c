// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the man page (Documentation/keyhole.1) keeps up with the tool:
 * every command and every long option that `keyhole --help` lists is
 * documented there, and so is every option that each command's own
 * `keyhole COMMAND --help` lists.
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

/* Every "--option" on the lines of help is in man; how many there were. */
static int options_in(const char *help, const char *man, const char *whose)
{
	char *copy = strdup(help), *line, *save = NULL, word[64], roff[80];
	int options = 0;

	CHECK(copy, "out of memory");
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *opt = strstr(line, "--");

		if (!opt || sscanf(opt + 2, "%63[a-z-]", word) != 1)
			continue;
		snprintf(roff, sizeof(roff), "\\fB\\-\\-%s", word);
		for (char *p = roff + 8; *p; p++)
			if (*p == '-') {
				memmove(p + 1, p, strlen(p) + 1);
				*p++ = '\\';
			}
		CHECK(strstr(man, roff), "option --%s of %s is not in the man page (%s)",
		      word, whose, roff);
		options++;
	}
	free(copy);
	return options;
}

int main(void)
{
	const char *keyhole = env_or("KEYHOLE", "build/bin/keyhole");
	char *help, *man, *line, *save = NULL, word[64], roff[80], *own;
	char names[32][64];
	int status, commands = 0, options, in_commands = 0, i;

	help = run_capture(&status, "%s --help", keyhole);
	CHECK(status == 0, "keyhole --help failed");
	man = slurp(env_or("KEYHOLE_MAN", "Documentation/keyhole.1"));
	options = options_in(help, man, "keyhole");
	for (line = strtok_r(help, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "Commands:")) {
			in_commands = 1;
			continue;
		}
		if (in_commands && sscanf(line, " %63s", word) == 1 &&
		    line[0] == ' ') {
			snprintf(roff, sizeof(roff), "\\fB%s\\fR", word);
			CHECK(strstr(man, roff), "command '%s' is not in the man page",
			      word);
			CHECK(commands < 32, "more than 32 commands");
			strcpy(names[commands++], word);
			continue;
		}
		in_commands = 0;
	}
	CHECK(commands >= 2 && options >= 4, "parsed %d commands, %d options",
	      commands, options);
	for (i = 0; i < commands; i++) {
		own = run_capture(&status, "%s %s --help", keyhole, names[i]);
		CHECK(status == 0, "keyhole %s --help: exit %d", names[i],
		      status);
		options_in(own, man, names[i]);
		free(own);
	}
	return KH_PASS;
}
