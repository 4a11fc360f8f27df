// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: keyhole's text tables, rendered from their queries' JSON
 * documents after a trip through JSON text (as a document from keyholed
 * makes it), are byte for byte what they should be, for values a
 * hostile guest can choose: control characters, bytes that are not UTF-8,
 * strings that fill their arrays, unsigned 64-bit extremes, negative ids,
 * unknown protocols and address families. The text of info, mem, vm,
 * maps and techniques is what the commands printed from the library's
 * structs before there were queries (ifconfig's is test_ifconfig's); ps,
 * lsof, lsmod and netstat are libsmartcols tables, each column as wide as
 * its widest cell (so an IPv6 endpoint no longer overflows its column),
 * and --output, --noheadings and --raw choose and lay out their columns.
 *
 * The renderers and tables are compiled in here: unit tests link only
 * libkeyhole.a (and libsmartcols).
 */
#include "../../tools/keyhole/render_processes.c"
#include "../../tools/keyhole/render_system.c"
#include "../../tools/keyhole/render_environ.c"
#include "../../tools/keyhole/render_creds.c"
#include "../../tools/keyhole/render_bash.c"
#include "../../tools/keyhole/render_elfs.c"
#include "../../tools/keyhole/render_check.c"
#include "../../tools/keyhole/render_vm.c"
#include "../../tools/keyhole/render_network.c"
#include "../../tools/keyhole/table.c"

#include <sys/socket.h>

#include "check.h"

/* argv that steers a terminal, and one whose arguments are empty. */
static const char init_argv[] = "/bin/sh\0/init";
static const char evil_argv[] = "ev\x1b[31mil\0\0--x\xff";

/* Sorted as the ps query sorts them; comms that steer a terminal. */
static struct kh_task tasks[] = {
	{ .pid = 1, .tgid = 1, .ppid = 0, .uid = 0, .state = 'S',
	  .comm = "init", .cpu_time = 1500000000, .start_time = 5,
	  .cmdline = init_argv, .cmdline_len = sizeof(init_argv) },
	{ .pid = 42, .tgid = 42, .ppid = 1, .uid = 4294967295u, .state = 'R',
	  .comm = "ev\x1b[31mil\xc3\xa9xxxxx", .euid = 1002, .egid = 3,
	  .tty = "pts/0\x1b[1m", .cpu_time = 90061ull * 1000000000,
	  .cmdline = evil_argv, .cmdline_len = sizeof(evil_argv) - 1 },
	{ .pid = 43, .tgid = 42, .ppid = 1, .uid = 1000, .state = 'D',
	  .comm = "worker\t1", .euid = 1002, .tty = "ttyS0",
	  .cmdline = evil_argv, .cmdline_len = sizeof(evil_argv) - 1 },
	/* A comm that fills its array, without a NUL; no argv. */
	{ .pid = 2147483647, .tgid = 2147483647, .ppid = -1, .uid = 7,
	  .state = '?', .comm = { 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h',
				  'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p' },
	  .cpu_time = UINT64_MAX, .start_time = UINT64_MAX,
	  .addr = 0xffff888004a12100 },
	{ .pid = 5, .tgid = 5, .ppid = 1, .state = 'Z', .comm = "" },
};
/* Booted 2001-06-15 12:00:00 UTC: STIME shows the year, in any zone. */
static struct kh_task_list task_list = {
	.nr = 5, .tasks = tasks, .boot_time = 992606400ll * 1000000000,
	.flags = KH_TASKS_DETAILS | KH_TASKS_CMDLINE,
};

/* By pid, as lsof looks comms up. */
static struct kh_task tasks_by_pid[] = {
	{ .pid = 1, .tgid = 1, .comm = "init" },
	{ .pid = 5, .tgid = 5, .comm = "" },
	{ .pid = 42, .tgid = 42, .comm = "ev\x1b[31mil\xc3\xa9xxxxx",
	  .euid = 1002 },
	{ .pid = 43, .tgid = 42, .comm = "worker\t1", .euid = 4294967295u },
};
static struct kh_task_list tasks_pid = {
	.nr = 4, .tasks = tasks_by_pid, .flags = KH_TASKS_DETAILS,
};

static struct kh_os_info os = {
	.sysname = "Linux", .nodename = "kh\x01guest\xff",
	.release = "6.1.0-26-amd64",
	.version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)",
	.machine = "x86_64", .domainname = "(none)", .uptime = 12.345,
	.cpus_online = 2, .cpus_possible = 4294967295u,
	.loadavg = { 0.005, 0.5, 1.255 },
};

static struct kh_mem_info mem = {
	.total = 1009716, .free = 912345, .available = 930000,
	.buffers = 0, .cached = 123456789012ull,
	.shmem = 18446744073709551615ull,
};

static struct kh_module modules[] = {
	{ .addr = 0xffffffffc0002000, .name = "dummy", .size = 16384,
	  .refcount = 1, .state = "Live", .used_by = "nf\xfftables\x1b" },
	{ .addr = 0xffffffffc0010000, .name = "nf\xfftables\x1b",
	  .size = 18446744073709551615ull, .refcount = -1,
	  .state = "Unloading" },
	{ .name = "a_very_long_module_name_that_is_longer_than_nineteen",
	  .size = 1, .refcount = 2147483647, .state = "Lo\tading" },
	{ .name = "neg", .refcount = -7, .state = "" },
};
static struct kh_module_list module_list = { .nr = 4, .modules = modules };

