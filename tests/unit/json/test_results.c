// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: every kh_json_* encoder prints the document the keyhole command
 * has always printed, key for key and number for number (a daemon must
 * print the same): integers where the command had integers, reals where
 * it had reals, addresses as "0x..." strings, and text from guest memory
 * (control characters, bytes that are not UTF-8, arrays without a NUL)
 * made printable where it always was. The expected documents were
 * printed by the encoders as they were in tools/keyhole before they
 * moved into the library.
 */
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "libkeyhole.h"

static void expect(const char *what, json_t *doc, const char *want)
{
	char *got = NULL;

	if (doc)
		got = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK(got && !strcmp(got, want), "%s:\n got %s\nwant %s", what,
	      got ? got : "NULL", want);
	free(got);
	json_decref(doc);
}

/* Two processes, a thread, and a guest-chosen comm that fills its array. */
static struct kh_task tasks[] = {
	{ .addr = 0xffff888003a00000, .pid = 1, .tgid = 1, .ppid = 0,
	  .uid = 0, .gid = 0, .state = 'S', .comm = "init",
	  .start_time = 100000000, .nr_threads = 1 },
	{ .addr = 0xffff888003a04000, .pid = 42, .tgid = 42, .ppid = 1,
	  .uid = 4294967295u, .gid = 1000, .state = 'R',
	  .comm = "ev\x1b[31mil\xc3\xa9xxxxx", .start_time = 1500000000,
	  .nr_threads = 2 },
	{ .addr = 0xffff888003a08000, .pid = 43, .tgid = 42, .ppid = 1,
	  .uid = 1000, .gid = 1000, .state = 'D', .comm = "worker\t1",
	  .start_time = 123456789012345, .nr_threads = 2 },
};
static struct kh_task_list task_list = { .nr = 3, .tasks = tasks };

static const char tasks_want[] =
	"[{\"pid\":1,\"tgid\":1,\"ppid\":0,\"uid\":0,\"gid\":0,\"state\":\"S\",\"comm\":\"init\",\"start_time\":0.10000000000000001,\"threads\":1},"
	"{\"pid\":42,\"tgid\":42,\"ppid\":1,\"uid\":4294967295,\"gid\":1000,\"state\":\"R\",\"comm\":\"ev?[31mil??xxxx\",\"start_time\":1.5,\"threads\":2},"
	"{\"pid\":43,\"tgid\":42,\"ppid\":1,\"uid\":1000,\"gid\":1000,\"state\":\"D\",\"comm\":\"worker?1\",\"start_time\":123456.78901234501,\"threads\":2}]";

/*
 * ps's details: ids, a terminal that steers one, wall-clock start (none
 * past the end of time), CPU seconds, argv with empty and hostile
 * arguments, and none.
 */
static void task_details(void)
{
	static const char argv[] = "sh\0\0-c\x1b\xff";
	struct kh_task t[] = {
		{ .addr = 0xffff888003a00000, .pid = 1, .tgid = 1,
		  .state = 'S', .comm = "init", .start_time = 1500000000,
		  .euid = 1002, .egid = 1003, .tty = "pts/0\x1b",
		  .cpu_time = 2500000000, .cmdline = argv,
		  .cmdline_len = sizeof(argv) - 1 },
		{ .addr = 0xffff888003a04000, .pid = 2, .tgid = 2,
		  .state = 'S', .comm = "kthreadd", .start_time = UINT64_MAX },
	};
	struct kh_task_list list = {
		.nr = 2, .tasks = t, .boot_time = 992606400ll * 1000000000,
		.flags = KH_TASKS_DETAILS | KH_TASKS_CMDLINE,
	};
	static const char want[] =
		"[{\"pid\":1,\"tgid\":1,\"ppid\":0,\"uid\":0,\"gid\":0,\"state\":\"S\",\"comm\":\"init\",\"start_time\":1.5,\"threads\":0,"
		"\"addr\":\"0xffff888003a00000\",\"euid\":1002,\"egid\":1003,\"start_utc\":\"2001-06-15T12:00:01Z\",\"cpu_time\":2.5,\"tty\":\"pts/0?\",\"cmdline\":[\"sh\",\"\",\"-c??\"]},"
		"{\"pid\":2,\"tgid\":2,\"ppid\":0,\"uid\":0,\"gid\":0,\"state\":\"S\",\"comm\":\"kthreadd\",\"start_time\":18446744073.709553,\"threads\":0,"
		"\"addr\":\"0xffff888003a04000\",\"euid\":0,\"egid\":0,\"start_utc\":null,\"cpu_time\":0.0,\"tty\":null,\"cmdline\":null}]";

	expect("tasks with details", kh_json_tasks(&list), want);
	list.boot_time = 0;
	list.nr = 1;
	CHECK(json_is_null(json_object_get(json_array_get(kh_json_tasks(&list), 0),
					   "start_utc")),
	      "an unknown boot time gave a start");
}

