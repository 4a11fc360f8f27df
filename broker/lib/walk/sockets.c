// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Network connections, as /proc/net/{tcp,tcp6,udp,udp6,unix} show them,
 * found through the processes that hold them: every socket file of
 * kh_files(vm, 0), deduplicated by struct sock. A TCP or UDP socket no
 * process holds open (TIME_WAIT, a connection not yet accept()ed, a
 * half-open request, a kernel's, one in flight) is found in the kernel's
 * hash tables instead, by kh_conns_unheld() (walk/sock_hash.c), which
 * decodes its sock_common with kh_skc_decode() from here.
 *
 * Per struct sock, __sk_common gives family, state, addresses and ports;
 * sk_type and sk_protocol say TCP or UDP (bitfields before Linux 5.6, so
 * their bit positions come from BTF too). A unix socket's bound name is
 * unix_sock.addr -> struct unix_address {len, name (a sockaddr_un)}.
 * Other families and protocols (netlink, packet, raw, UDP-Lite, MPTCP)
 * have no /proc/net file here and are left out.
 *
 * Cost: kh_files() (a crawl passes its own to kh_conns_of), then three
 * batched reads for all sockets together.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "walk/sockets.h"
#include "walk/toolkit.h"

/* ABI values: socket(2) arguments and /proc/net/tcp's state numbers. */
#define AF_UNIX_	1
#define AF_INET_	2
#define AF_INET6_	10
#define SOCK_STREAM_	1
#define SOCK_DGRAM_	2
#define SOCK_SEQPACKET_	5
#define IPPROTO_TCP_	6
#define IPPROTO_UDP_	17
#define TCP_ESTABLISHED	1
#define TCP_TIME_WAIT	6
#define TCP_CLOSE	7
#define TCP_LISTEN	10
#define TCP_NEW_SYN_RECV 12

#define SUN_PATH_LEN	108

enum {
	UNIX_SOCK_SK = KH_SKC_NR, UNIX_SOCK_ADDR, UNIX_ADDRESS_LEN,
	UNIX_ADDRESS_NAME, SUN_PATH, NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[SKC_FAMILY] = { "sock", "__sk_common.skc_family" },
	[SKC_STATE] = { "sock", "__sk_common.skc_state" },
	[SKC_RCV_SADDR] = { "sock", "__sk_common.skc_rcv_saddr" },
	[SKC_DADDR] = { "sock", "__sk_common.skc_daddr" },
	[SKC_NUM] = { "sock", "__sk_common.skc_num" },
	[SKC_DPORT] = { "sock", "__sk_common.skc_dport" },
	/* Absent in kernels built without IPv6. */
	[SKC_V6_RCV_SADDR] = { "sock", "__sk_common.skc_v6_rcv_saddr",
			       NULL, 1 },
	[SKC_V6_DADDR] = { "sock", "__sk_common.skc_v6_daddr", NULL, 1 },
	/* Where an entry of the kernel's hash tables links to the next. */
	[SKC_NULLS_NODE] = { "sock", "__sk_common.skc_nulls_node" },
	[SOCK_COMMON_SIZE] = { "sock_common", NULL },
	[UNIX_SOCK_SK] = { "unix_sock", "sk" },
	[UNIX_SOCK_ADDR] = { "unix_sock", "addr" },
	[UNIX_ADDRESS_LEN] = { "unix_address", "len" },
	[UNIX_ADDRESS_NAME] = { "unix_address", "name" },
	[SUN_PATH] = { "sockaddr_un", "sun_path" },
};

/* sk_type and sk_protocol, which may be bitfields. */
struct sk_bits {
	struct kh_member type, protocol;
	uint32_t span_start, span_len;
};

static const char sk_bits_key[] = "conns.c sk_type sk_protocol";

static int build_sk_bits(struct kh_profile *profile, const void *key,
			 void *data, size_t size, struct kh_err *err)
{
	struct sk_bits *bits = data;
	const struct kh_btf *btf;
	uint32_t end;
	int ret;

	ret = kh_profile_btf(profile, &btf, err);
	if (!ret)
		ret = kh_btf_member(btf, "sock", "sk_type", &bits->type, err);
	if (!ret)
		ret = kh_btf_member(btf, "sock", "sk_protocol",
				    &bits->protocol, err);
	if (ret)
		return kh_err_prefix(err, "guest kernel layout");
	/* A bitfield of at most 16 bits starting in its first byte. */
	if (bits->type.bit_offset + bits->type.bit_size > 32 ||
	    bits->protocol.bit_offset + bits->protocol.bit_size > 32 ||
	    bits->type.bit_size >= 32 || bits->protocol.bit_size >= 32 ||
	    bits->type.size > 4 || bits->protocol.size > 4)
		return kh_err_set(err, EINVAL,
				  "guest kernel layout: sk_type/sk_protocol of an unknown shape");
	bits->span_start = bits->type.offset < bits->protocol.offset ?
			   bits->type.offset : bits->protocol.offset;
	end = bits->type.offset > bits->protocol.offset ?
	      bits->type.offset : bits->protocol.offset;
	bits->span_len = end + 4 - bits->span_start;
	if (bits->span_len > 64)
		return kh_err_set(err, EINVAL,
				  "guest kernel layout: sk_type and sk_protocol far apart");
	return 0;
}

static uint32_t member_value(const struct kh_member *m, const uint8_t *span,
			     uint32_t span_start)
{
	uint32_t raw;

	memcpy(&raw, span + m->offset - span_start, 4);
	if (m->bit_size)
		return (raw >> m->bit_offset) & ((1u << m->bit_size) - 1);
	if (m->size == 1)
		return raw & 0xff;
	if (m->size == 2)
		return raw & 0xffff;
	return raw;
}

/* The name /proc/net/tcp's numeric state has in netstat and ss. */
const char *kh_inet_state(unsigned int state)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV",
		[4] = "FIN_WAIT1", [5] = "FIN_WAIT2", [6] = "TIME_WAIT",
		[7] = "CLOSE", [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
		[10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ?
	       names[state] : "UNKNOWN";
}

/*
 * A unix socket's name as /proc/net/unix prints it: addr_len counts the
 * sun_family and, for a path, the terminating NUL; an abstract name
 * starts with NUL and shows as '@', as do the NULs inside it.
 */
static void unix_path(const uint8_t *sun_path, int32_t addr_len,
		      uint32_t family_len, char *out, size_t size)
{
	int32_t len = addr_len - (int32_t)family_len, i = 0;
	size_t n = 0;

	out[0] = '\0';
	if (len <= 0)
		return;
	if (len > SUN_PATH_LEN)
		len = SUN_PATH_LEN;
	if (sun_path[0])
		len--;
	for (; i < len && n + 1 < size; i++)
		out[n++] = sun_path[i] ? sun_path[i] : '@';
	out[n] = '\0';
}

struct sock_view {
	uint64_t key;		/* the sock its files hold, never cleared */
	unsigned int first;	/* its first file in the sorted order */
	uint64_t sock;		/* cleared when it cannot be read */
	uint8_t *common;
	uint8_t bits[64];
	uint64_t unix_addr;
	uint8_t *address;
};

static int by_sock(const void *a, const void *b)
{
	const struct kh_file *x = *(struct kh_file *const *)a;
	const struct kh_file *y = *(struct kh_file *const *)b;

	if (x->sock != y->sock)
		return x->sock < y->sock ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static uint64_t field_u(const uint8_t *buf, uint32_t off, unsigned int size)
{
	uint64_t val = 0;

	memcpy(&val, buf + off, size);
	return val;
}

/* IPv4, or IPv6 in a kernel built with it. */
static int inet_family(const uint32_t *off, unsigned int family)
{
	return family == AF_INET_ ||
	       (family == AF_INET6_ && off[SKC_V6_DADDR] != KH_FIELD_ABSENT);
}

/* Addresses and ports of an inet sock_common. */
static void endpoints(const uint32_t *off, const uint8_t *common,
		      unsigned int family, struct kh_conn *conn)
{
	uint16_t dport;

	if (family == AF_INET_) {
		memcpy(conn->local, common + off[SKC_RCV_SADDR], 4);
		memcpy(conn->remote, common + off[SKC_DADDR], 4);
	} else {
		memcpy(conn->local, common + off[SKC_V6_RCV_SADDR], 16);
		memcpy(conn->remote, common + off[SKC_V6_DADDR], 16);
	}
	conn->lport = field_u(common, off[SKC_NUM], 2);
	dport = field_u(common, off[SKC_DPORT], 2);
	conn->rport = (uint16_t)(dport >> 8 | dport << 8);
}

/* Fills conn from the bytes read; 0 if it is not a kind we list. */
static int decode(const uint32_t *off, const struct sk_bits *bits,
		  const struct sock_view *v, struct kh_conn *conn)
{
	unsigned int family = field_u(v->common, off[SKC_FAMILY], 2);
	unsigned int state = field_u(v->common, off[SKC_STATE], 1);
	unsigned int type = member_value(&bits->type, v->bits,
					 bits->span_start);
	unsigned int protocol = member_value(&bits->protocol, v->bits,
					     bits->span_start);

	strcpy(conn->type, type == SOCK_STREAM_ ? "stream" :
			   type == SOCK_DGRAM_ ? "dgram" :
			   type == SOCK_SEQPACKET_ ? "seqpacket" : "?");
	if (family == AF_UNIX_) {
		strcpy(conn->proto, "unix");
		strcpy(conn->state, state == TCP_LISTEN ? "LISTEN" :
				    state == TCP_ESTABLISHED ? "CONNECTED" :
							       "UNCONNECTED");
		return 1;
	}
	if (!inet_family(off, family))
		return 0;
	if (type == SOCK_STREAM_ && protocol == IPPROTO_TCP_)
		strcpy(conn->proto, family == AF_INET_ ? "tcp" : "tcp6");
	else if (type == SOCK_DGRAM_ && protocol == IPPROTO_UDP_)
		strcpy(conn->proto, family == AF_INET_ ? "udp" : "udp6");
	else
		return 0;
	endpoints(off, v->common, family, conn);
	/* UDP has no states: unconnected is TCP_CLOSE, as ss says. */
	strcpy(conn->state, protocol == IPPROTO_UDP_ && state == TCP_CLOSE ?
			    "UNCONN" : kh_inet_state(state));
	return 1;
}

int kh_skc_decode(const uint32_t *off, const uint8_t *common, int udp,
		  struct kh_conn *conn)
{
	unsigned int family = field_u(common, off[SKC_FAMILY], 2);
	unsigned int state = field_u(common, off[SKC_STATE], 1);
	int v4 = family == AF_INET_;

	if (!inet_family(off, family))
		return 0;
	strcpy(conn->proto, udp ? (v4 ? "udp" : "udp6") :
				  (v4 ? "tcp" : "tcp6"));
	strcpy(conn->type, udp ? "dgram" : "stream");
	endpoints(off, common, family, conn);
	/*
	 * UDP has no states: unconnected is TCP_CLOSE, as ss says. A
	 * request_sock: /proc/net/tcp and ss call it SYN_RECV.
	 */
	strcpy(conn->state, udp && state == TCP_CLOSE ? "UNCONN" :
			    !udp && state == TCP_NEW_SYN_RECV ? "SYN_RECV" :
			    kh_inet_state(state));
	conn->mini = !udp && (state == TCP_TIME_WAIT ||
			      state == TCP_NEW_SYN_RECV);
	return 1;
}

static int layout_fits(const uint32_t *off)
{
	static const struct { unsigned int field, width; } need[] = {
		{ SKC_FAMILY, 2 }, { SKC_STATE, 1 }, { SKC_RCV_SADDR, 4 },
		{ SKC_DADDR, 4 }, { SKC_NUM, 2 }, { SKC_DPORT, 2 },
		{ SKC_V6_RCV_SADDR, 16 }, { SKC_V6_DADDR, 16 },
		{ SKC_NULLS_NODE, 8 },
	};
	unsigned int i;

	uint64_t addr_span = (uint64_t)off[UNIX_ADDRESS_NAME] + off[SUN_PATH] +
			     SUN_PATH_LEN;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (off[need[i].field] != KH_FIELD_ABSENT &&
		    (uint64_t)off[need[i].field] + need[i].width >
		    off[SOCK_COMMON_SIZE])
			return 0;
	/* IPv6 is decoded only with both addresses present. */
	if ((off[SKC_V6_RCV_SADDR] == KH_FIELD_ABSENT) !=
	    (off[SKC_V6_DADDR] == KH_FIELD_ABSENT))
		return 0;
	return addr_span <= 4096 &&
	       (uint64_t)off[UNIX_ADDRESS_LEN] + 4 <= addr_span;
}

/* The three batches: sock_common and type bits, unix_sock.addr, names. */
static int read_socks(struct kh_vm *vm, const uint32_t *off,
		      const struct sk_bits *bits, struct sock_view *views,
		      unsigned int nr, struct kh_conn_list *list,
		      struct kh_err *err)
{
	uint32_t addr_span = off[UNIX_ADDRESS_NAME] + off[SUN_PATH] +
			     SUN_PATH_LEN;
	struct kh_read *reads = calloc(2 * (size_t)nr + 1, sizeof(*reads));
	unsigned int i, n = 0;
	int ret;

	if (!reads)
		return kh_err_set(err, ENOMEM, "out of memory for sockets");
	for (i = 0; i < nr; i++) {
		reads[n++] = (struct kh_read){ .addr = views[i].sock,
			.buf = views[i].common, .len = off[SOCK_COMMON_SIZE] };
		reads[n++] = (struct kh_read){
			.addr = views[i].sock + bits->span_start,
			.buf = views[i].bits, .len = bits->span_len };
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		struct sock_view *v = &views[i];

		if (reads[2 * i].result || reads[2 * i + 1].result) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"sock 0x%llx cannot be read",
				(unsigned long long)v->sock);
			v->sock = 0;
			continue;
		}
		if (field_u(v->common, off[SKC_FAMILY], 2) != AF_UNIX_)
			continue;
		reads[n++] = (struct kh_read){
			.addr = v->sock - off[UNIX_SOCK_SK] +
				off[UNIX_SOCK_ADDR],
			.buf = &v->unix_addr, .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		struct sock_view *v = &views[i];

		if (!v->sock ||
		    field_u(v->common, off[SKC_FAMILY], 2) != AF_UNIX_)
			continue;
		if (reads[n++].result) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"unix socket 0x%llx cannot be read",
				(unsigned long long)v->sock);
			v->sock = 0;
			continue;
		}
		if (v->unix_addr && !kh_kernel_ptr(vm, v->unix_addr)) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"unix socket 0x%llx: address 0x%llx is not a kernel address",
				(unsigned long long)v->sock,
				(unsigned long long)v->unix_addr);
			v->sock = 0;
		}
	}
	for (i = n = 0; i < nr; i++)
		if (views[i].sock && views[i].unix_addr)
			reads[n++] = (struct kh_read){
				.addr = views[i].unix_addr,
				.buf = views[i].address, .len = addr_span };
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		struct sock_view *v = &views[i];

		if (!v->sock || !v->unix_addr)
			continue;
		if (reads[n++].result) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"unix socket 0x%llx: address 0x%llx cannot be read",
				(unsigned long long)v->sock,
				(unsigned long long)v->unix_addr);
			v->sock = 0;
		}
	}
	ret = 0;