static struct kh_iface ifaces[] = {
	{ .name = "lo", .index = 1, .flags = 0x9, .link_flags = 0x9, .mtu = 65536, .mac_len = 6,
	  .nr_addrs = 2,
	  .addrs = { { .family = AF_INET, .addr = { 127, 0, 0, 1 },
		       .prefixlen = 8 },
		     { .family = AF_INET6, .addr = { [15] = 1 },
		       .prefixlen = 128 } } },
	/* Every flag, the longest MAC, address and prefix, a bad family. */
	{ .name = "kh\x1b" "dummy0\xfe", .index = -3, .flags = 0xffffffff, .link_flags = 0xffffffff,
	  .mtu = 4294967295u, .mac = { 0x02, 0, 0, 0, 0, 0x42 },
	  .mac_len = 32, .nr_addrs = 4,
	  .addrs = { { .family = AF_INET6,
		       .addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				 0xff, 0xff },
		       .prefixlen = 4294967295u },
		     { .family = AF_UNIX },
		     { .family = AF_INET6,
		       .addr = { [10] = 0xff, [11] = 0xff, [12] = 1,
				 [13] = 2, [14] = 3, [15] = 4 },
		       .prefixlen = 96 },
		     { .family = AF_INET, .addr = { 10, 99, 0, 1 },
		       .prefixlen = 24 } } },
	{ .name = "nomac", .index = 3 },
};
static struct kh_iface_list iface_list = { .nr = 3, .ifaces = ifaces };

static struct kh_file files[] = {
	{ .pid = 1, .fd = 0, .type = "CHR", .inode = 3,
	  .path = "/dev/console", .mode = 'u', .dev = 6, .rdev = 5 << 20 | 1 },
	{ .pid = 5, .fd = 1, .type = "REG", .inode = 18446744073709551615ull,
	  .path = "/tmp/\x1b]0;pwn\x07\xc3\xa9", .mode = 'w',
	  .pos = 8, .size = UINT64_MAX, .dev = 0xfff00000 | 0xfffff },
	{ .pid = 42, .fd = 2147483647, .type = "a_inode",
	  .path = "anon_inode:[eventfd]", .mode = ' ', .pos = 12 },
	{ .pid = 43, .fd = -1, .type = "SOCK", .inode = 99,
	  .path = "socket:[99]", .mode = 'r', .sock = 0xffff888004a12100,
	  .family = 10 },
	/* A process not in the task list: comm "?". */
	{ .pid = 99, .fd = 3, .type = "FIFO", .inode = 5, .path = "pipe:[5]",
	  .mode = 'r', .sock = 0xffff888004a12200, .family = 77 },
};
static struct kh_file_list file_list = {
	.nr = 5, .files = files, .details = 1,
};

static struct kh_conn conns[] = {
	{ .proto = "tcp", .local = { 127, 0, 0, 1 }, .lport = 7777,
	  .state = "LISTEN", .inode = 100, .nr_pids = 1, .pids = { 121 } },
	{ .proto = "tcp", .local = { 127, 0, 0, 1 },
	  .remote = { 127, 0, 0, 1 }, .lport = 65535, .rport = 7778,
	  .state = "ESTABLISHED", .inode = 18446744073709551615ull,
	  .recv_q = 10, .send_q = 4294967295u, .type = "stream",
	  .nr_pids = 8,
	  .pids = { 1, 2147483647, -2147483647 - 1, 4, 5, 6, 7, 8 } },
	{ .proto = "tcp6",
	  .local = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	  .remote = { [10] = 0xff, [11] = 0xff, [12] = 1, [13] = 2,
		      [14] = 3, [15] = 4 },
	  .lport = 7780, .state = "LISTEN", .inode = 101 },
	/* More pids than the array holds. */
	{ .proto = "udp", .local = { 127, 0, 0, 1 }, .lport = 7779,
	  .state = "CLOSE", .inode = 102, .nr_pids = 20, .pids = { 9, 10 } },
	{ .proto = "udp6", .state = "", .inode = 103 },
	{ .proto = "unix", .state = "LISTEN", .inode = 104,
	  .path = "/tmp/kh.sock", .nr_pids = 1, .pids = { 124 } },
	{ .proto = "unix", .state = "CONNECTED", .inode = 105,
	  .path = "@abstract\x1b\xc3\xa9" },
	{ .proto = "unix", .state = "UNCONNECTED", .inode = 106,
	  .type = "dgram", .recv_q = 5 },
	/* A path that fills its array, without a NUL. */
	{ .proto = "unix", .state = "CONNECTED", .inode = 107,
	  .type = "seqpacket",
	  .path = "01234567890123456789012345678901234567890123456789"
		  "01234567890123456789012345678901234567890123456789"
		  "abcdefgh" },
	{ .proto = "weird", .local = { 1, 2, 3, 4 }, .lport = 1, .state = "X",
	  .inode = 1 },
};
static struct kh_conn_list conn_list = {
	.nr = 10, .conns = conns, .queues = 1,
};