static struct kh_os_info os = {
	.sysname = "Linux", .nodename = "khguest\x01", .release = "6.1.0-26-amd64",
	.version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)",
	.machine = "x86_64", .domainname = "(none)", .uptime = 12.34,
	.cpus_online = 2, .cpus_possible = 4,
	.loadavg = { 0.0, 0.5, 1.25 },
};

static const char os_want[] =
	"{\"sysname\":\"Linux\",\"nodename\":\"khguest?\",\"release\":\"6.1.0-26-amd64\","
	"\"version\":\"#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)\",\"machine\":\"x86_64\","
	"\"domainname\":\"(none)\",\"uptime_s\":12.34,\"cpus_online\":2,\"cpus_possible\":4,\"loadavg\":[0.0,0.5,1.25]}";

static struct kh_mem_info mem = {
	.total = 1009716, .free = 912345, .available = 930000,
	.buffers = 0, .cached = 12000, .shmem = 18446744073709551615ull,
};

static const char mem_want[] =
	"{\"total_kb\":1009716,\"free_kb\":912345,\"available_kb\":930000,\"buffers_kb\":0,\"cached_kb\":12000,\"shmem_kb\":-1}";

static struct kh_module modules[] = {
	{ .addr = 0xffffffffc0002000, .name = "dummy", .size = 16384,
	  .refcount = 2, .state = "Live", .used_by = "nf\xfftables,x\x1by" },
	{ .addr = 0xffffffffc0010000, .name = "nf\xfftables", .size = 1,
	  .refcount = -1, .state = "Unloading" },
};
static struct kh_module_list module_list = { .nr = 2, .modules = modules };

static const char modules_want[] =
	"[{\"addr\":\"0xffffffffc0002000\",\"name\":\"dummy\",\"size_bytes\":16384,\"refcount\":2,\"used_by\":[\"nf?tables\",\"x?y\"],\"state\":\"Live\"},"
	"{\"addr\":\"0xffffffffc0010000\",\"name\":\"nf?tables\",\"size_bytes\":1,\"refcount\":-1,\"used_by\":[],\"state\":\"Unloading\"}]";

static struct kh_iface ifaces[] = {
	{ .name = "lo", .index = 1, .flags = 0x9, .mtu = 65536,
	  .mac_len = 6, .nr_addrs = 2, .link_flags = 0x10049, .type = 772,
	  .netns = 4026531840u,
	  .addrs = { { .family = AF_INET, .addr = { 127, 0, 0, 1 },
		       .prefixlen = 8 },
		     { .family = AF_INET6, .addr = { [15] = 1 },
		       .prefixlen = 128 } } },
	{ .name = "khdummy0\x7f", .index = 3, .flags = 0x80083,
	  .link_flags = 0x900c3, .operstate = 6, .type = 1234,
	  .netns = 4026532300u,
	  .mtu = 1500, .mac = { 0x02, 0, 0, 0, 0, 0x42 }, .mac_len = 6,
	  .nr_addrs = 2,
	  .addrs = { { .family = AF_INET, .addr = { 10, 99, 0, 1 },
		       .prefixlen = 24 },
		     { .family = AF_UNIX, .prefixlen = 7 } } },
};
static struct kh_iface_list iface_list = { .nr = 2, .ifaces = ifaces };

