// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed: serves every QEMU VM on the host to many clients over one unix
 * socket (keyholed(8), Documentation/broker.md).
 *
 * Startup order matters: the socket is bound before the daemon detaches,
 * so that a second daemon or a bad path is reported to whoever started
 * it; threads (workers, liburcu's) start only after the fork, which they
 * would not survive.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyholed.h"

/*
 * A crawl's default budget: ten seconds is seven times what the slowest
 * technique takes for a whole crawl here (hmp, 1.4 s), 256 MiB a hundred
 * times what a crawl of a busy small guest holds.
 */
#define DEFAULT_BUDGET_MS	10000u
#define DEFAULT_BUDGET_KIB	(256u << 10)

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: keyholed [OPTIONS]\n"
		"\n"
		"Serves the QEMU VMs on this host to keyhole clients (keyhole --broker).\n"
		"\n"
		"  -f, --foreground       do not detach (under systemd it never does)\n"
		"  -s, --socket PATH      listen on PATH (default %s)\n"
		"  -w, --workers N        introspection threads, one per core (default:\n"
		"                         the online CPUs)\n"
		"      --cache-dir DIR    kernel profile cache (default /var/cache/keyhole;\n"
		"                         \"\" disables)\n"
		"  -c, --connect URI      libvirt connection for libvirt's domains\n"
		"  -t, --technique NAME   read every VM with NAME (default: the fastest\n"
		"                         live technique each VM has; keyhole techniques)\n"
		"      --metrics ADDR:PORT  serve Prometheus metrics at /metrics\n"
		"      --budget-ms MS     wall time a crawl may take (default %u; 0: none)\n"
		"      --budget-kib KIB   memory a crawl's results may hold (default\n"
		"                         %u; 0: none)\n"
		"      --full-crawls      walk everything on every crawl of a watched VM\n"
		"                         (default: keep each process's state, found\n"
		"                         unchanged, from the feed's last crawl)\n"
		"      --state-dir DIR    halt journal in DIR/paused, to resume guests a\n"
		"                         killed keyholed left halted (default\n"
		"                         /run/keyhole; \"\" disables)\n"
		"  -V, --version          print the version\n"
		"  -h, --help             this help\n",
		KH_PROTO_SOCKET, DEFAULT_BUDGET_MS, DEFAULT_BUDGET_KIB);
}


static int parse_budget(const char *arg, uint32_t *val)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(arg, &end, 10);
	if (errno || *end || end == arg || n < 0 || n > UINT32_MAX)
		return -EINVAL;
	*val = n;
	return 0;
}

static int parse_workers(const char *arg, unsigned int *workers)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || *end || end == arg || n < 1 || n > 1024)
		return -EINVAL;
	*workers = n;
	return 0;
}

/*
 * libbpf's warnings about the guests' BTF: each query parses a module's
 * (walk/net_stats_virtio.c), so a guest could write a line to the log per
 * query. What matters reaches the client in its result instead.
 */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Room for MAX_CLIENTS clients and a pidfd per VM. */
static void raise_fd_limit(void)
{
	struct rlimit lim;

	if (!getrlimit(RLIMIT_NOFILE, &lim) && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "connect", required_argument, NULL, 'c' },
		{ "technique", required_argument, NULL, 't' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "budget-ms", required_argument, NULL, 'T' },
		{ "budget-kib", required_argument, NULL, 'K' },
		{ "full-crawls", no_argument, NULL, 'F' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct daemon_config cfg = {
		.socket_path = KH_PROTO_SOCKET,
		.workers = cpus > 0 ? cpus : 1,
		.cache_dir = "/var/cache/keyhole",
		.state_dir = "/run/keyhole",
		.budget = { .time_ms = DEFAULT_BUDGET_MS,
			    .memory_bytes = (uint64_t)DEFAULT_BUDGET_KIB << 10 },
	};
	uint32_t kib;
	bool foreground = false;
	int c, listen_fd, ret;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "fs:w:c:t:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 's':
			cfg.socket_path = optarg;
			break;
		case 'w':
			if (parse_workers(optarg, &cfg.workers)) {
				fprintf(stderr, "keyholed: --workers takes 1 to 1024, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'C':
			cfg.cache_dir = optarg[0] ? optarg : NULL;
			break;
		case 'c':
			cfg.libvirt_uri = optarg;
			break;
		case 't':
			cfg.technique = optarg;
			break;
		case 'M':
			cfg.metrics = optarg;
			break;
		case 'S':
			cfg.state_dir = optarg[0] ? optarg : NULL;
			break;
		case 'T':
			if (parse_budget(optarg, &cfg.budget.time_ms)) {
				fprintf(stderr, "keyholed: --budget-ms takes milliseconds (0 to %u), not '%s'\n",
					UINT32_MAX, optarg);
				return 2;
			}
			break;
		case 'K':
			if (parse_budget(optarg, &kib)) {
				fprintf(stderr, "keyholed: --budget-kib takes KiB (0 to %u), not '%s'\n",
					UINT32_MAX, optarg);
				return 2;
			}
			cfg.budget.memory_bytes = (uint64_t)kib << 10;
			break;
		case 'F':
			cfg.full_crawls = true;
			break;
		case 'V':
			printf("keyholed %s\n", KEYHOLED_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "keyholed: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (cfg.cache_dir && mkdir(cfg.cache_dir, 0700) && errno != EEXIST)
		cfg.cache_dir = NULL;	/* profiles stay in memory only */
	raise_fd_limit();
	libbpf_set_print(quiet_libbpf);
	ret = server_listen(cfg.socket_path, &listen_fd);
	if (ret)
		return 1;
	if (state_open(cfg.state_dir)) {
		unlink(cfg.socket_path);
		return 1;
	}
	if (!foreground && !getenv("NOTIFY_SOCKET") && daemon(0, 0)) {
		perror("keyholed: daemon");
		return 1;
	}
	/*
	 * Blocked before any thread starts, so that every thread inherits
	 * the mask: the loop takes SIGTERM and SIGINT through a signalfd,
	 * and a worker must never be the thread the kernel kills with them.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The loop reads the registry under rcu_read_lock() too. */
	rcu_register_thread();
	/*
	 * Before any client can halt a guest: the guests a killed keyholed
	 * left halted run again first (clients wait in the listen queue).
	 */
	state_recover();
	ret = registry_init();
	if (!ret)
		ret = workers_start(&cfg);
	if (ret) {
		fprintf(stderr, "keyholed: cannot start: %s\n", strerror(-ret));
		unlink(cfg.socket_path);
		return 1;
	}
	ret = server_run(&cfg, listen_fd);
	close(listen_fd);
	rcu_unregister_thread();
	return ret ? 1 : 0;
}