static struct kh_vma vmas[] = {
	{ .start = 0x400000, .end = 0x401000, .perms = "r--p", .inode = 45,
	  .path = "/bin/khguest", .dev = 8 << 20 | 1 },
	/* UTF-8 with control characters: kept in JSON, never in text. */
	{ .start = 0x7fffffffe000, .end = 0xffffffffffffffffull,
	  .perms = "rw-s", .offset = 18446744073709551615ull,
	  .inode = 18446744073709551615ull,
	  .path = "/tmp/caf\xc3\xa9 \x1b[2J\n", .dev = 0xfffu << 20 | 0xfffff },
	{ .start = 0x1000, .end = 0x2000, .perms = "---p", .offset = 4096 },
	{ .start = 0x3000, .end = 0x4000, .perms = "r-xp", .offset = 1,
	  .inode = 2, .path = "/bad\xff\xfe utf8" },
	{ .path = "[heap]" },
	/* The longest path there is room for. */
	{ .start = 0x5000, .end = 0x6000, .perms = "rwxp",
	  .inode = 123456789012345ull,
	  .path = "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
};
static struct kh_vma_list vma_list = { .nr = 6, .vmas = vmas, .devices = 1 };

static const struct kh_ram_range ranges[] = {
	{ .gpa = 0, .size = 0xc0000000, .hva = 0x7f0000000000 },
	{ .gpa = 0x100000000, .size = 0x40000000, .hva = 0x7f00c0000000 },
	{ .gpa = 0xfffffffffffff000ull, .size = 0x1000,
	  .hva = 0xffffffffffffffffull },
};

/* The name and kernel strings are printed as they are, when UTF-8. */
static struct kh_vm_info vminfo = {
	.pid = 1234, .name = "kh-g\tuest \xc3\xa9", .technique = "pvreadv",
	.layout_source = "qmp", .nr_ranges = 3, .ranges = ranges,
	.kernel_release = "6.1.0-57-amd64\x1b",
	.kernel_banner = "Linux version 6.1", .kernel_phys = 0x1000000,
	.kernel_virt = 0xffffffff81000000ull,
	.page_offset_base = 0xffff888000000000ull, .paging_levels = 5,
	.profile_from_cache = 1, .attach_ms = 12.35,
};

static struct kh_technique techs[] = {
	{ .name = "pvreadv", .klass = "I", .description = "d",
	  .props = KH_TECHNIQUE_LIVE, .available = 1 },
	{ .name = "gdbstub", .klass = "IV", .description = "d",
	  .props = KH_TECHNIQUE_HALTING | KH_TECHNIQUE_INTERFACE,
	  .reason = "no gdbstub socket: start QEMU with -gdb" },
	{ .name = "all", .klass = "VIII", .description = "d", .props = 0x3f },
	{ .name = "none", .klass = "", .description = "", .available = 1 },
};

static const char ps_want[] =
	" UID        PID PPID STIME TTY                  TIME CMD\n"
	"   0          1    0 2001  ?                00:00:01 /bin/sh /init\n"
	"1002         42    1 2001  pts/0?[1m      1-01:01:01 ev?[31mil  --x?\n"
	"1002         42    1 2001  ttyS0            00:00:00 ev?[31mil  --x?\n"
	"   0 2147483647   -1 ?     ?         213503-23:34:33 [abcdefghijklmno]\n"
	"   0          5    1 2001  ?                00:00:00 [] <defunct>\n";

static const char info_want[] =
	"sysname       Linux\n"
	"nodename      kh?guest?\n"
	"release       6.1.0-26-amd64\n"
	"version       #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-3"
	"0)\n"
	"machine       x86_64\n"
	"domainname    (none)\n"
	"uptime        12.35 s\n"
	"cpus online   2\n"
	"cpus possible 4294967295\n"
	"loadavg       0.01 0.50 1.25\n";

static const char mem_want[] =
	"MemTotal:        1009716 kB\n"
	"MemFree:          912345 kB\n"
	"MemAvailable:     930000 kB\n"
	"Buffers:               0 kB\n"
	"Cached:         123456789012 kB\n"
	"Shmem:          18446744073709551615 kB\n";

static const char lsmod_want[] =
	"Module                                                        "
	"       Size Used by      State\n"
	"dummy                                                         "
	"      16384 1 nf?tables? Live\n"
	"nf?tables?                                           184467440"
	"73709551615 -            Unloading\n"
	"a_very_long_module_name_that_is_longer_than_nineteen          "
	"          1 2147483647   Lo?ading\n"
	"neg                                                           "
	"          0 -7           \n";

static const char ifconfig_want[] =
	"lo: index 1 flags=0x9<UP,LOOPBACK> mtu 65536\n"
	"        hwaddr 00:00:00:00:00:00\n"
	"        inet 127.0.0.1/8\n"
	"        inet6 ::1/128\n"
	"\n"
	"kh?dummy0?: index -3 flags=0xffffffff<UP,BROADCAST,DEBUG,LOOPBAC"
	"K,POINTOPOINT,NOTRAILERS,RUNNING,NOARP,PROMISC,ALLMULTI,MASTER,S"
	"LAVE,MULTICAST,PORTSEL,AUTOMEDIA,DYNAMIC,LOWER_UP,DORMANT,ECHO,0"
	"xfff80000> mtu 4294967295\n"
	"        hwaddr 02:00:00:00:00:42:00:00:00:00:00:00:00:00:00:00:0"
	"0:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\n"
	"        inet6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/4294967295"
	"\n"
	"        inet6 ?\n"
	"        inet6 ::ffff:1.2.3.4/96\n"
	"        inet 10.99.0.1/24\n"
	"\n"
	"nomac: index 3 flags=0x0<> mtu 0\n";

static const char lsof_want[] =
	"COMMAND         PID       USER         FD TYPE                DEVICE SIZE/OFF                 NODE NAME\n"
	"init              1          0         0u CHR                    5,1      0t0                    3 /dev/console\n"
	"                  5          0         1w REG           4095,1048575       -1 18446744073709551615 /tmp/?]0;pwn???\n"
	"ev?[31mil??xxxx  42       1002 2147483647 a_inode                0,0        0                    0 anon_inode:[eventfd]\n"
	"worker?1         43 4294967295        -1r IPv6    0xffff888004a12100      0t0                   99 socket:[99]\n"
	"?                99          ?         3r FIFO                   0,0      0t0                    5 pipe:[5]\n";

static const char netstat_want[] =
	"Netid State  Recv-Q     Send-Q Local                                                                                                        Peer               Process\n"
	"tcp   LISTEN      0          0 127.0.0.1:7777                                                                                               0.0.0.0:*          121\n"
	"tcp   ESTAB      10 4294967295 127.0.0.1:65535                                                                                              127.0.0.1:7778     1,2147483647,-2147483648,4,5,6,7,8\n"
	"tcp   LISTEN      0          0 [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:7780                                                               [::ffff:1.2.3.4]:* \n"
	"udp   UNCONN      0          0 127.0.0.1:7779                                                                                               0.0.0.0:*          9,10,0,0,0,0,0,0\n"
	"udp               0          0 [::]:*                                                                                                       [::]:*             \n"
	"u_str LISTEN      0          0 /tmp/kh.sock                                                                                                 *                  124\n"
	"u_str ESTAB       0          0 @abstract???                                                                                                 *                  \n"
	"u_dgr UNCONN      5          0 *                                                                                                            *                  \n"
	"u_seq ESTAB       0          0 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789abcdefgh *                  \n"
	"weird X           0          0 1.2.3.4:1                                                                                                    0.0.0.0:*          \n";

static const char maps_want[] =
	"00400000-00401000 r--p 00000000 08:01 45                        "
	"         /bin/khguest\n"
	"7fffffffe000-ffffffffffffffff rw-s ffffffffffffffff fff:fffff 18"
	"446744073709551615 /tmp/caf?? ?[2J?\n"
	"00001000-00002000 ---p 00001000 00:00 0 \n"
	"00003000-00004000 r-xp 00000001 00:00 2                         "
	"         /bad?? utf8\n"
	"00000000-00000000  00000000 00:00 0                             "
	"         [heap]\n"
	"00005000-00006000 rwxp 00000000 00:00 123456789012345           "
	"         /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaa\n";

static const char techniques_want[] =
	"NAME      CLASS OK   PROPERTIES                  WHY NOT\n"
	"pvreadv   I     yes  live                        \n"
	"gdbstub   IV    no   halting,interface           no gdbstub sock"
	"et: start QEMU with -gdb\n"
	"all       VIII  no   live,halting,snapshot,agent,interface,mappe"
	"d \n"
	"none            yes                              \n";

/*
 * The old vm text printed -name and the guest's kernel release raw,
 * escapes and all; every text field is made printable now.
 */
static const char vm_want[] =
	"pid              1234\n"
	"name             kh-g?uest ??\n"
	"technique        pvreadv\n"
	"layout source    qmp\n"
	"ram              gpa 0x000000000-0x0bfffffff at hva 0x7f00000000"
	"00\n"
	"ram              gpa 0x100000000-0x13fffffff at hva 0x7f00c00000"
	"00\n"
	"ram              gpa 0xfffffffffffff000-0xffffffffffffffff at hv"
	"a 0xffffffffffffffff\n"
	"kernel           6.1.0-57-amd64?\n"
	"kernel phys      0x1000000\n"
	"kernel virt      0xffffffff81000000 (KASLR slide 0x0)\n"
	"page_offset_base 0xffff888000000000\n"
	"paging levels    5\n"
	"profile          from cache\n"
	"attach time      12.3 ms\n";

/*
 * A check report with a finding of each shape (a process, a hook into a
 * hidden module), guest text that steers a terminal or is not UTF-8,
 * and a check that could not run.
 */
static struct kh_finding findings[] = {
	{ .check = KH_CHECK_HIDDEN_PROCESSES, .pid = 273,
	  .comm = "kh-\x1b[2Jhid\xff",
	  .what = "process 273 (kh-\x1b[2Jhid\xff) has a pid but is not on the task list",
	  .addr = 0xffff888006c48000ull },
	{ .check = KH_CHECK_SYSCALLS, .addr = 0xffffffff82000a28ull,
	  .target = 0xffffffffc0260000ull, .target_sym = "rk+0x0",
	  .owner = "rk (hidden)", .what = "system call 217 leads to rk (hidden)",
	  .expected = "a __x64_sys_* entry point in the kernel's text" },
};

static const char check_want[] =
	"CHECK            PID FINDING                                                         TARGET\n"
	"hidden_processes 273 process 273 (kh-?[2Jhid?) has a pid but is not on the task list -\n"
	"syscalls           - system call 217 leads to rk (hidden)                            rk+0x0\n"
	"\n"
	"2 findings\n"
	"  hidden_processes  80 examined, 1 found\n"
	"  hidden_modules    not run: this kernel's BTF has no module kobjects\n"
	"  syscalls          451 examined, 1 found; sys_call_table: 1 unread\n"
	"  idt               not run\n"
	"  kprobes           not run\n"
	"  ftrace            not run\n"
	"  netfilter         not run\n"
	"  malfind           not run\n"
	"  procfs            not run\n"
	"  tty               not run\n";

static struct kh_check_report check_report = {
	.nr = 2, .findings = findings,
	.checks = {
		[KH_CHECK_HIDDEN_PROCESSES] = { .ran = 1, .examined = 80,
						.findings = 1 },
		[KH_CHECK_HIDDEN_MODULES] = { .problem = "this kernel's BTF has no module kobjects" },
		[KH_CHECK_SYSCALLS] = { .ran = 1, .examined = 451, .findings = 1,
					.problem = "sys_call_table: 1 unread" },
	},
};

/* Hooks as kh_hooks() lists them: a suspect one, and the kernel's own. */
static struct kh_finding hook_findings[] = {
	{ .check = KH_CHECK_NETFILTER, .addr = 0xffff888004a1c018ull,
	  .target = 0xffffffffc025e030ull, .target_sym = "khrootkit+0x30",
	  .owner = "khrootkit (hidden)", .hooked = "ipv4 LOCAL_IN",
	  .role = "hook", .netns = 4026531840u, .suspect = 1,
	  .what = "netfilter ipv4 LOCAL_IN hook (priority 0, netns 4026531840) in khrootkit (hidden)" },
	{ .check = KH_CHECK_NETFILTER, .addr = 0xffff888004a1c030ull,
	  .target = 0xffffffff81510a40ull,
	  .target_sym = "apparmor_ip_postroute+0x0", .role = "hook",
	  .hooked = "ipv6 POST_\x1bROUTING", .priority = -225,
	  .netns = 4026531840u,
	  .what = "netfilter ipv6 POST_ROUTING hook (priority -225, netns 4026531840) in the kernel's text" },
	{ .check = KH_CHECK_KPROBES, .role = "pre" },
};
static struct kh_check_report hook_report = {
	.nr = 3, .findings = hook_findings,
};
static const char netfilter_want[] =
	"HOOKED             ROLE PRIO      NETNS TARGET                    OWNER              SUSPECT\n"
	"ipv4 LOCAL_IN      hook    0 4026531840 khrootkit+0x30            khrootkit (hidden) yes\n"
	"ipv6 POST_?ROUTING hook -225 4026531840 apparmor_ip_postroute+0x0 -                  no\n";

/* Mounts, one with a device name that steers a terminal. */
static struct kh_mount mounts[] = {
	{ .ns = 4026531841u, .id = 1, .parent_id = 1, .devname = "rootfs",
	  .path = "/", .fstype = "rootfs", .options = "rw" },
	{ .ns = 4026531841u, .id = 30, .parent_id = 1,
	  .devname = "ev\x1b[2Jil\xff", .path = "/mnt/kh ro",
	  .fstype = "tmpfs", .options = "ro,nosuid,nodev,noexec,noatime" },
};
static struct kh_mount_list mount_list = { .nr = 2, .mounts = mounts };

static const char mounts_want[] =
	"DEVICE    PATH       TYPE   OPTIONS                                NS\n"
	"rootfs    /          rootfs rw                             4026531841\n"
	"ev?[2Jil? /mnt/kh ro tmpfs  ro,nosuid,nodev,noexec,noatime 4026531841\n";

/* A program with a name that steers a terminal, and a map. */
static struct kh_bpf_prog bpf_progs[] = {
	{ .id = 7, .type = 1, .type_name = "socket_filter",
	  .name = "kh\x1b[2J\xff", .tag = { 0xa0, 0x4f, 0x5e, 0xef, 6, 0xa7,
					      0xf5, 0x55 },
	  .xlated_bytes = 16, .jited_bytes = 16 },
};
static struct kh_bpf_map bpf_maps[] = {
	{ .id = 3, .type = 2, .type_name = "array", .name = "kh_map",
	  .key_size = 4, .value_size = 8, .max_entries = 4 },
};
static struct kh_bpf_list bpf_list = {
	.nr_progs = 1, .progs = bpf_progs, .nr_maps = 1, .maps = bpf_maps,
};

static const char ebpf_want[] =
	"KIND ID TYPE          NAME    DETAIL\n"
	"prog  7 socket_filter kh?[2J? tag a04f5eef06a7f555 xlated 16B jited 16B\n"
	"map   3 array         kh_map  key 4B value 8B max_entries 4\n";

/* A history: the time in UTC, a terminal's escapes made printable. */
static char bash_line[] = "printf '%s' 'caf\xc3\xa9' \x1b[2J";
static struct kh_bash_entry bash_entries[] = {
	{ .pid = 149, .comm = "bash", .time = 1796569455,
	  .addr = 0x562ead81f0d0, .in_list = 1, .command = "echo first" },
	{ .pid = 149, .comm = "bash", .time = 1796569456,
	  .addr = 0x562ead81f100, .command = bash_line },
};
static struct kh_bash_list bash_list = { .nr = 2, .entries = bash_entries };
static const char bash_want[] =
	"PID COMM TIME                COMMAND\n"
	"149 bash 2026-12-06 15:04:15 echo first\n"
	"149 bash 2026-12-06 15:04:16 printf '%s' 'caf?""?' ?[2J\n";

/* ELF objects: one resident, one whose header was not. */
static struct kh_elf elf_objects[] = {
	{ .pid = 149, .comm = "bash", .start = 0x562e7aa55000,
	  .end = 0x562e7ab8a000, .inode = 12, .path = "/usr/local/bin/bash",
	  .type = 3, .bits = 64, .resident = 1, .exe = 1 },
	{ .pid = 150, .comm = "kh-leaf", .start = 0x400000, .end = 0x4df000,
	  .inode = 14, .path = "/bin/kh\x1bguest", .type = 2, .exe = 1 },
};
static struct kh_elf_list elf_list = { .nr = 2, .elfs = elf_objects };
static const char elfs_want[] =
	"PID COMM    START          END            TYPE EXE PATH\n"
	"149 bash    0x562e7aa55000 0x562e7ab8a000 DYN  yes /usr/local/bin/bash\n"
	"150 kh-leaf 0x400000       0x4df000       ?    yes /bin/kh?guest\n";

/* A list as the document its query makes: {key: list, ...}. */
static json_t *listing(const char *key, json_t *list)
{
	json_t *doc = kh_json_listing(key, list, NULL);

	CHECK(doc, "%s: no document", key);
	return doc;
}

/* doc through JSON text and back, then rendered. */
static void expect(const char *what, json_t *doc, render_fn *render,
		   const char *want)
{
	char *wire, *text = NULL;
	json_t *received;
	size_t size;
	FILE *out;

	CHECK(doc, "%s: no document", what);
	wire = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	received = wire ? json_loads(wire, 0, NULL) : NULL;
	CHECK(received, "%s: the document does not survive JSON text", what);
	out = open_memstream(&text, &size);
	CHECK(out, "open_memstream");
	render(received, out);
	fclose(out);
	CHECK(!strcmp(text, want), "%s:\n%s\nwant:\n%s", what, text, want);
	free(text);
	free(wire);
	json_decref(received);
	json_decref(doc);
}

/*
 * A document that is not what the query makes prints blanks, no crash:
 * each malformed value as the whole document, and as every list.
 */
static void malformed(void)
{
	render_fn *renderers[] = {
		render_ps, render_ps_forest, render_lsof, render_maps,
		render_maps_all, render_info, render_mem, render_lsmod,
		render_ifconfig, render_ip, render_ss, render_vm,
		render_techniques, render_dmesg, render_envars, render_creds,
		render_bash, render_elfs, render_hooks,
		render_check, render_mounts, render_ebpf,
	};
	static const char *const keys[] = {
		"ps", "lsof", "maps", "lsmod", "ifconfig", "ip", "ss",
		"techniques", "dmesg", "envars", "creds", "bash", "elfs", "libs", "kprobes", "ftrace", "netfilter",
		"findings", "checks", "mounts", "progs", "maps",
	};
	const char *docs[] = {
		"[{}]", "{}", "[1, null, \"x\"]", "7",
		"[{\"pid\": \"1\", \"comm\": 5, \"addrs\": 3, \"pids\": {}, "
		"\"ram\": 7, \"loadavg\": \"x\", \"proto\": null, "
		"\"maps\": 2, \"addr_info\": \"x\", \"flags\": 1}]",
	};
	unsigned int r, d, k;
	FILE *out = fopen("/dev/null", "w");

	CHECK(out, "/dev/null");
	for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		json_t *doc = json_loads(docs[d], JSON_DECODE_ANY, NULL);
		json_t *lists = json_object();

		CHECK(doc && lists, "bad test document %s", docs[d]);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			json_object_set(lists, keys[k], doc);
		for (r = 0; r < sizeof(renderers) / sizeof(renderers[0]); r++) {
			renderers[r](doc, out);
			renderers[r](lists, out);
		}
		json_decref(lists);
		json_decref(doc);
	}
	fclose(out);
}

