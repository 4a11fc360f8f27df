// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The TCP sockets no process holds (kh_conns_unheld), from the kernel's
 * established hash, tcp_hashinfo.ehash, where every TCP socket that is
 * not listening is: a connection not yet accept()ed or one its process
 * closed (a full sock in no fd table), TIME_WAIT (an inet_timewait_sock),
 * a half-open request (a request_sock in NEW_SYN_RECV, which
 * /proc/net/tcp and ss call SYN_RECV) and the connections of kernel
 * sockets (NFS, iSCSI: a struct socket but no file). Each begins with a
 * struct sock_common, so one layout decodes them all (kh_skc_decode_tcp);
 * what a process holds is in the list already, found through its fd,
 * and is left alone.
 *
 * The bucket array is read whole, a page per read (ehash_mask + 1 chain
 * heads, at most BUCKETS_MAX), then GROUP chains at a time, one entry of
 * each per batch. A chain ends at its "nulls" marker, an odd pointer
 * whose value is the bucket's index: the kernel frees these sockets with
 * SLAB_TYPESAFE_BY_RCU, so on a running guest an entry can be freed and
 * reused in another chain while we read, and a walk that ends at another
 * bucket's marker, or meets an entry twice, is marked inconsistent (the
 * guest changed under us), as the kernel's own lookup restarts then. A
 * chain longer than CHAIN_MAX, more than WALK_MAX entries in all, more
 * than UNHELD_MAX found, or a pointer that is not a kernel address ends
 * the walk there and marks the list incomplete.
 *
 * Not walked: the listening hash (a listener no process holds is a
 * kernel socket, rare), UDP's table, and the table of their own that
 * child network namespaces get only with the sysctl
 * net.ipv4.tcp_child_ehash_entries. The global table holds every
 * namespace's sockets, so an unheld socket of another namespace is
 * listed too, as ss run there would list it.
 *
 * Cost: two reads for the table, one batch for the bucket array (8 bytes
 * a bucket: 64 KiB for a guest of 1 GiB), one batch per chain depth,
 * two for the full socks found (their struct socket, and its file).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/sockets.h"

#define BUCKETS_MAX	(1u << 22)	/* 32 MiB of heads; Linux makes at
					 * most 2^19 but for a boot option */
#define CHAIN_MAX	4096
#define WALK_MAX	(1u << 20)	/* entries read, in all */
#define UNHELD_MAX	(1u << 16)	/* entries listed */
#define GROUP		1024		/* chains walked side by side */
#define PAGE		4096u

enum {
	HASH_EHASH, HASH_EHASH_MASK, SK_SOCKET, SOCKET_FILE, TW_SUBSTATE,
	NR_HASH_FIELDS
};

static const struct kh_field hash_fields[NR_HASH_FIELDS] = {
	[HASH_EHASH] = { "inet_hashinfo", "ehash" },
	[HASH_EHASH_MASK] = { "inet_hashinfo", "ehash_mask" },
	[SK_SOCKET] = { "sock", "sk_socket" },
	[SOCKET_FILE] = { "socket", "file" },
	[TW_SUBSTATE] = { "inet_timewait_sock", "tw_substate" },
};

/* One chain being walked: its bucket, the entry to read next, its bytes. */
struct chain {
	uint32_t bucket;
	uint64_t entry;		/* struct sock_common; 0: ended */
	unsigned int steps;
	uint8_t *common;
};

/* What all chains share: the bounds, and the entries met so far. */
struct walk {
	struct kh_vm *vm;
	struct kh_conn_list *list;
	const uint32_t *off;
	const uint64_t *socks;	/* sorted: what processes hold */
	unsigned int nr_socks, cap, total, max, found;
	struct kh_addr_set seen;
	struct kh_read reads[GROUP];
};

static int is_nulls(uint64_t ptr)
{
	return ptr & 1;
}

/* The table's bucket array and its size; 0 buckets: marked why. */
static int read_table(struct kh_vm *vm, struct kh_conn_list *list,
		      const uint32_t *off, uint64_t *ehash, uint32_t *nr)
{
	struct kh_err sym_err = { 0 };
	uint64_t table;
	uint32_t mask;

	*nr = 0;
	/* A kernel built without TCP, or with another table: say so. */
	if (kh_sym_va(vm, "tcp_hashinfo", &table, &sym_err))
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "TCP sockets no process holds: %s",
			       sym_err.msg);
	if (kh_kva_u64(vm, table + off[HASH_EHASH], ehash) ||
	    kh_kva_u32(vm, table + off[HASH_EHASH_MASK], &mask))
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "tcp_hashinfo at 0x%" PRIx64 " cannot be read",
			       table);
	if (mask >= BUCKETS_MAX || (mask & (mask + 1)) ||
	    !kh_kernel_ptr_aligned(vm, *ehash, 8))
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "tcp_hashinfo: ehash 0x%" PRIx64 " with mask 0x%x is not a table",
			       *ehash, mask);
	*nr = mask + 1;
	return 0;
}

