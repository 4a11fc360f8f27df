// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Recv-Q and Send-Q of ss (kh_conn_queues), from each struct sock the
 * connection list found, as the kernel's diag modules compute them:
 * - a listener: connections waiting for accept() (TCP's sk_ack_backlog; a
 *   unix listener's receive queue holds them, one skb each), and the most
 *   it takes (sk_max_ack_backlog);
 * - TCP: bytes received but not read (rcv_nxt - copied_seq) and bytes
 *   sent but not acknowledged (write_seq - snd_una), as tcp_diag;
 * - UDP: receive memory charged (sk_rmem_alloc, less the forward_deficit
 *   freed but not yet returned) and send memory (sk_wmem_alloc less the
 *   reference the socket holds), as udp_diag;
 * - unix: bytes waiting in the receive queue (a stream's every skb less
 *   what was consumed of it, a datagram socket's first), and send memory
 *   charged to it, as unix_inq_len() and unix_outq_len().
 * The unix receive queues are walked one skb of every queue per batch,
 * each queue at most SKB_MAX long and all at most as many as guest RAM
 * holds skbs; an skb met twice (a loop, or queues linked into each
 * other) ends its walk. A guest's loop or huge queue is cut and marked,
 * never followed further.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"

#define SKB_MAX		4096	/* skbs walked per queue */
#define TCP_LISTEN	10

enum {
	SK_ACK_BACKLOG, SK_MAX_ACK_BACKLOG, SK_RMEM, SK_WMEM, SK_RQ,
	TCP_RCV_NXT, TCP_COPIED_SEQ, TCP_WRITE_SEQ, TCP_SND_UNA,
	UDP_DEFICIT, RQ_QLEN, SKB_NEXT, SKB_LEN, SKB_CB, UNIX_CONSUMED,
	SKB_SIZE, NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[SK_ACK_BACKLOG] = { "sock", "sk_ack_backlog" },
	[SK_MAX_ACK_BACKLOG] = { "sock", "sk_max_ack_backlog" },
	[SK_RMEM] = { "sock", "sk_backlog.rmem_alloc" },
	[SK_WMEM] = { "sock", "sk_wmem_alloc" },
	[SK_RQ] = { "sock", "sk_receive_queue" },
	[TCP_RCV_NXT] = { "tcp_sock", "rcv_nxt" },
	[TCP_COPIED_SEQ] = { "tcp_sock", "copied_seq" },
	[TCP_WRITE_SEQ] = { "tcp_sock", "write_seq" },
	[TCP_SND_UNA] = { "tcp_sock", "snd_una" },
	[UDP_DEFICIT] = { "udp_sock", "forward_deficit" },
	[RQ_QLEN] = { "sk_buff_head", "qlen" },
	[SKB_NEXT] = { "sk_buff", "next" },
	[SKB_LEN] = { "sk_buff", "len" },
	[SKB_CB] = { "sk_buff", "cb" },
	/* A kernel with unix sockets as a module has no unix_skb_parms. */
	[UNIX_CONSUMED] = { "unix_skb_parms", "consumed", NULL, 1 },
	[SKB_SIZE] = { "sk_buff", NULL },
};

/* What one socket's first batch reads. */
struct sock_words {
	uint32_t backlog, max_backlog, rmem, wmem, qlen, deficit;
	uint32_t rcv_nxt, copied_seq, write_seq, snd_una;
	uint64_t first_skb;
};

/* One unix receive queue being walked. */
struct queue_walk {
	struct kh_conn *conn;
	uint64_t head, skb, next;
	uint32_t len, consumed;
	unsigned int steps;
	int stream;		/* every skb counts, less what was read */
};

static struct kh_read at(uint64_t addr, void *buf, uint32_t len)
{
	return (struct kh_read){ .addr = addr, .buf = buf, .len = len };
}

static int is_tcp(const struct kh_conn *c)
{
	return !strncmp(c->proto, "tcp", 3);
}

static int is_udp(const struct kh_conn *c)
{
	return !strncmp(c->proto, "udp", 3);
}

static int is_unix(const struct kh_conn *c)
{
	return !strcmp(c->proto, "unix");
}

/* The counters of each socket; which unix queues are to be walked. */
static void queues_of(struct kh_conn *c, const struct sock_words *w)
{
	if (!strcmp(c->state, "LISTEN")) {
		/* af_unix queues a connection as an skb, not a backlog. */
		c->recv_q = is_unix(c) ? w->qlen : w->backlog;
		c->send_q = w->max_backlog;
	} else if (is_tcp(c)) {
		int32_t unread = (int32_t)(w->rcv_nxt - w->copied_seq);

		c->recv_q = unread > 0 ? (uint32_t)unread : 0;
		c->send_q = w->write_seq - w->snd_una;
	} else {
		/* sk_wmem_alloc_get(): the socket holds one itself. */
		c->send_q = w->wmem ? w->wmem - 1 : 0;
		c->recv_q = is_udp(c) && w->rmem > w->deficit ?
			    w->rmem - w->deficit : 0;
	}
}

/*
 * Walks every unix receive queue in walks[0..nr) one skb a batch, adding
 * what waits in each to its connection's recv_q.
 */
static int walk_queues(struct kh_vm *vm, struct kh_conn_list *list,
		       const uint32_t *off, struct queue_walk *walks,
		       unsigned int nr, struct kh_err *err)
{
	struct kh_read *reads = calloc((size_t)nr * 3 + 1, sizeof(*reads));
	unsigned int i, n, live = nr, total = 0;
	unsigned int max = kh_max_objects(vm, off[SKB_SIZE]);
	struct kh_addr_set seen = { 0 };
	int ret = 0;

	if (!reads)
		return kh_err_set(err, ENOMEM, "out of memory for %u queues",
				  nr);
	/* A queue's head is never an skb: a walk that reaches one ends. */
	for (i = 0; i < nr; i++)
		if (kh_addr_set_add(&seen, walks[i].head) < 0)
			ret = kh_err_set(err, ENOMEM, "out of memory");
	while (live && !ret) {
		for (i = n = 0; i < nr; i++) {
			struct queue_walk *q = &walks[i];

			if (!q->skb)
				continue;
			reads[n++] = at(q->skb + off[SKB_NEXT], &q->next, 8);
			reads[n++] = at(q->skb + off[SKB_LEN], &q->len, 4);
			reads[n++] = at(q->skb + off[SKB_CB] +
					off[UNIX_CONSUMED], &q->consumed, 4);
		}
		ret = kh_kva_fetch(vm, reads, n, err);
		if (ret < 0)
			break;
		ret = 0;
		for (i = n = 0; i < nr; i++) {
			struct queue_walk *q = &walks[i];
			int failed;

			if (!q->skb)
				continue;
			failed = reads[n].result || reads[n + 1].result ||
				 reads[n + 2].result;
			n += 3;
			if (failed) {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"unix socket 0x%" PRIx64 ": skb 0x%" PRIx64 " of its receive queue cannot be read",
					q->conn->sock, q->skb);
			} else {
				uint32_t len = q->stream ?
					(q->len > q->consumed ?
					 q->len - q->consumed : 0) : q->len;

				q->conn->recv_q = q->conn->recv_q > UINT32_MAX - len ?
						  UINT32_MAX : q->conn->recv_q + len;
				q->skb = q->next;
			}
			/* A datagram socket's Recv-Q is its first skb's. */
			if (failed || !q->stream || q->skb == q->head) {
				q->skb = 0;
			} else if (!q->skb) {
				/* Taken off the queue while we read it. */
				kh_mark(&list->result, KH_RESULT_INCONSISTENT,
					"unix socket 0x%" PRIx64 ": its receive queue changed during the walk",
					q->conn->sock);
			} else if (++q->steps >= SKB_MAX || ++total >= max ||
				   !kh_kernel_ptr_aligned(vm, q->skb, 8) ||
				   kh_addr_set_add(&seen, q->skb) != 1) {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"unix socket 0x%" PRIx64 ": receive queue cut at skb 0x%" PRIx64 " (seen before, or past the bound)",
					q->conn->sock, q->skb);
				q->skb = 0;
			}
			live -= !q->skb;
		}
	}
	free(reads);
	kh_addr_set_free(&seen);
	return ret;
}