static const char ps_chosen_want[] =
	"init                     1\n"
	"ev?[31mil??xxxx         42\n"
	"worker?1                42\n"
	"abcdefghijklmno 2147483647\n"
	"                         5\n";

static const char ps_raw_want[] =
	"TID COMM\n"
	"1 init\n"
	"42 ev?[31mil??xxxx\n"
	"43 worker?1\n"
	"2147483647 abcdefghijklmno\n"
	"5 \n";

/* --output in its order and any case, --noheadings, --raw; bad names. */
static void table_options(void)
{
	struct options opts = { .output = "Comm,pid,COMM", .noheadings = true };
	char why[512];

	CHECK(!table_check(&opts, ps_columns, why, sizeof(why)),
	      "Comm,pid,COMM: %s", why);
	table_setup(&opts);
	expect("ps -o comm,tgid --noheadings", listing("ps", kh_json_tasks(&task_list)),
	       render_ps, ps_chosen_want);
	opts = (struct options){ .output = "tid,comm", .raw = true };
	CHECK(!table_check(&opts, ps_columns, why, sizeof(why)), "%s", why);
	table_setup(&opts);
	expect("ps -o tid,comm --raw", listing("ps", kh_json_tasks(&task_list)),
	       render_ps,
	       ps_raw_want);
	opts = (struct options){ .output = "used-by,module" };
	CHECK(!table_check(&opts, lsmod_columns, why, sizeof(why)), "%s",
	      why);
	opts = (struct options){ .output = "pid,nosuch" };
	CHECK(table_check(&opts, ps_columns, why, sizeof(why)) == -EINVAL &&
	      strstr(why, "no column 'nosuch'") && strstr(why, "RUID"),
	      "pid,nosuch: %s", why);
	opts = (struct options){ .output = "" };
	CHECK(table_check(&opts, ps_columns, why, sizeof(why)) == -EINVAL,
	      "an empty --output was taken");
	opts = (struct options){ .raw = true };
	CHECK(table_check(&opts, NULL, why, sizeof(why)) == -EINVAL &&
	      strstr(why, "prints no table"), "--raw without a table: %s",
	      why);
	table_setup(&(struct options){ 0 });
}