/* The bucket array, a page per read: a page that fails loses its own. */
static int read_heads(struct kh_vm *vm, struct kh_conn_list *list,
		      uint64_t ehash, uint64_t *heads, uint32_t nr,
		      struct kh_err *err)
{
	uint64_t bytes = (uint64_t)nr * 8, at;
	unsigned int n = (bytes + PAGE - 1) / PAGE, i;
	struct kh_read *reads = calloc(n, sizeof(*reads));
	int ret;

	if (!reads)
		return kh_err_set(err, ENOMEM, "out of memory for %u buckets",
				  nr);
	for (i = 0, at = 0; i < n; i++, at += PAGE)
		reads[i] = (struct kh_read){
			.addr = ehash + at, .buf = (uint8_t *)heads + at,
			.len = bytes - at < PAGE ? bytes - at : PAGE };
	ret = kh_kva_fetch(vm, reads, n, err);
	for (i = 0; ret >= 0 && i < n; i++)
		if (reads[i].result) {
			/* 0: read as an empty chain. */
			memset(reads[i].buf, 0, reads[i].len);
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"tcp_hashinfo: buckets at 0x%" PRIx64 " cannot be read",
				reads[i].addr);
		}
	free(reads);
	return ret < 0 ? ret : 0;
}

/* Whether socks[0..nr), sorted, has sock. */
static int held(const uint64_t *socks, unsigned int nr, uint64_t sock)
{
	unsigned int lo = 0, hi = nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (socks[mid] == sock)
			return 1;
		if (socks[mid] < sock)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Appends an entry no process holds; grows list->conns. */
static int add_unheld(struct walk *w, const struct chain *c,
		      struct kh_err *err)
{
	struct kh_conn_list *list = w->list;
	struct kh_conn conn = { 0 };

	if (!kh_skc_decode_tcp(w->off, c->common, &conn))
		return 0;
	conn.sock = c->entry;
	strcpy(conn.found, "hash");
	if (list->nr == w->cap) {
		unsigned int grown = w->cap ? w->cap * 2 : 64;
		struct kh_conn *conns = realloc(list->conns,
						sizeof(*conns) * grown);

		if (!conns)
			return kh_err_set(err, ENOMEM,
					  "out of memory for unheld sockets");
		list->conns = conns;
		w->cap = grown;
	}
	list->conns[list->nr++] = conn;
	w->found++;
	return 0;
}

/*
 * Whether entry is new to the walk and within its bounds; else the walk
 * ends there, marked. -ENOMEM: out of memory.
 */
static int admit(struct walk *w, uint64_t entry, uint64_t ptr,
		 struct kh_err *err)
{
	int fresh;

	if (!kh_kernel_ptr_aligned(w->vm, ptr, 8))
		return kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			       "tcp_hashinfo: 0x%" PRIx64 " in a chain is not a kernel address",
			       ptr);
	if (++w->total > w->max)
		return kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			       "tcp_hashinfo: more than %u entries", w->max);
	fresh = kh_addr_set_add(&w->seen, entry);
	if (fresh < 0)
		return kh_err_set(err, ENOMEM, "out of memory for %u entries",
				  w->total);
	if (!fresh)
		return kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
			       "tcp_hashinfo: entry 0x%" PRIx64 " met twice (moved while read, or a loop)",
			       entry);
	return 1;
}

/* Moves c to the entry after its own, or ends it (0, or -ENOMEM). */
static int step(struct walk *w, struct chain *c, struct kh_err *err)
{
	uint64_t next = kh_load_u64(c->common, w->off[SKC_NULLS_NODE]);
	uint64_t entry = next - w->off[SKC_NULLS_NODE];
	int ret;

	c->entry = 0;
	if (is_nulls(next)) {
		if (next >> 1 != c->bucket)
			kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
				"tcp_hashinfo: bucket %u's chain ended in bucket %" PRIu64 "'s (an entry moved while read)",
				c->bucket, next >> 1);
		return 0;
	}
	if (++c->steps > CHAIN_MAX)
		return kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			       "tcp_hashinfo: bucket %u's chain is longer than %u",
			       c->bucket, CHAIN_MAX);
	ret = admit(w, entry, next, err);
	if (ret == 1)
		c->entry = entry;
	return ret < 0 ? ret : 0;
}