static const char ifaces_want[] =
	"[{\"name\":\"lo\",\"index\":1,\"flags\":9,\"mtu\":65536,\"mac\":\"00:00:00:00:00:00\",\"mac_len\":6,"
	"\"addrs\":[{\"family\":\"inet\",\"addr\":\"127.0.0.1\",\"prefixlen\":8},{\"family\":\"inet6\",\"addr\":\"::1\",\"prefixlen\":128}],\"link_flags\":65609,\"operstate\":\"UNKNOWN\",\"link_type\":\"loopback\",\"netns\":4026531840},"
	"{\"name\":\"khdummy0?\",\"index\":3,\"flags\":524419,\"mtu\":1500,\"mac\":\"02:00:00:00:00:42\",\"mac_len\":6,"
	"\"addrs\":[{\"family\":\"inet\",\"addr\":\"10.99.0.1\",\"prefixlen\":24},{\"family\":\"inet6\",\"addr\":\"?\",\"prefixlen\":7}],\"link_flags\":590019,\"operstate\":\"UP\",\"link_type\":\"1234\",\"netns\":4026532300}]";

static struct kh_file files[] = {
	{ .pid = 1, .fd = 0, .type = "CHR", .inode = 5, .path = "/dev/null",
	  .addr = 0xffff888004000000 },
	{ .pid = 42, .fd = 3, .type = "SOCK", .inode = 1234,
	  .path = "socket:[1234]", .addr = 0xffff888004000100,
	  .sock = 0xffff888005000000 },
	{ .pid = 77, .fd = 4, .type = "REG", .inode = 99,
	  .path = "/tmp/\xe2\x82\xac\n", .addr = 0xffff888004000200 },
};
static struct kh_file_list file_list = { .nr = 3, .files = files };

static const char files_want[] =
	"[{\"comm\":\"init\",\"pid\":1,\"tid\":0,\"fd\":0,\"type\":\"CHR\",\"inode\":5,\"path\":\"/dev/null\",\"addr\":\"0xffff888004000000\",\"sock\":\"0x0\"},"
	"{\"comm\":\"ev?[31mil??xxxx\",\"pid\":42,\"tid\":0,\"fd\":3,\"type\":\"SOCK\",\"inode\":1234,\"path\":\"socket:[1234]\",\"addr\":\"0xffff888004000100\",\"sock\":\"0xffff888005000000\"},"
	"{\"comm\":\"?\",\"pid\":77,\"tid\":0,\"fd\":4,\"type\":\"REG\",\"inode\":99,\"path\":\"/tmp/????\",\"addr\":\"0xffff888004000200\",\"sock\":\"0x0\"}]";

static const char files_no_tasks_want[] =
	"[{\"comm\":\"?\",\"pid\":1,\"tid\":0,\"fd\":0,\"type\":\"CHR\",\"inode\":5,\"path\":\"/dev/null\",\"addr\":\"0xffff888004000000\",\"sock\":\"0x0\"},"
	"{\"comm\":\"?\",\"pid\":42,\"tid\":0,\"fd\":3,\"type\":\"SOCK\",\"inode\":1234,\"path\":\"socket:[1234]\",\"addr\":\"0xffff888004000100\",\"sock\":\"0xffff888005000000\"},"
	"{\"comm\":\"?\",\"pid\":77,\"tid\":0,\"fd\":4,\"type\":\"REG\",\"inode\":99,\"path\":\"/tmp/????\",\"addr\":\"0xffff888004000200\",\"sock\":\"0x0\"}]";

static struct kh_conn conns[] = {
	{ .proto = "tcp", .local = { 127, 0, 0, 1 }, .remote = { 0 },
	  .lport = 7777, .rport = 0, .state = "LISTEN", .inode = 1234,
	  .sock = 0xffff888005000000, .nr_pids = 1, .pids = { 42 },
	  .type = "stream", .found = "fd", .recv_q = 3, .send_q = 128 },
	/* Not yet accepted: only the kernel's TCP hash has it. */
	{ .proto = "tcp6", .local = { [15] = 1 }, .remote = { [15] = 1 },
	  .lport = 7780, .rport = 40000, .state = "ESTABLISHED",
	  .inode = 0, .sock = 0xffff888005000100, .found = "hash",
	  .type = "stream", .send_q = 4294967295u },
	{ .proto = "unix", .state = "LISTEN", .inode = 1236, .type = "dgram",
	  .path = "@kh\x01sock", .sock = 0xffff888005000200, .nr_pids = 0 },
	{ .proto = "unix", .state = "CONNECTED", .inode = 1237,
	  .sock = 0xffff888005000300, .nr_pids = 99,
	  .pids = { 1, 2, 3, 4, 5, 6, 7, 8 } },
};
static struct kh_conn_list conn_list = {
	.nr = 4, .conns = conns, .queues = 1,
};