/*
 * A chain of 3,000 parents and a pid listed 500 times with 500 children:
 * each task printed once, no line deeper than FOREST_DEPTH levels, and no
 * cost that grows with depth or duplicates squared (the test's time).
 */
static void deep_forest(void)
{
	json_t *doc = json_array(), *wrapped;
	size_t size, lines = 0, longest = 0, len;
	char *text = NULL, *p, *nl;
	FILE *out;
	int i;

	for (i = 1; i <= 3000; i++)
		json_array_append_new(doc, json_pack("{s:i, s:i, s:i, s:s, s:s}",
			"pid", i, "tgid", i, "ppid", i - 1, "comm", "c",
			"state", "S"));
	for (i = 0; i < 500; i++) {
		json_array_append_new(doc, json_pack("{s:i, s:i, s:i, s:s, s:s}",
			"pid", 5000, "tgid", 5000, "ppid", 1, "comm", "dup",
			"state", "S"));
		json_array_append_new(doc, json_pack("{s:i, s:i, s:i, s:s, s:s}",
			"pid", 6000 + i, "tgid", 6000 + i, "ppid", 5000,
			"comm", "kid", "state", "S"));
	}
	out = open_memstream(&text, &size);
	CHECK(out, "open_memstream");
	wrapped = listing("ps", json_incref(doc));
	render_ps_forest(wrapped, out);
	json_decref(wrapped);
	fclose(out);
	for (p = text; (nl = strchr(p, '\n')); p = nl + 1) {
		len = nl - p;
		longest = len > longest ? len : longest;
		lines++;
	}
	CHECK(lines == 1 + json_array_size(doc),
	      "deep forest: %zu lines for %zu tasks", lines,
	      json_array_size(doc));
	/* PID..COMM columns, then two characters a level, then "c". */
	CHECK(longest < 40 + 2 * FOREST_DEPTH,
	      "deep forest: a line of %zu characters", longest);
	free(text);
	json_decref(doc);
}

