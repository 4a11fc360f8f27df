// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ip (and addr, its other name): the guest's interfaces as
 * `ip addr` shows them, and with --json under "ip" each link as
 * `ip -j addr` prints it, key for key where keyhole knows the value: ifindex, ifname, flags (names, as ip
 * prints them), mtu, operstate, link_type, address, addr_info [family,
 * local, prefixlen]. The document the ifconfig query returns is made
 * into that shape (ip_document(), render_network.c), so that keyholed
 * and crawls keep theirs. -s adds each link's packet and byte counters,
 * as ip -s addr does (stats64 in the JSON), where keyhole could read
 * them (kh_iface_stats).
 */
#include "keyhole.h"
#include "render.h"

const struct cmd_option ip_options[] = {
	OPTION("stats", 's', NULL, "packet and byte counters, as ip -s"),
	{ .name = NULL },
};

int cmd_ip(const struct options *opts, const struct subcommand *cmd,
	   const struct cmd_args *args)
{
	struct kh_query_result res;
	json_t *links;
	int stats = 0, ret = expect_args(opts, cmd, args, 1, "one VM");
	unsigned int i;

	if (ret)
		return ret;
	for (i = 0; i < args->nr_opts; i++)
		stats |= args->opt[i].key == 's';
	if (run_query(opts, args->pos[0], "ifconfig", json_object(), &res))
		return 1;
	links = ip_document(res.doc, stats);
	if (!links) {
		kh_query_result_release(&res);
		return report_error(opts, "out of memory");
	}
	json_decref(res.doc);
	res.doc = links;
	return show_result(opts, &res, render_ip);
}