static const char conns_want[] =
	"[{\"proto\":\"tcp\",\"local\":\"127.0.0.1\",\"remote\":\"0.0.0.0\",\"lport\":7777,\"rport\":0,\"state\":\"LISTEN\",\"inode\":1234,\"path\":\"\",\"sock\":\"0xffff888005000000\",\"pids\":[42],\"type\":\"stream\",\"found\":\"fd\",\"recv_q\":3,\"send_q\":128},"
	"{\"proto\":\"tcp6\",\"local\":\"::1\",\"remote\":\"::1\",\"lport\":7780,\"rport\":40000,\"state\":\"ESTABLISHED\",\"inode\":0,\"path\":\"\",\"sock\":\"0xffff888005000100\",\"pids\":[],\"type\":\"stream\",\"found\":\"hash\",\"recv_q\":0,\"send_q\":4294967295},"
	"{\"proto\":\"unix\",\"local\":\"\",\"remote\":\"\",\"lport\":0,\"rport\":0,\"state\":\"LISTEN\",\"inode\":1236,\"path\":\"@kh?sock\",\"sock\":\"0xffff888005000200\",\"pids\":[],\"type\":\"dgram\",\"found\":\"fd\",\"recv_q\":0,\"send_q\":0},"
	"{\"proto\":\"unix\",\"local\":\"\",\"remote\":\"\",\"lport\":0,\"rport\":0,\"state\":\"CONNECTED\",\"inode\":1237,\"path\":\"\",\"sock\":\"0xffff888005000300\",\"pids\":[1,2,3,4,5,6,7,8],\"type\":\"\",\"found\":\"fd\",\"recv_q\":0,\"send_q\":0}]";

static struct kh_vma vmas[] = {
	{ .start = 0x400000, .end = 0x401000, .perms = "r-xp",
	  .offset = 0, .inode = 77, .path = "/bin/kh\xc3\xa9\x01" },
	{ .start = 0x7ffd0000, .end = 0x7ffd2000, .perms = "rw-p",
	  .offset = 0x1000, .inode = 0, .path = "/bad\xff" },
	{ .start = 0xffffffffff600000, .end = 0xffffffffff601000,
	  .perms = "--xp", .path = "" },
};
static struct kh_vma_list vma_list = { .nr = 3, .vmas = vmas };

static const char vmas_want[] =
	"[{\"start\":\"0x400000\",\"end\":\"0x401000\",\"perms\":\"r-xp\",\"offset\":0,\"inode\":77,\"path\":\"/bin/kh\xc3\xa9\\u0001\"},"
	"{\"start\":\"0x7ffd0000\",\"end\":\"0x7ffd2000\",\"perms\":\"rw-p\",\"offset\":4096,\"inode\":0,\"path\":\"/bad?\"},"
	"{\"start\":\"0xffffffffff600000\",\"end\":\"0xffffffffff601000\",\"perms\":\"--xp\",\"offset\":0,\"inode\":0,\"path\":\"\"}]";

static struct kh_ram_range ranges[] = {
	{ .gpa = 0, .size = 0xc0000000, .hva = 0x7f0000000000 },
	{ .gpa = 0x100000000, .size = 0x40000000, .hva = 0x7f00c0000000 },
};
static struct kh_vm_info vm_info = {
	.pid = 4242, .name = "khguest", .technique = "procmem",
	.layout_source = "qmp", .nr_ranges = 2, .ranges = ranges,
	.kernel_release = "6.1.0-26-amd64",
	.kernel_banner = "Linux version 6.1.0-26-amd64 \"q\"\n",
	.kernel_phys = 0x1000000, .kernel_virt = 0xffffffff9a000000,
	.kaslr_slide = 0x19000000, .page_offset_base = 0xffff888000000000,
	.paging_levels = 4, .profile_from_cache = 1, .attach_ms = 12.5,
	.technique_props = KH_TECHNIQUE_LIVE,
};