/*
 * A forest from a hostile guest: parents in a cycle (7 -> 8 -> 7), a task
 * its own parent, a thread whose process is missing. Each is shown once.
 */
static void forest(void)
{
	static const char want[] =
		"TID PID PPID S COMM\n"
		"  1   1    0 S init\n"
		"  3   3    1 S |-child\n"
		"  4   3    1 S | `-thread\n"
		"  9   9    1 S `-other\n"
		" 10  99    1 S lost\n"
		"  6   6    6 S self\n"
		"  8   8    7 S b\n"
		"  7   7    8 S `-a\n";
	json_t *doc = json_loads(
		"[{\"pid\":9,\"tgid\":9,\"ppid\":1,\"comm\":\"other\",\"state\":\"S\"},"
		"{\"pid\":1,\"tgid\":1,\"ppid\":0,\"comm\":\"init\",\"state\":\"S\"},"
		"{\"pid\":4,\"tgid\":3,\"ppid\":1,\"comm\":\"thread\",\"state\":\"S\"},"
		"{\"pid\":3,\"tgid\":3,\"ppid\":1,\"comm\":\"child\",\"state\":\"S\"},"
		"{\"pid\":7,\"tgid\":7,\"ppid\":8,\"comm\":\"a\",\"state\":\"S\"},"
		"{\"pid\":8,\"tgid\":8,\"ppid\":7,\"comm\":\"b\",\"state\":\"S\"},"
		"{\"pid\":6,\"tgid\":6,\"ppid\":6,\"comm\":\"self\",\"state\":\"S\"},"
		"{\"pid\":10,\"tgid\":99,\"ppid\":1,\"comm\":\"lost\",\"state\":\"S\"}]",
		0, NULL);

	/* Without CMD, COMM draws the tree. */
	table_setup(&(struct options){ .output = "tid,pid,ppid,s,comm" });
	expect("ps --forest", listing("ps", doc), render_ps_forest, want);
	table_setup(&(struct options){ 0 });
	deep_forest();
}