/* Walks chains[0..nr) one entry a batch; adds what no process holds. */
static int walk_chains(struct walk *w, struct chain *chains, unsigned int nr,
		       struct kh_err *err)
{
	unsigned int i, n, live = nr;
	int ret = 0;

	while (live && !ret) {
		for (i = n = 0; i < nr; i++)
			if (chains[i].entry)
				w->reads[n++] = (struct kh_read){
					.addr = chains[i].entry,
					.buf = chains[i].common,
					.len = w->off[SOCK_COMMON_SIZE] };
		ret = kh_kva_fetch(w->vm, w->reads, n, err);
		if (ret < 0)
			break;
		ret = 0;
		for (i = n = 0; i < nr && !ret; i++) {
			struct chain *c = &chains[i];

			if (!c->entry)
				continue;
			if (w->reads[n++].result) {
				kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
					"tcp_hashinfo: entry 0x%" PRIx64 " cannot be read",
					c->entry);
				c->entry = 0;
			} else if (held(w->socks, w->nr_socks, c->entry)) {
				ret = step(w, c, err);
			} else if (w->found >= UNHELD_MAX) {
				kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
					"more than %u TCP sockets no process holds",
					UNHELD_MAX);
				c->entry = 0;
			} else {
				ret = add_unheld(w, c, err);
				if (!ret)
					ret = step(w, c, err);
			}
			live -= !c->entry;
		}
	}
	return ret;
}

/*
 * Starts a chain at each bucket of heads[*next..nr) until GROUP of them
 * walk; *next moves on past the buckets taken.
 */
static int start_chains(struct walk *w, const uint64_t *heads, uint32_t nr,
			uint32_t *next, struct chain *chains, uint8_t *common,
			unsigned int *started, struct kh_err *err)
{
	unsigned int n = 0;
	int ret = 0;

	for (; *next < nr && n < GROUP && ret >= 0; (*next)++) {
		uint64_t first = heads[*next];
		uint64_t entry = first - w->off[SKC_NULLS_NODE];

		/* An empty chain: its marker (0 where a page was unread). */
		if (is_nulls(first) || !first)
			continue;
		ret = admit(w, entry, first, err);
		if (ret != 1)
			continue;
		chains[n] = (struct chain){
			.bucket = *next, .entry = entry,
			.common = common + (size_t)n * w->off[SOCK_COMMON_SIZE],
		};
		n++;
	}
	*started = n;
	return ret < 0 ? ret : 0;
}

/*
 * An inet_timewait_sock's state is always TIME_WAIT; /proc/net/tcp and ss
 * show its tw_substate, FIN_WAIT2 for a closed socket whose peer has not
 * closed yet. One batch for the TIME_WAIT entries found.
 */
static int tw_substates(struct kh_vm *vm, struct kh_conn_list *list,
			unsigned int first, uint32_t tw_substate,
			struct kh_err *err)
{
	unsigned int nr = list->nr - first, i, n;
	struct kh_read *reads = calloc(nr + 1, sizeof(*reads));
	uint8_t *sub = calloc(nr + 1, 1);
	int ret;

	if (!reads || !sub) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u sockets",
				 nr);
		goto out;
	}
	for (i = n = 0; i < nr; i++)
		if (list->conns[first + i].mini &&
		    !strcmp(list->conns[first + i].state, "TIME_WAIT"))
			reads[n++] = (struct kh_read){
				.addr = list->conns[first + i].sock +
					tw_substate,
				.buf = &sub[i], .len = 1 };
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = n = 0; i < nr; i++) {
		struct kh_conn *c = &list->conns[first + i];

		if (!c->mini || strcmp(c->state, "TIME_WAIT"))
			continue;
		if (reads[n++].result)
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"TIME_WAIT sock 0x%" PRIx64 ": its substate cannot be read",
				c->sock);
		else
			strcpy(c->state, kh_inet_state(sub[i]));
	}
out:
	free(reads);
	free(sub);
	return ret;
}

/*
 * A full sock in the table that no fd table the walk read holds: accept()
 * has not taken it, its process closed it (an orphan: no struct socket),
 * or it is a kernel socket's (a struct socket without a file). One whose
 * socket has a file was opened or accepted after its process's fds were
 * read: a process holds it, so it is left out, and the list says that
 * the guest changed.
 */