static const char vm_want[] =
	"{\"pid\":4242,\"name\":\"khguest\",\"technique\":\"procmem\",\"layout_source\":\"qmp\","
	"\"ram\":[{\"gpa\":\"0x0\",\"size_bytes\":3221225472,\"hva\":\"0x7f0000000000\"},{\"gpa\":\"0x100000000\",\"size_bytes\":1073741824,\"hva\":\"0x7f00c0000000\"}],"
	"\"kernel_release\":\"6.1.0-26-amd64\",\"kernel_banner\":\"Linux version 6.1.0-26-amd64 \\\"q\\\"\\n\","
	"\"kernel_phys\":\"0x1000000\",\"kernel_virt\":\"0xffffffff9a000000\",\"kaslr_slide\":\"0x19000000\","
	"\"page_offset_base\":\"0xffff888000000000\",\"paging_levels\":4,\"profile_cached\":true,\"attach_ms\":12.5}";

static struct kh_technique techniques[] = {
	{ .name = "procmem", .klass = "I", .description = "reads /proc/PID/mem",
	  .props = KH_TECHNIQUE_LIVE, .available = 1 },
	{ .name = "dump", .klass = "VII", .description = "QMP dump-guest-memory",
	  .props = KH_TECHNIQUE_HALTING | KH_TECHNIQUE_SNAPSHOT |
		   KH_TECHNIQUE_INTERFACE | KH_TECHNIQUE_MAPPED,
	  .available = 0, .reason = "no QMP socket" },
};

static const char techniques_want[] =
	"[{\"name\":\"procmem\",\"class\":\"I\",\"description\":\"reads /proc/PID/mem\",\"live\":true,\"halting\":false,\"snapshot\":false,\"agent\":false,\"interface\":false,\"mapped\":false,\"available\":true},"
	"{\"name\":\"dump\",\"class\":\"VII\",\"description\":\"QMP dump-guest-memory\",\"live\":false,\"halting\":true,\"snapshot\":true,\"agent\":false,\"interface\":true,\"mapped\":true,\"available\":false,\"reason\":\"no QMP socket\"}]";

static const char crawl_summary_want[] =
	"{\"iteration\":7,\"cost\":{\"wall_ms\":3.25,\"cpu_ms\":1.0,\"read_bytes\":65536,\"read_calls\":12,\"procs_kept\":0},"
	"\"consistency\":{\"I.A_zombie\":1,\"I.B_dying\":0,\"I.C_as_good_as_dead\":0,\"I.D_fresh\":2,\"II.A_died\":0,\"II.B_changed\":3},"
	"\"skipped\":1,\"paused\":false,\"incomplete\":false,\"problems\":[\"tasks: list changed\"],"
	"\"counts\":{\"ps\":3,\"lsmod\":2,\"ifconfig\":2,\"lsof\":3,\"ss\":4,\"proc\":2}}";

static const char crawl_want_head[] =
	"{\"iteration\":0,\"cost\":{\"wall_ms\":3.25,\"cpu_ms\":1.0,\"read_bytes\":65536,\"read_calls\":12,\"procs_kept\":0},"
	"\"consistency\":{\"I.A_zombie\":1,\"I.B_dying\":0,\"I.C_as_good_as_dead\":0,\"I.D_fresh\":2,\"II.A_died\":0,\"II.B_changed\":3},"
	"\"skipped\":1,\"paused\":false,\"incomplete\":false,\"problems\":[\"tasks: list changed\"],\"info\":";

static const char crawl_want_procs[] =
	",\"proc\":{\"1\":{\"cmdline\":[\"/sbin/init\",\"\",\"x?y\"],\"rss_pages\":300,\"maps\":[]},"
	"\"42\":{\"cmdline\":[],\"rss_pages\":0,\"maps\":";