/* STIME as procps's pr_stime: today's hour, this year's day, a year. */
static void stime(void)
{
	static const struct {
		const char *start;
		time_t now;
		const char *want;
	} cases[] = {
		/* 2027-01-01 01:00 UTC: yesterday is last year. */
		{ "2026-12-31T23:00:00Z", 1798765200, "2026" },
		{ "2027-01-01T00:30:00Z", 1798765200, "00:30" },
		/* 2026-12-05 20:00 UTC: an hour before midnight yesterday. */
		{ "2026-12-04T23:00:00Z", 1796500800, "Dec04" },
		{ "2026-12-05T00:00:01Z", 1796500800, "00:00" },
		{ "not a time", 1796500800, "?" },
		{ "2026-12-05T00:00:01Zjunk", 1796500800, "?" },
	};
	char out[16];
	size_t i;

	setenv("TZ", "UTC", 1);
	tzset();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_stime(cases[i].start, cases[i].now, out, sizeof(out));
		CHECK(!strcmp(out, cases[i].want), "STIME of %s: '%s', want '%s'",
		      cases[i].start, out, cases[i].want);
	}
}

/*
 * Sockets as lsof -nP names them: an inet socket's DEVICE its inode and
 * NODE TCP or UDP, NAME its endpoints ("*" for any address, IPv6 in
 * brackets) and TCP's state; a unix socket's path and type; a guest's
 * bytes made printable; a socket the walk did not decode kept as it is.
 * (--raw escapes a space inside a cell, as lsblk -r does.)
 */