out:
	free(reads);
	return ret;
}

int kh_skc_offsets(struct kh_vm *vm, const uint32_t **off,
		   struct kh_err *err)
{
	int ret = kh_offsets(vm, fields, NR_FIELDS, off, err);

	if (!ret && !layout_fits(*off))
		ret = kh_err_set(err, EINVAL,
				 "guest kernel layout: struct sock_common or unix_address of an unexpected size");
	return ret;
}

int kh_conns_of(struct kh_vm *vm, const struct kh_file_list *files,
		struct kh_conn_list **listp, struct kh_err *err)
{
	struct kh_conn_list *list = NULL;
	struct sock_view *views = NULL;
	const struct sk_bits *bits;
	struct kh_file **order = NULL;
	uint8_t *common = NULL, *address = NULL;
	unsigned int i, j, nr_socks = 0, nr_files = 0;
	const uint32_t *off;
	const void *memo;
	uint32_t addr_span;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	*listp = NULL;
	ret = kh_skc_offsets(vm, &off, err);
	if (!ret)
		ret = kh_profile_memo(vm->profile, sk_bits_key,
				      sizeof(struct sk_bits), build_sk_bits,
				      &memo, err);
	if (ret)
		return ret;
	bits = memo;
	addr_span = off[UNIX_ADDRESS_NAME] + off[SUN_PATH] + SUN_PATH_LEN;

	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for sockets");
	if (files->result.flags)
		kh_mark(&list->result, files->result.flags, "open files: %s",
			files->result.problem);