static void test_crawl(void)
{
	struct kh_vma_list no_vmas = { .nr = 0 };
	struct kh_proc_state procs[2] = {
		/* Arguments as NUL-separated strings, one of them empty. */
		{ .pid = 1, .maps = &no_vmas, .rss_pages = 300,
		  .cmdline = "/sbin/init\0\0x\x02y", .cmdline_len = 15 },
		{ .pid = 42, .maps = &vma_list },
	};
	struct kh_crawl crawl = {
		.os = os, .mem = mem, .tasks = &task_list,
		.modules = &module_list, .ifaces = &iface_list,
		.files = &file_list, .conns = &conn_list,
		.nr_procs = 2, .procs = procs,
		.consistency = { .zombie = 1, .fresh = 2, .changed = 3 },
		.nr_skipped = 1,
		.result = { .flags = KH_RESULT_INCONSISTENT,
			    .problem = "tasks: list changed" },
		.wall_ms = 3.25, .cpu_ms = 1.0, .read_calls = 12,
		.read_bytes = 65536,
	};
	char want[16384];

	expect("crawl --summary", kh_json_crawl(&crawl, 7, 1),
	       crawl_summary_want);
	/* The whole state: the encoders above, in this order. */
	snprintf(want, sizeof(want),
		 "%s%s,\"mem\":%s,\"ps\":%s,\"lsmod\":%s,\"ifconfig\":%s,\"lsof\":%s,\"ss\":%s%s%s}}}",
		 crawl_want_head, os_want, mem_want, tasks_want, modules_want,
		 ifaces_want, files_want, conns_want, crawl_want_procs,
		 vmas_want);
	expect("crawl", kh_json_crawl(&crawl, 0, 0), want);

	/* Incomplete: flagged as such, and still with its problem. */
	crawl.result.flags = KH_RESULT_INCOMPLETE;
	crawl.paused = 1;
	snprintf(want, sizeof(want), "%.*s", (int)(strstr(crawl_summary_want,
		 "\"paused\"") - crawl_summary_want), crawl_summary_want);
	strcat(want, "\"paused\":true,\"incomplete\":true,\"problems\":[\"tasks: list changed\"],"
		     "\"counts\":{\"ps\":3,\"lsmod\":2,\"ifconfig\":2,\"lsof\":3,\"ss\":4,\"proc\":2}}");
	expect("incomplete crawl", kh_json_crawl(&crawl, 7, 1), want);
}

/*
 * The rule of every document: how the reads went inside it. A problem
 * naming guest bytes that are not UTF-8 is still said, printable.
 */
static void test_result_rule(void)
{
	struct kh_result result = { .flags = KH_RESULT_INCOMPLETE };
	char want[8192];
	json_t *doc;

	expect("a complete listing",
	       kh_json_listing("lsmod", json_array(), NULL),
	       "{\"lsmod\":[],\"incomplete\":false,\"problems\":[]}");
	snprintf(result.problem, sizeof(result.problem),
		 "files of process 7 (ev\xff\x1bl): gone");
	snprintf(want, sizeof(want),
		 "{\"ps\":%s,\"incomplete\":true,\"problems\":[\"files of process 7 (ev??l): gone\"]}",
		 tasks_want);
	expect("an incomplete listing, its problem printable",
	       kh_json_listing("ps", kh_json_tasks(&task_list), &result),
	       want);
	/* Inconsistent only: complete, and the problem named. */
	result.flags = KH_RESULT_INCONSISTENT;
	snprintf(result.problem, sizeof(result.problem), "tasks moved");
	doc = json_object();
	CHECK(!kh_json_result(doc, &result), "kh_json_result on an object");
	expect("an inconsistent object", doc,
	       "{\"incomplete\":false,\"problems\":[\"tasks moved\"]}");
	doc = json_array();
	CHECK(kh_json_result(doc, NULL) == -1, "kh_json_result on an array");
	json_decref(doc);
	CHECK(!kh_json_listing("ps", NULL, NULL), "a listing of nothing");
}

/*
 * The kernel log: text escaped byte for byte as the guest's /dev/kmsg
 * escapes it (controls, a backslash, bytes past 0x7e, an embedded NUL
 * and newline), levels and facilities by name, a CPU and a thread as
 * caller, a continuation, and dev_printk's subsystem and device.
 */