static void lsof_sockets(void)
{
	static const char want[] =
		"FD TYPE DEVICE NODE NAME\n"
		"3u IPv4 100 TCP *:22\\x20(LISTEN)\n"
		"4u IPv6 101 TCP [::1]:41234->[::1]:7780\\x20(ESTABLISHED)\n"
		"5u IPv4 102 UDP 127.0.0.1:68\n"
		"6u unix 0xffff888000000040 103 /tmp/k?s\\x20type=STREAM\n"
		"7u unix 0xffff888000000080 104 type=DGRAM\n"
		"8u netlink 0xffff8880000000c0 105 socket:[105]\n";
	json_t *doc = json_loads(
		"{\"lsof\":["
		"{\"fd\":3,\"type\":\"SOCK\",\"family\":\"inet\",\"inode\":100,\"mode\":\"u\",\"sock\":\"0xffff888000000000\",\"path\":\"socket:[100]\","
		"\"socket\":{\"proto\":\"tcp\",\"local\":\"0.0.0.0\",\"lport\":22,\"remote\":\"0.0.0.0\",\"rport\":0,\"state\":\"LISTEN\",\"type\":\"stream\",\"path\":\"\"}},"
		"{\"fd\":4,\"type\":\"SOCK\",\"family\":\"inet6\",\"inode\":101,\"mode\":\"u\",\"sock\":\"0xffff888000000020\",\"path\":\"socket:[101]\","
		"\"socket\":{\"proto\":\"tcp6\",\"local\":\"::1\",\"lport\":41234,\"remote\":\"::1\",\"rport\":7780,\"state\":\"ESTABLISHED\",\"type\":\"stream\",\"path\":\"\"}},"
		"{\"fd\":5,\"type\":\"SOCK\",\"family\":\"inet\",\"inode\":102,\"mode\":\"u\",\"sock\":\"0xffff888000000030\",\"path\":\"socket:[102]\","
		"\"socket\":{\"proto\":\"udp\",\"local\":\"127.0.0.1\",\"lport\":68,\"remote\":\"0.0.0.0\",\"rport\":0,\"state\":\"UNCONN\",\"type\":\"dgram\",\"path\":\"\"}},"
		"{\"fd\":6,\"type\":\"SOCK\",\"family\":\"unix\",\"inode\":103,\"mode\":\"u\",\"sock\":\"0xffff888000000040\",\"path\":\"socket:[103]\","
		"\"socket\":{\"proto\":\"unix\",\"local\":\"\",\"lport\":0,\"remote\":\"\",\"rport\":0,\"state\":\"LISTEN\",\"type\":\"stream\",\"path\":\"/tmp/k\\u001bs\"}},"
		"{\"fd\":7,\"type\":\"SOCK\",\"family\":\"unix\",\"inode\":104,\"mode\":\"u\",\"sock\":\"0xffff888000000080\",\"path\":\"socket:[104]\","
		"\"socket\":{\"proto\":\"unix\",\"local\":\"\",\"lport\":0,\"remote\":\"\",\"rport\":0,\"state\":\"CONNECTED\",\"type\":\"dgram\",\"path\":\"\"}},"
		"{\"fd\":8,\"type\":\"SOCK\",\"family\":\"netlink\",\"inode\":105,\"mode\":\"u\",\"sock\":\"0xffff8880000000c0\",\"path\":\"socket:[105]\"}"
		"]}", 0, NULL);

	CHECK(doc, "bad test document");
	table_setup(&(struct options){ .output = "fd,type,device,node,name",
				       .raw = true });
	expect("lsof sockets", doc, render_lsof, want);
	table_setup(&(struct options){ 0 });
}

int main(void)
{
	stime();
	lsof_sockets();
	expect("ps", listing("ps", kh_json_tasks(&task_list)), render_ps,
	       ps_want);
	expect("info", kh_json_os_info(&os), render_info, info_want);
	expect("mem", kh_json_mem_info(&mem), render_mem, mem_want);
	expect("lsmod", listing("lsmod", kh_json_modules(&module_list)), render_lsmod,
	       lsmod_want);
	expect("ifconfig", listing("ifconfig", kh_json_ifaces(&iface_list)), render_ifconfig,
	       ifconfig_want);
	expect("lsof", listing("lsof", kh_json_files(&file_list, &tasks_pid)), render_lsof,
	       lsof_want);
	expect("netstat", listing("ss", kh_json_conns(&conn_list)), render_ss,
	       netstat_want);
	expect("maps", listing("maps", kh_json_vmas(&vma_list)), render_maps,
	       maps_want);
	expect("techniques", listing("techniques", kh_json_techniques(techs, 4)), render_techniques,
	       techniques_want);
	expect("vm", kh_json_vm_info(&vminfo), render_vm, vm_want);
	expect("check", kh_json_check(&check_report), render_check, check_want);
	expect("netfilter", listing("netfilter",
				    kh_json_hooks(&hook_report, KH_CHECK_NETFILTER)),
	       render_hooks, netfilter_want);
	expect("mounts", listing("mounts", kh_json_mounts(&mount_list)),
	       render_mounts, mounts_want);
	expect("ebpf", kh_json_ebpf(&bpf_list), render_ebpf, ebpf_want);
	expect("bash", listing("bash", kh_json_bash(&bash_list)), render_bash,
	       bash_want);
	expect("elfs", listing("elfs", kh_json_elfs(&elf_list)), render_elfs,
	       elfs_want);
	expect("libs", listing("libs", kh_json_elfs(&elf_list)), render_elfs,
	       elfs_want);
	malformed();
	forest();
	table_options();
	printf("text from documents: as the commands print it, byte for byte\n");
	return KH_PASS;
}