static int drop_held(struct kh_vm *vm, struct kh_conn_list *list,
		     unsigned int first, const uint32_t *off,
		     struct kh_err *err)
{
	unsigned int nr = list->nr - first, i, n, kept, dropped = 0;
	struct kh_read *reads = calloc(nr + 1, sizeof(*reads));
	uint64_t *socket = calloc(nr + 1, sizeof(*socket));
	uint64_t *file = calloc(nr + 1, sizeof(*file));
	uint8_t *unknown = calloc(nr + 1, 1);
	int ret = 0;

	if (!reads || !socket || !file || !unknown) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u sockets",
				 nr);
		goto out;
	}
	for (i = n = 0; i < nr; i++)
		if (!list->conns[first + i].mini)
			reads[n++] = (struct kh_read){
				.addr = list->conns[first + i].sock +
					off[SK_SOCKET],
				.buf = &socket[i], .len = 8 };
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		if (list->conns[first + i].mini)
			continue;
		unknown[i] = reads[n++].result != 0;
		if (!unknown[i] && socket[i] &&
		    !kh_kernel_ptr_aligned(vm, socket[i], 8))
			unknown[i] = 1;
	}
	for (i = n = 0; i < nr; i++)
		if (!unknown[i] && socket[i])
			reads[n++] = (struct kh_read){
				.addr = socket[i] + off[SOCKET_FILE],
				.buf = &file[i], .len = 8 };
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = n = 0, kept = first; i < nr; i++) {
		struct kh_conn *c = &list->conns[first + i];

		if (!unknown[i] && socket[i] && reads[n++].result)
			unknown[i] = 1;
		if (unknown[i])
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"sock 0x%" PRIx64 ": whether a process holds it cannot be read",
				c->sock);
		if (!unknown[i] && file[i])
			dropped++;
		else
			list->conns[kept++] = *c;
	}
	list->nr = kept;
	if (dropped)
		kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			"%u TCP sockets were opened or accepted while the connections were read",
			dropped);
out:
	free(reads);
	free(socket);
	free(file);
	free(unknown);
	return ret;
}

int kh_conns_unheld(struct kh_vm *vm, struct kh_conn_list *list,
		    struct kh_err *err)
{
	unsigned int i, n, nr_socks = 0, first = list->nr;
	uint64_t *heads = NULL, *socks = NULL, ehash;
	const uint32_t *off, *hash_off;
	struct chain *chains = NULL;
	uint8_t *common = NULL;
	struct walk *w = NULL;
	uint32_t nr, next = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_skc_offsets(vm, &off, err);
	if (!ret)
		ret = kh_offsets(vm, hash_fields, NR_HASH_FIELDS, &hash_off,
				 err);
	if (!ret)
		ret = read_table(vm, list, hash_off, &ehash, &nr);
	if (ret || !nr)
		return ret ? ret : kh_vm_verify(vm, err);

	w = calloc(1, sizeof(*w));
	heads = malloc(sizeof(*heads) * nr);
	socks = malloc(sizeof(*socks) * (list->nr + 1));
	chains = calloc(GROUP, sizeof(*chains));
	common = calloc(GROUP, off[SOCK_COMMON_SIZE]);
	if (!w || !heads || !socks || !chains || !common) {
		ret = kh_err_set(err, ENOMEM,
				 "out of memory for %u hash buckets", nr);
		goto out;
	}
	for (i = 0; i < list->nr; i++)
		if (list->conns[i].sock)
			socks[nr_socks++] = list->conns[i].sock;
	qsort(socks, nr_socks, sizeof(*socks), by_value);
	*w = (struct walk){
		.vm = vm, .list = list, .off = off, .socks = socks,
		.nr_socks = nr_socks, .cap = list->nr,
		.max = kh_max_objects(vm, off[SOCK_COMMON_SIZE]),
	};
	if (w->max > WALK_MAX)
		w->max = WALK_MAX;

	ret = read_heads(vm, list, ehash, heads, nr, err);
	while (!ret && next < nr) {
		ret = start_chains(w, heads, nr, &next, chains, common, &n,
				   err);
		if (!ret)
			ret = walk_chains(w, chains, n, err);
	}
	if (!ret)
		ret = tw_substates(vm, list, first, hash_off[TW_SUBSTATE], err);
	if (!ret)
		ret = drop_held(vm, list, first, hash_off, err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	/* Nothing half-checked is left in the list. */
	if (ret)
		list->nr = first;
	if (w)
		kh_addr_set_free(&w->seen);
	free(w);
	free(heads);
	free(socks);
	free(chains);
	free(common);
	return ret;
}