	/* Socket files sorted by sock: each group is one connection. */
	order = malloc(sizeof(*order) * (files->nr + 1));
	if (!order) {
		ret = kh_err_set(err, ENOMEM, "out of memory for sockets");
		goto out;
	}
	for (i = 0; i < files->nr; i++)
		if (files->files[i].sock)
			order[nr_files++] = &files->files[i];
	qsort(order, nr_files, sizeof(*order), by_sock);
	for (i = 0; i < nr_files; i++)
		nr_socks += !i || order[i]->sock != order[i - 1]->sock;

	views = calloc(nr_socks + 1, sizeof(*views));
	common = calloc(nr_socks + 1, off[SOCK_COMMON_SIZE]);
	address = calloc(nr_socks + 1, addr_span);
	list->conns = calloc(nr_socks + 1, sizeof(*list->conns));
	if (!views || !common || !address || !list->conns) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u sockets",
				 nr_socks);
		goto out;
	}
	for (i = j = 0; i < nr_files; i++) {
		if (i && order[i]->sock == order[i - 1]->sock)
			continue;
		views[j].key = views[j].sock = order[i]->sock;
		views[j].first = i;
		views[j].common = common + (size_t)j * off[SOCK_COMMON_SIZE];
		views[j].address = address + (size_t)j * addr_span;
		j++;
	}
	ret = read_socks(vm, off, bits, views, nr_socks, list, err);
	if (ret)
		goto out;

	for (j = 0; j < nr_socks; j++) {
		struct sock_view *v = &views[j];
		struct kh_conn *conn = &list->conns[list->nr];

		i = v->first;
		if (!v->sock || !decode(off, bits, v, conn)) {
			memset(conn, 0, sizeof(*conn));
			continue;
		}
		conn->sock = v->sock;
		strcpy(conn->found, "fd");
		if (v->unix_addr) {
			int32_t len;

			memcpy(&len, v->address + off[UNIX_ADDRESS_LEN], 4);
			unix_path(v->address + off[UNIX_ADDRESS_NAME] +
				  off[SUN_PATH], len, off[SUN_PATH],
				  conn->path, sizeof(conn->path));
		}
		conn->inode = order[i]->inode;
		for (; i < nr_files && order[i]->sock == v->key; i++) {
			if (conn->nr_pids && conn->pids[conn->nr_pids - 1] ==
					     order[i]->pid)
				continue;
			if (conn->nr_pids < KH_CONN_PIDS)
				conn->pids[conn->nr_pids++] = order[i]->pid;
		}
		list->nr++;
	}
	ret = kh_vm_verify(vm, err);
out:
	free(order);
	free(views);
	free(common);
	free(address);
	if (ret) {
		kh_conn_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

int kh_conns(struct kh_vm *vm, struct kh_conn_list **listp,
	     struct kh_err *err)
{
	struct kh_file_list *files;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	*listp = NULL;
	ret = kh_files(vm, 0, &files, err);
	if (ret)
		return ret;
	ret = kh_conns_of(vm, files, listp, err);
	kh_file_list_free(files);
	return ret;
}

void kh_conn_list_free(struct kh_conn_list *list)
{
	if (!list)
		return;
	free(list->conns);
	free(list);
}
