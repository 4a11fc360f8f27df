// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole ifconfig`'s formatting of guest-supplied values is
 * right and bounded: IFF_* flags decode by name with unknown bits shown
 * as hex, MACs of any length up to MAX_ADDR_LEN (32) print in full and
 * never overflow, IPv4 and IPv6 addresses print canonically with their
 * prefix, and an address of a family the guest should never report
 * prints as "?".
 *
 * The helpers are static in tools/keyhole/cmd_ifconfig.c, so that file is
 * compiled in here, with the rest of the tool stubbed out.
 */
#include "../../tools/keyhole/cmd_ifconfig.c"

#include "check.h"

const char *prog_name = "test_ifaces";
const struct subcommand subcommands[] = { { NULL, NULL, NULL, NULL } };

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

void subcommand_usage(const struct subcommand *cmd, FILE *out)
{
}

const struct subcommand *subcommand_find(const char *name)
{
	return NULL;
}

void printable(const char *in, size_t size, char *out)
{
	snprintf(out, size, "%s", in);
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

static void expect_addr(int family, const char *text, unsigned int plen,
			const char *want)
{
	struct kh_ifaddr a = { .family = family, .prefixlen = plen };
	char buf[ADDR_STR_LEN];

	if (text)
		CHECK(inet_pton(family, text, a.addr) == 1, "bad %s", text);
	format_addr(&a, buf, sizeof(buf));
	CHECK(!strcmp(buf, want), "address %s: '%s', want '%s'",
	      text ? text : "(none)", buf, want);
}

int main(void)
{
	uint8_t mac[32];
	char buf[MAC_STR_LEN], small[8];
	unsigned int i;

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

	for (i = 0; i < sizeof(mac); i++)
		mac[i] = i == 5 ? 0x42 : i == 0 ? 0x02 : 0;
	format_mac(mac, 6, buf, sizeof(buf));
	CHECK(!strcmp(buf, "02:00:00:00:00:42"), "mac '%s'", buf);
	format_mac(mac, 0, buf, sizeof(buf));
	CHECK(!strcmp(buf, ""), "empty mac '%s'", buf);
	memset(mac, 0xab, sizeof(mac));
	format_mac(mac, sizeof(mac), buf, sizeof(buf));
	CHECK(strlen(buf) == sizeof(mac) * 3 - 1, "32-byte mac '%s'", buf);
	format_mac(mac, sizeof(mac), small, sizeof(small));
	CHECK(!strcmp(small, "ab:ab"), "truncated mac '%s'", small);

	expect_addr(AF_INET, "10.99.0.1", 24, "10.99.0.1/24");
	expect_addr(AF_INET, "127.0.0.1", 8, "127.0.0.1/8");
	expect_addr(AF_INET6, "::1", 128, "::1/128");
	expect_addr(AF_INET6, "fd00:0099:0:0::1", 64, "fd00:99::1/64");
	expect_addr(AF_INET6, "fe80::ff:fe00:42", 64, "fe80::ff:fe00:42/64");
	expect_addr(AF_UNIX, NULL, 0, "?");
	printf("ifconfig formatting: flags, MACs and addresses as expected\n");
	return KH_PASS;
}