static void test_dmesg(void)
{
	static char text[] = "Linux version 6.1\0" "a\\b\x1b[31m\xc3\xa9\0x\ny\0" "cont\0";
	struct kh_kmsg msgs[] = {
		{ .seq = 0, .ts_nsec = 0, .text_off = 0, .text_len = 17,
		  .facility = 0, .level = 5, .caller_id = 0x80000000 },
		{ .seq = 7, .ts_nsec = 1234567891, .text_off = 18,
		  .text_len = 14, .facility = 1, .level = 6, .flags = 2,
		  .caller_id = 42, .subsystem = "pci",
		  .device = "+pci:0000:00:01.0" },
		{ .seq = 8, .ts_nsec = 1234567999, .text_off = 33,
		  .text_len = 4, .facility = 23, .level = 7, .flags = 8,
		  .caller_id = 42 },
	};
	struct kh_kmsg_list list = { .nr = 3, .msgs = msgs, .text = text };

	expect("dmesg", kh_json_dmesg(&list),
	       "[{\"seq\":0,\"ts_ns\":0,\"facility\":\"kern\",\"level\":\"notice\",\"caller\":\"C0\",\"text\":\"Linux version 6.1\",\"cont\":false},"
	       "{\"seq\":7,\"ts_ns\":1234567891,\"facility\":\"user\",\"level\":\"info\",\"caller\":\"T42\",\"text\":\"a\\\\x5cb\\\\x1b[31m\\\\xc3\\\\xa9\\\\x00x\\\\x0ay\",\"cont\":false,\"subsystem\":\"pci\",\"device\":\"+pci:0000:00:01.0\"},"
	       "{\"seq\":8,\"ts_ns\":1234567999,\"facility\":\"local7\",\"level\":\"debug\",\"caller\":\"T42\",\"text\":\"cont\",\"cont\":true}]");
}

/* An environment: entries printable, an empty one kept, no final NUL. */
static void test_environ(void)
{
	static const char env[] = "HOME=/\0TERM=x\x1b[2J\0\0LAST=1";

	expect("environ", kh_json_environ(&tasks[1], env, sizeof(env) - 1),
	       "{\"pid\":42,\"comm\":\"ev?[31mil??xxxxx\",\"environ\":[\"HOME=/\",\"TERM=x?[2J\",\"\",\"LAST=1\"]}");
}

/* Credentials: ids as integers, caps as /proc prints them, shared pids. */
static void test_creds(void)
{
	struct kh_cred creds[] = {
		{ .pid = 1, .comm = "init", .addr = 0xffff888003a00000,
		  .cred = 0xffff88803ffd5600, .real_cred = 0xffff88803ffd5600,
		  .cap_permitted = 0x1ffffffffff, .cap_effective = 0x1ffffffffff,
		  .cap_bounding = 0x1ffffffffff },
		{ .pid = 42, .comm = "ev\x1bil", .addr = 0xffff888003a04000,
		  .cred = 0xffff88803ffd5600, .real_cred = 0xffff888004000000,
		  .uid = 1000, .euid = 0, .suid = 1000, .fsuid = 0,
		  .gid = 4294967295u, .egid = 5, .sgid = 6, .fsgid = 7,
		  .cap_ambient = 0x400, .nr_shared = 1, .shared_with = { 1 } },
	};
	struct kh_cred_list list = { .nr = 2, .creds = creds };

	expect("creds", kh_json_creds(&list),
	       "[{\"pid\":1,\"comm\":\"init\",\"addr\":\"0xffff888003a00000\",\"cred\":\"0xffff88803ffd5600\",\"real_cred\":\"0xffff88803ffd5600\",\"uid\":0,\"euid\":0,\"suid\":0,\"fsuid\":0,\"gid\":0,\"egid\":0,\"sgid\":0,\"fsgid\":0,\"cap_inh\":\"0000000000000000\",\"cap_prm\":\"000001ffffffffff\",\"cap_eff\":\"000001ffffffffff\",\"cap_bnd\":\"000001ffffffffff\",\"cap_amb\":\"0000000000000000\",\"shared_with\":[]},"
	       "{\"pid\":42,\"comm\":\"ev?il\",\"addr\":\"0xffff888003a04000\",\"cred\":\"0xffff88803ffd5600\",\"real_cred\":\"0xffff888004000000\",\"uid\":1000,\"euid\":0,\"suid\":1000,\"fsuid\":0,\"gid\":4294967295,\"egid\":5,\"sgid\":6,\"fsgid\":7,\"cap_inh\":\"0000000000000000\",\"cap_prm\":\"0000000000000000\",\"cap_eff\":\"0000000000000000\",\"cap_bnd\":\"0000000000000000\",\"cap_amb\":\"0000000000000400\",\"shared_with\":[1]}]");
}

