// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ip (and addr, its other name): the guest's interfaces as
 * `ip addr` shows them, and with --json as `ip -j addr` does, key for key
 * where keyhole knows the value: ifindex, ifname, flags (names, as ip
 * prints them), mtu, operstate, link_type, address, addr_info [family,
 * local, prefixlen]. The document the ifconfig query returns is made
 * into that shape (ip_document(), render_network.c), so that keyholed
 * and crawls keep theirs.
 */
#include "keyhole.h"
#include "render.h"

int cmd_ip(const struct options *opts, const struct subcommand *cmd,
	   const struct cmd_args *args)
{
	struct kh_query_result res;
	json_t *links;
	int ret = expect_args(opts, cmd, args, 1, "one VM");

	if (ret)
		return ret;
	if (run_query(opts, args->pos[0], "ifconfig", json_object(), &res))
		return 1;
	links = ip_document(res.doc);
	if (!links) {
		kh_query_result_release(&res);
		return report_error(opts, "out of memory");
	}
	json_decref(res.doc);
	res.doc = links;
	return show_result(opts, &res, render_ip);
}