int kh_conn_queues(struct kh_vm *vm, struct kh_conn_list *list,
		   struct kh_err *err)
{
	unsigned int nr = list->nr, i, n, nr_walks = 0;
	struct sock_words *words = calloc(nr + 1, sizeof(*words));
	/* At most ten reads a socket: six of any, four more of TCP. */
	struct kh_read *reads = calloc((size_t)nr * 10 + 1, sizeof(*reads));
	uint8_t *failed = calloc(nr + 1, 1);
	struct queue_walk *walks = calloc(nr + 1, sizeof(*walks));
	const uint32_t *off;
	int ret;

	if (kh_vm_need_memory(vm, err))
		ret = -EOPNOTSUPP;
	else if (!words || !reads || !walks || !failed)
		ret = kh_err_set(err, ENOMEM, "out of memory for %u sockets",
				 nr);
	else
		ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		goto out;
	for (i = n = 0; i < nr; i++) {
		const struct kh_conn *c = &list->conns[i];
		struct sock_words *w = &words[i];

		/* A TIME_WAIT or request mini-socket has no queues: 0 0. */
		if (c->mini)
			continue;
		reads[n++] = at(c->sock + off[SK_ACK_BACKLOG], &w->backlog, 4);
		reads[n++] = at(c->sock + off[SK_MAX_ACK_BACKLOG],
				&w->max_backlog, 4);
		reads[n++] = at(c->sock + off[SK_RMEM], &w->rmem, 4);
		reads[n++] = at(c->sock + off[SK_WMEM], &w->wmem, 4);
		reads[n++] = at(c->sock + off[SK_RQ], &w->first_skb, 8);
		reads[n++] = at(c->sock + off[SK_RQ] + off[RQ_QLEN], &w->qlen,
				4);
		if (is_udp(c))
			reads[n++] = at(c->sock + off[UDP_DEFICIT],
					&w->deficit, 4);
		if (!is_tcp(c))
			continue;
		reads[n++] = at(c->sock + off[TCP_RCV_NXT], &w->rcv_nxt, 4);
		reads[n++] = at(c->sock + off[TCP_COPIED_SEQ], &w->copied_seq,
				4);
		reads[n++] = at(c->sock + off[TCP_WRITE_SEQ], &w->write_seq,
				4);
		reads[n++] = at(c->sock + off[TCP_SND_UNA], &w->snd_una, 4);
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	/* Which socket each failed read was of: its queues are unknown. */
	for (i = n = 0; i < nr; i++) {
		unsigned int k = list->conns[i].mini ? 0 :
				 6 + is_udp(&list->conns[i]) +
				 4 * is_tcp(&list->conns[i]);

		for (; k; k--)
			failed[i] |= reads[n++].result != 0;
	}
	for (i = 0; i < nr; i++) {
		struct kh_conn *c = &list->conns[i];
		uint64_t head = c->sock + off[SK_RQ];

		if (c->mini) {
			c->recv_q = c->send_q = 0;
			continue;
		}
		if (failed[i]) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"socket 0x%" PRIx64 ": its queues cannot be read",
				c->sock);
			c->recv_q = c->send_q = 0;
			continue;
		}
		queues_of(c, &words[i]);
		/* An empty queue's first skb is its head. */
		if (!is_unix(c) || !strcmp(c->state, "LISTEN") ||
		    words[i].first_skb == head || !words[i].first_skb)
			continue;
		if (off[UNIX_CONSUMED] == KH_FIELD_ABSENT) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"the guest's BTF has no unix_skb_parms: unix receive queues unread");
			continue;
		}
		if (!kh_kernel_ptr_aligned(vm, words[i].first_skb, 8)) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"unix socket 0x%" PRIx64 ": receive queue 0x%" PRIx64 " is not a kernel address",
				c->sock, words[i].first_skb);
			continue;
		}
		walks[nr_walks++] = (struct queue_walk){
			.conn = c, .head = head, .skb = words[i].first_skb,
			.stream = strcmp(c->type, "dgram") != 0,
		};
	}
	ret = walk_queues(vm, list, off, walks, nr_walks, err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
	list->queues = !ret;
out:
	free(words);
	free(reads);
	free(walks);
	free(failed);
	return ret;
}
