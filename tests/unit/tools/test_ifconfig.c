// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole ifconfig`'s table decodes IFF_* flags by name with
 * unknown bits shown as hex, never overflows its buffer, and lays out an
 * interface as it always has: name, index, flags, MTU, hardware address
 * and addresses, with guest text made printable.
 *
 * format_flags() and the table are static in tools/keyhole/cmd_ifconfig.c
 * and unit tests link only against libkeyhole.a, so that file is compiled
 * in here, with the rest of the tool stubbed out.
 */
#include "../../tools/keyhole/cmd_ifconfig.c"

#include <string.h>
#include <unistd.h>

#include "check.h"

int report_error(const struct options *opts, const char *fmt, ...)
{
	return 1;
}

int attach(const struct options *opts, const char *spec,
	   struct kh_ctx **ctxp, struct kh_vm **vmp)
{
	return 1;
}

void detach(struct kh_ctx *ctx, struct kh_vm *vm)
{
}

int print_json(json_t *doc)
{
	json_decref(doc);
	return 0;
}

const char *only_vm_argument(const struct options *opts, int argc,
			     char **argv, int *status)
{
	*status = 1;
	return NULL;
}

int result_status(unsigned int flags, const char *problem)
{
	return 0;
}

static void expect_flags(unsigned int flags, const char *want)
{
	char buf[256];

	format_flags(flags, buf, sizeof(buf));
	CHECK(!strcmp(buf, want), "flags 0x%x: '%s', want '%s'", flags, buf,
	      want);
}

/* What print_text() writes to stdout, caught in a temporary file. */
static char *table_of(const struct kh_iface_list *list)
{
	static char text[4096];
	FILE *tmp = tmpfile();
	int saved;
	size_t n;

	CHECK(tmp, "tmpfile");
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	CHECK(saved >= 0 && dup2(fileno(tmp), STDOUT_FILENO) >= 0, "dup2");
	print_text(list);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, sizeof(text) - 1, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}

static void test_table(void)
{
	struct kh_iface ifaces[] = {
		{ .name = "lo", .index = 1, .flags = 0x9, .mtu = 65536,
		  .nr_addrs = 1,
		  .addrs = { { .family = AF_INET, .addr = { 127, 0, 0, 1 },
			       .prefixlen = 8 } } },
		{ .name = "kh\x1b" "dummy0", .index = 3, .flags = 0x80083,
		  .mtu = 1500, .mac = { 0x02, 0, 0, 0, 0, 0x42 },
		  .mac_len = 6, .nr_addrs = 2,
		  .addrs = { { .family = AF_INET6, .addr = { [15] = 1 },
			       .prefixlen = 128 },
			     { .family = AF_UNIX } } },
	};
	struct kh_iface_list list = { .nr = 2, .ifaces = ifaces };
	const char *want =
		"lo: index 1 flags=0x9<UP,LOOPBACK> mtu 65536\n"
		"        inet 127.0.0.1/8\n"
		"\n"
		"kh?dummy0: index 3 flags=0x80083<UP,BROADCAST,NOARP,0x80000> mtu 1500\n"
		"        hwaddr 02:00:00:00:00:42\n"
		"        inet6 ::1/128\n"
		"        inet6 ?\n";
	const char *got = table_of(&list);

	CHECK(!strcmp(got, want), "table:\n%s\nwant:\n%s", got, want);
}

int main(void)
{
	char small[8];

	/* What the test guest's lo and khdummy0 have in sysfs. */
	expect_flags(0x9, "UP,LOOPBACK");
	expect_flags(0x83, "UP,BROADCAST,NOARP");
	expect_flags(0x11043, "UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP");
	expect_flags(0, "");
	expect_flags(0x80000, "0x80000");
	expect_flags(0xffffffff,
		     "UP,BROADCAST,DEBUG,LOOPBACK,POINTOPOINT,NOTRAILERS,RUNNING,NOARP,PROMISC,ALLMULTI,MASTER,SLAVE,MULTICAST,PORTSEL,AUTOMEDIA,DYNAMIC,LOWER_UP,DORMANT,ECHO,0xfff80000");
	/* A buffer too small truncates; it never overflows. */
	format_flags(0xffffffff, small, sizeof(small));
	CHECK(strlen(small) < sizeof(small), "flags overflowed");
	test_table();
	printf("ifconfig table: flags, MACs and addresses as expected\n");
	return KH_PASS;
}