/* bash: commands as typed when UTF-8, else printable; times as seconds. */
static void test_bash(void)
{
	char utf8[] = "printf '%s\\n' 'caf\xc3\xa9'", bad[] = "echo \xff\x1b[2J";
	struct kh_bash_entry entries[] = {
		{ .pid = 149, .comm = "bash", .time = 1796569455,
		  .addr = 0x562ead81f0d0, .in_list = 1, .command = utf8 },
		{ .pid = 149, .comm = "ba\x1bsh", .time = 1796569456,
		  .addr = 0x562ead81f100, .command = bad },
	};
	struct kh_bash_list list = { .nr = 2, .entries = entries };

	expect("bash", kh_json_bash(&list),
	       "[{\"pid\":149,\"comm\":\"bash\",\"time\":1796569455,\"command\":\"printf '%s\\\\n' 'caf\xc3\xa9'\",\"addr\":\"0x562ead81f0d0\",\"in_list\":true},"
	       "{\"pid\":149,\"comm\":\"ba?sh\",\"time\":1796569456,\"command\":\"echo ??[2J\",\"addr\":\"0x562ead81f100\",\"in_list\":false}]");
}

/* ELF objects: the type by name, null for what was not resident. */
static void test_elfs(void)
{
	struct kh_elf elfs[] = {
		{ .pid = 149, .comm = "bash", .start = 0x562e7aa55000,
		  .end = 0x562e7ab8a000, .inode = 12, .path = "/usr/local/bin/bash",
		  .type = 3, .bits = 64, .resident = 1, .exe = 1 },
		{ .pid = 149, .comm = "bash", .start = 0x7f8e5fbc5000,
		  .end = 0x7f8e5fd9a000, .inode = 13, .path = "/lib/\xff\x1b",
		  .type = 0x1234, .bits = 32, .resident = 1 },
		{ .pid = 150, .comm = "kh-leaf", .start = 0x400000,
		  .end = 0x4df000, .inode = 14, .path = "/bin/khguest",
		  .type = 2, .bits = 64, .exe = 1 },
	};
	struct kh_elf_list list = { .nr = 3, .elfs = elfs };

	expect("elfs", kh_json_elfs(&list),
	       "[{\"pid\":149,\"comm\":\"bash\",\"start\":\"0x562e7aa55000\",\"end\":\"0x562e7ab8a000\",\"path\":\"/usr/local/bin/bash\",\"inode\":12,\"type\":\"DYN\",\"bits\":64,\"exe\":true},"
	       "{\"pid\":149,\"comm\":\"bash\",\"start\":\"0x7f8e5fbc5000\",\"end\":\"0x7f8e5fd9a000\",\"path\":\"/lib/??\",\"inode\":13,\"type\":4660,\"bits\":32,\"exe\":false},"
	       "{\"pid\":150,\"comm\":\"kh-leaf\",\"start\":\"0x400000\",\"end\":\"0x4df000\",\"path\":\"/bin/khguest\",\"inode\":14,\"type\":null,\"bits\":null,\"exe\":true}]");
}

int main(void)
{
	expect("tasks", kh_json_tasks(&task_list), tasks_want);
	task_details();
	expect("os", kh_json_os_info(&os), os_want);
	expect("mem", kh_json_mem_info(&mem), mem_want);
	expect("modules", kh_json_modules(&module_list), modules_want);
	test_dmesg();
	test_environ();
	test_creds();
	test_bash();
	test_elfs();
	expect("ifaces", kh_json_ifaces(&iface_list), ifaces_want);
	/* comm by pid: the task list sorted by pid, as keyhole lsof has it. */
	expect("files", kh_json_files(&file_list, &task_list), files_want);
	expect("files without tasks", kh_json_files(&file_list, NULL),
	       files_no_tasks_want);
	expect("conns", kh_json_conns(&conn_list), conns_want);
	expect("vmas", kh_json_vmas(&vma_list), vmas_want);
	expect("vm", kh_json_vm_info(&vm_info), vm_want);
	expect("techniques", kh_json_techniques(techniques, 2),
	       techniques_want);
	test_crawl();
	test_result_rule();
	printf("every encoder prints the document keyhole always printed\n");
	return KH_PASS;
}
