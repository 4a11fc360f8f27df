// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The sockets no process holds (kh_conns_unheld), from the kernel's own
 * socket hash tables, which hold every TCP and UDP socket whatever holds
 * it:
 * - TCP's established hash, tcp_hashinfo.ehash, where every TCP socket
 *   that is not listening is: a connection not yet accept()ed or one its
 *   process closed (a full sock in no fd table), TIME_WAIT (an
 *   inet_timewait_sock), a half-open request (a request_sock in
 *   NEW_SYN_RECV, which /proc/net/tcp and ss call SYN_RECV) and the
 *   connections of kernel sockets (NFS, iSCSI: a struct socket but no
 *   file);
 * - TCP's listening hash, tcp_hashinfo.lhash2 (by port and address, with
 *   "nulls" chains since Linux 5.19): a kernel's listener (nfsd), or one
 *   whose only reference is in flight in an SCM_RIGHTS message;
 * - UDP's table, udp_table.hash (by port): kernel tunnels (VXLAN,
 *   WireGuard, L2TP), and sockets in flight as above.
 * Each entry begins with a struct sock_common, so one layout decodes them
 * all (kh_skc_decode); what a process holds is in
 * the list already, found through its fd, and is left alone.
 *
 * A table's bucket array is read a MiB a batch, a page per read (mask +
 * 1 buckets, at most BUCKETS_MAX), then GROUP chains at a time, one entry
 * of each per batch. A TCP chain ends at its "nulls" marker, an odd
 * pointer whose value is the bucket's index (plus LISTENING_NULLS_BASE in
 * the listening hash); a UDP chain at NULL. The kernel frees TCP sockets
 * with SLAB_TYPESAFE_BY_RCU, so on a running guest an entry can be freed
 * and reused in another chain while we read, and a walk that ends at
 * another bucket's marker, or meets an entry twice, is marked
 * inconsistent (the guest changed under us), as the kernel's own lookup
 * restarts then; a UDP entry no longer linked (linked()) is too. A chain longer than CHAIN_MAX, more than WALK_MAX
 * entries in all, more than UNHELD_MAX found, or a pointer that is not a
 * kernel address ends the walk there and marks the list incomplete.
 *
 * Not walked: the established table of their own that child network
 * namespaces get only with the sysctl net.ipv4.tcp_child_ehash_entries,
 * UDP's per-namespace tables (net.ipv4.udp_child_hash_entries, Linux
 * 6.2), and the listening hash before Linux 5.19 (its chains are plain
 * lists through inet_connection_sock): documented limits, not marked. The
 * global tables hold every namespace's sockets, so an unheld socket of
 * another namespace is listed too, as ss run there would list it.
 *
 * Cost: two reads per table, a batch per MiB of each bucket array (8
 * bytes a bucket for ehash, one per 128 KiB of guest RAM; 16 for lhash2
 * and UDP's, which are smaller: about 80 KiB in all for a guest of
 * 1 GiB), one batch per chain depth, two for the full socks found (their
 * struct socket, then its file and inode), and when one has a file,
 * another walk of every fd table (held_now()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/sockets.h"

#define BUCKETS_MAX	(1u << 22)	/* Linux makes at most 2^19 but for
					 * a boot option */
#define STRIDE_MAX	256		/* a bucket: a head and a lock (of
					 * 64 bytes with lockdep) */
#define CHAIN_MAX	4096
#define WALK_MAX	(1u << 20)	/* entries read, in all */
#define UNHELD_MAX	(1u << 16)	/* entries listed */
#define GROUP		1024		/* chains walked side by side */
#define PAGE		4096u
#define CHUNK		(256 * PAGE)	/* bucket array bytes a batch */

/* The listening hash's markers count from here (inet_hashtables.h). */
#define LISTENING_NULLS_BASE	(1u << 29)

enum {
	HASH_EHASH, HASH_EHASH_MASK, EHASH_BUCKET_SIZE, HASH_LHASH2,
	HASH_LHASH2_MASK, LISTEN_BUCKET_NULLS, LISTEN_BUCKET_HEAD,
	LISTEN_BUCKET_SIZE,
	UDP_TABLE_HASH, UDP_TABLE_MASK, UDP_HSLOT_HEAD, UDP_HSLOT_SIZE,
	SK_SOCKET, SOCKET_FILE, SOCKET_INODE, INODE_INO, TW_SUBSTATE,
	NR_HASH_FIELDS
};

static const struct kh_field hash_fields[NR_HASH_FIELDS] = {
	[HASH_EHASH] = { "inet_hashinfo", "ehash" },
	[HASH_EHASH_MASK] = { "inet_hashinfo", "ehash_mask" },
	[EHASH_BUCKET_SIZE] = { "inet_ehash_bucket", NULL },
	[HASH_LHASH2] = { "inet_hashinfo", "lhash2", NULL, 1 },
	[HASH_LHASH2_MASK] = { "inet_hashinfo", "lhash2_mask", NULL, 1 },
	/*
	 * 5.19 on: nulls_head alone. Before, head, a list through
	 * icsk_listen_portaddr_node (from 5.5 in a union with nulls_head).
	 */
	[LISTEN_BUCKET_NULLS] = { "inet_listen_hashbucket", "nulls_head",
				  NULL, 1 },
	[LISTEN_BUCKET_HEAD] = { "inet_listen_hashbucket", "head", NULL, 1 },
	[LISTEN_BUCKET_SIZE] = { "inet_listen_hashbucket", NULL, NULL, 1 },
	[UDP_TABLE_HASH] = { "udp_table", "hash", NULL, 1 },
	[UDP_TABLE_MASK] = { "udp_table", "mask", NULL, 1 },
	[UDP_HSLOT_HEAD] = { "udp_hslot", "head", NULL, 1 },
	[UDP_HSLOT_SIZE] = { "udp_hslot", NULL, NULL, 1 },
	[SK_SOCKET] = { "sock", "sk_socket" },
	[SOCKET_FILE] = { "socket", "file" },
	/* sock_i_ino(): the inode allocated with the socket, after it */
	[SOCKET_INODE] = { "socket_alloc", "vfs_inode" },
	[INODE_INO] = { "inode", "i_ino" },
	[TW_SUBSTATE] = { "inet_timewait_sock", "tw_substate" },
};

/*
 * One hash table: its bucket array, and how its chains are linked. Every
 * chain goes through sock_common's skc_nulls_node, or skc_node in UDP's
 * (the same place: a union), whose first word is the next entry's.
 */
struct table {
	const char *name;	/* "tcp_hashinfo.ehash": for what is said */
	uint64_t buckets;
	uint32_t nr, stride, head;	/* buckets, their size, the head's
					 * place in one */
	int nulls;		/* chains end at a nulls marker, else NULL */
	uint32_t nulls_base;
	int udp;		/* its entries are UDP sockets */
};

/*
 * One chain being walked: its bucket, the entry to read next, where that
 * entry's pprev pointed when we came (the bucket's head, else the
 * previous entry's next: linked()), its bytes.
 */
struct chain {
	uint32_t bucket;
	uint64_t entry;		/* struct sock_common; 0: ended */
	uint64_t pprev;
	unsigned int steps;
	uint8_t *common;
};

/* What all chains share: the bounds, and the entries met so far. */
struct walk {
	struct kh_vm *vm;
	struct kh_conn_list *list;
	const struct table *table;	/* the one being walked */
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

/*
 * t's bucket array and its size, from the fields at array_off and
 * mask_off of symbol sym's struct; 0 buckets: marked why.
 */
static int locate(struct kh_vm *vm, struct kh_conn_list *list,
		  const char *sym, uint32_t array_off, uint32_t mask_off,
		  struct table *t)
{
	struct kh_err sym_err = { 0 };
	uint64_t at;
	uint32_t mask;

	t->nr = 0;
	/* A kernel built without TCP or UDP, or with other tables: say so. */
	if (kh_sym_va(vm, sym, &at, &sym_err))
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "sockets no process holds, in %s: %s", t->name,
			       sym_err.msg);
	if (kh_kva_u64(vm, at + array_off, &t->buckets) ||
	    kh_kva_u32(vm, at + mask_off, &mask))
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "%s at 0x%" PRIx64 " cannot be read", sym, at);
	/* The guest's BTF sizes the bucket: it must hold its head. */
	if (mask >= BUCKETS_MAX || (mask & (mask + 1)) ||
	    !kh_kernel_ptr_aligned(vm, t->buckets, 8) ||
	    t->stride < 8 || t->stride > STRIDE_MAX ||
	    t->head > t->stride - 8)
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "%s: buckets 0x%" PRIx64 " of %u bytes with mask 0x%x are not a table",
			       t->name, t->buckets, t->stride, mask);
	t->nr = mask + 1;
	return 0;
}

/*
 * The tables this kernel has, in tables[0..*nr): what is missing or
 * cannot be read is marked, and left out. A listening hash before Linux
 * 5.19 is not walked, as the tables of network namespaces are not: a
 * documented limit (keyhole.1), not a fault of this guest.
 */
static void find_tables(struct kh_vm *vm, struct kh_conn_list *list,
			const uint32_t *off, struct table *tables,
			unsigned int *nr)
{
	struct table *t = tables;

	*t = (struct table){ .name = "tcp_hashinfo.ehash", .nulls = 1,
			     .stride = off[EHASH_BUCKET_SIZE] };
	locate(vm, list, "tcp_hashinfo", off[HASH_EHASH],
	       off[HASH_EHASH_MASK], t);
	if (t->nr)
		t++;

	*t = (struct table){ .name = "tcp_hashinfo.lhash2", .nulls = 1,
			     .nulls_base = LISTENING_NULLS_BASE,
			     .stride = off[LISTEN_BUCKET_SIZE],
			     .head = off[LISTEN_BUCKET_NULLS] };
	if (off[HASH_LHASH2] != KH_FIELD_ABSENT &&
	    off[HASH_LHASH2_MASK] != KH_FIELD_ABSENT &&
	    off[LISTEN_BUCKET_NULLS] != KH_FIELD_ABSENT &&
	    off[LISTEN_BUCKET_HEAD] == KH_FIELD_ABSENT &&
	    off[LISTEN_BUCKET_SIZE] != KH_FIELD_ABSENT &&
	    !locate(vm, list, "tcp_hashinfo", off[HASH_LHASH2],
		    off[HASH_LHASH2_MASK], t) && t->nr)
		t++;

	*t = (struct table){ .name = "udp_table", .udp = 1,
			     .stride = off[UDP_HSLOT_SIZE],
			     .head = off[UDP_HSLOT_HEAD] };
	if (off[UDP_TABLE_HASH] == KH_FIELD_ABSENT ||
	    off[UDP_TABLE_MASK] == KH_FIELD_ABSENT ||
	    off[UDP_HSLOT_HEAD] == KH_FIELD_ABSENT ||
	    off[UDP_HSLOT_SIZE] == KH_FIELD_ABSENT)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"UDP sockets no process holds: this kernel has no udp_table");
	else if (!locate(vm, list, "udp_table", off[UDP_TABLE_HASH],
			 off[UDP_TABLE_MASK], t) && t->nr)
		t++;
	*nr = t - tables;
}

/*
 * The chain heads of t's bucket array into heads[0..t->nr), read a piece
 * of a page at a time, CHUNK bytes a batch (so that a hostile table's
 * size costs time, bounded, not memory): a piece that fails loses its
 * own buckets, read as empty chains.
 */
static int read_heads(struct kh_vm *vm, struct kh_conn_list *list,
		      const struct table *t, uint64_t *heads,
		      struct kh_err *err)
{
	uint32_t per_chunk = CHUNK / t->stride, first, nr, i;
	uint64_t base, bytes, at;
	unsigned int n;
	struct kh_read *reads = calloc(CHUNK / PAGE + 1, sizeof(*reads));
	uint8_t *array = malloc(CHUNK);
	int ret = 0;

	if (!reads || !array) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u buckets",
				 t->nr);
		goto out;
	}
	for (first = 0; first < t->nr && !ret; first += nr) {
		nr = t->nr - first < per_chunk ? t->nr - first : per_chunk;
		base = t->buckets + (uint64_t)first * t->stride;
		bytes = (uint64_t)nr * t->stride;
		for (n = 0, at = 0; at < bytes; n++, at += PAGE)
			reads[n] = (struct kh_read){
				.addr = base + at, .buf = array + at,
				.len = bytes - at < PAGE ? bytes - at : PAGE };
		ret = kh_kva_fetch(vm, reads, n, err);
		if (ret < 0)
			break;
		ret = 0;
		for (i = 0; i < n; i++)
			if (reads[i].result) {
				memset(reads[i].buf, 0, reads[i].len);
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"%s: buckets at 0x%" PRIx64 " cannot be read",
					t->name, reads[i].addr);
			}
		for (i = 0; i < nr; i++)
			heads[first + i] = kh_load_u64(array,
				(size_t)i * t->stride + t->head);
	}
out:
	free(reads);
	free(array);
	return ret;
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

	if (!kh_skc_decode(w->off, c->common, w->table->udp, &conn))
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
			       "%s: 0x%" PRIx64 " in a chain is not a kernel address",
			       w->table->name, ptr);
	if (++w->total > w->max)
		return kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			       "socket hash tables: more than %u entries",
			       w->max);
	fresh = kh_addr_set_add(&w->seen, entry);
	if (fresh < 0)
		return kh_err_set(err, ENOMEM, "out of memory for %u entries",
				  w->total);
	if (!fresh)
		return kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
			       "%s: entry 0x%" PRIx64 " met twice (moved while read, or a loop)",
			       w->table->name, entry);
	return 1;
}

/* Moves c to the entry after its own, or ends it (0, or -ENOMEM). */
static int step(struct walk *w, struct chain *c, struct kh_err *err)
{
	const struct table *t = w->table;
	uint64_t next = kh_load_u64(c->common, w->off[SKC_NULLS_NODE]);
	uint64_t entry = next - w->off[SKC_NULLS_NODE];
	int ret;

	c->pprev = c->entry + w->off[SKC_NULLS_NODE];
	c->entry = 0;
	if (!t->nulls && !next)
		return 0;
	if (t->nulls && is_nulls(next)) {
		if (next >> 1 != (uint64_t)t->nulls_base + c->bucket)
			kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
				"%s: bucket %u's chain ended at another's marker 0x%" PRIx64 " (an entry moved while read)",
				t->name, c->bucket, next);
		return 0;
	}
	if (++c->steps > CHAIN_MAX)
		return kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			       "%s: bucket %u's chain is longer than %u",
			       t->name, c->bucket, CHAIN_MAX);
	ret = admit(w, entry, next, err);
	if (ret == 1)
		c->entry = entry;
	return ret < 0 ? ret : 0;
}

/*
 * Whether c's entry, just read, is still in a chain: its pprev points at
 * the word that points at it. UDP's chains have no nulls marker to show
 * that an entry was freed and its memory reused while we read (their
 * sockets are freed after RCU's grace period, which a reader from
 * outside does not get), so each is checked; TCP's end at a marker that
 * names their bucket. Where the chain was entered is the answer without
 * a read; else an entry added before it, or one before it removed,
 * changed its pprev, and *pprev says.
 */
static int linked(struct walk *w, const struct chain *c)
{
	uint64_t pprev = kh_load_u64(c->common, w->off[SKC_NULLS_NODE] + 8);
	uint64_t next;

	if (pprev == c->pprev)
		return 1;
	/* hlist_del_rcu() leaves LIST_POISON2, no kernel address. */
	return kh_kernel_ptr_aligned(w->vm, pprev, 8) &&
	       !kh_kva_u64(w->vm, pprev, &next) &&
	       next == c->entry + w->off[SKC_NULLS_NODE];
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
					"%s: entry 0x%" PRIx64 " cannot be read",
					w->table->name, c->entry);
				c->entry = 0;
			} else if (w->table->udp && !linked(w, c)) {
				kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
					"%s: entry 0x%" PRIx64 " was unlinked while read",
					w->table->name, c->entry);
				c->entry = 0;
			} else if (held(w->socks, w->nr_socks, c->entry)) {
				ret = step(w, c, err);
			} else if (w->found >= UNHELD_MAX) {
				kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
					"more than %u sockets no process holds",
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

		/*
		 * An empty chain: its marker, or NULL (also where a page
		 * was unread).
		 */
		if (!first || (w->table->nulls && is_nulls(first)))
			continue;
		ret = admit(w, entry, first, err);
		if (ret != 1)
			continue;
		chains[n] = (struct chain){
			.bucket = *next, .entry = entry,
			.pprev = w->table->buckets +
				 (uint64_t)*next * w->table->stride +
				 w->table->head,
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
 * Which of the socks that have a file (file[i] != 0 for list->conns[first
 * + i]) an fd table holds now: those were opened or accepted after their
 * process's fds were read, the others are held by no process (in flight
 * in an SCM_RIGHTS message, registered with io_uring, a kernel user's).
 * Sets open[i]. One more walk of every fd table, only when there is such
 * a sock: on a quiet guest there is none.
 */
static int held_now(struct kh_vm *vm, struct kh_conn_list *list,
		    unsigned int first, const uint64_t *file, uint8_t *open,
		    struct kh_err *err)
{
	unsigned int nr = list->nr - first, i, n = 0;
	struct kh_file_list *files = NULL;
	uint64_t *socks;
	int ret;

	for (i = 0; i < nr && !file[i]; i++)
		;
	if (i == nr)
		return 0;
	/* The guest of now, not the pages the first walk read (rare). */
	kh_vm_fresh(vm);
	ret = kh_files(vm, 0, &files, err);
	if (ret)
		return ret;
	socks = malloc(sizeof(*socks) * (files->nr + 1));
	if (!socks) {
		kh_file_list_free(files);
		return kh_err_set(err, ENOMEM, "out of memory for %u files",
				  files->nr);
	}
	for (i = 0; i < files->nr; i++)
		if (files->files[i].sock)
			socks[n++] = files->files[i].sock;
	qsort(socks, n, sizeof(*socks), by_value);
	for (i = 0; i < nr; i++)
		open[i] = file[i] && held(socks, n, list->conns[first + i].sock);
	if (files->result.flags & KH_RESULT_INCOMPLETE)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"whether a process holds the sockets with a file in the hash tables: %s",
			files->result.problem);
	free(socks);
	kh_file_list_free(files);
	return 0;
}

/*
 * The full socks in the tables that no fd table the walk read holds:
 * accept() has not taken it, its process closed it (an orphan: no struct
 * socket), a kernel socket's (a struct socket without a file), or one
 * with a file that no fd table has (held_now()). Each gets its socket's
 * inode, as /proc/net/tcp shows it. One that an fd table holds after all
 * was opened or accepted after its process's fds were read: a process
 * holds it, so it is left out, and the list says that the guest changed.
 */
static int drop_held(struct kh_vm *vm, struct kh_conn_list *list,
		     unsigned int first, const uint32_t *off,
		     struct kh_err *err)
{
	unsigned int nr = list->nr - first, i, n, kept, dropped = 0;
	struct kh_read *reads = calloc(2 * nr + 1, sizeof(*reads));
	uint64_t *socket = calloc(nr + 1, sizeof(*socket));
	uint64_t *file = calloc(nr + 1, sizeof(*file));
	uint64_t *ino = calloc(nr + 1, sizeof(*ino));
	uint8_t *unknown = calloc(nr + 1, 1);
	uint8_t *open = calloc(nr + 1, 1);
	int ret = 0;

	if (!reads || !socket || !file || !ino || !unknown || !open) {
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
	for (i = n = 0; i < nr; i++) {
		if (unknown[i] || !socket[i])
			continue;
		reads[n++] = (struct kh_read){
			.addr = socket[i] + off[SOCKET_FILE],
			.buf = &file[i], .len = 8 };
		reads[n++] = (struct kh_read){
			.addr = socket[i] + off[SOCKET_INODE] + off[INODE_INO],
			.buf = &ino[i], .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		if (unknown[i] || !socket[i])
			continue;
		if (reads[n].result) {
			unknown[i] = 1;
			file[i] = 0;
		}
		/* Only its inode unknown: listed with 0, the list marked. */
		if (reads[n + 1].result) {
			ino[i] = 0;
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"sock 0x%" PRIx64 ": its inode cannot be read",
				list->conns[first + i].sock);
		}
		n += 2;
	}
	ret = held_now(vm, list, first, file, open, err);
	if (ret)
		goto out;
	for (i = 0, kept = first; i < nr; i++) {
		struct kh_conn *c = &list->conns[first + i];

		if (unknown[i])
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"sock 0x%" PRIx64 ": whether a process holds it cannot be read",
				c->sock);
		if (open[i]) {
			dropped++;
			continue;
		}
		c->inode = ino[i];
		list->conns[kept++] = *c;
	}
	list->nr = kept;
	if (dropped)
		kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			"%u sockets were opened or accepted while the connections were read",
			dropped);
out:
	free(reads);
	free(socket);
	free(file);
	free(ino);
	free(unknown);
	free(open);
	return ret;
}

int kh_conns_unheld(struct kh_vm *vm, struct kh_conn_list *list,
		    struct kh_err *err)
{
	unsigned int i, n, nr_socks = 0, nr_tables, first = list->nr;
	uint64_t *heads = NULL, *socks = NULL;
	const uint32_t *off, *hash_off;
	struct chain *chains = NULL;
	struct table tables[3];
	uint8_t *common = NULL;
	struct walk *w = NULL;
	uint32_t next, most = 0;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_skc_offsets(vm, &off, err);
	if (!ret)
		ret = kh_offsets(vm, hash_fields, NR_HASH_FIELDS, &hash_off,
				 err);
	if (ret)
		return ret;
	/* Each entry's link, next and pprev, is in the bytes read. */
	if (off[SKC_NULLS_NODE] > off[SOCK_COMMON_SIZE] ||
	    off[SOCK_COMMON_SIZE] - off[SKC_NULLS_NODE] < 16)
		return kh_err_set(err, EINVAL,
				  "guest kernel layout: sock_common's node is not inside it");
	find_tables(vm, list, hash_off, tables, &nr_tables);
	for (i = 0; i < nr_tables; i++)
		most = tables[i].nr > most ? tables[i].nr : most;
	if (!nr_tables)
		return kh_vm_verify(vm, err);

	w = calloc(1, sizeof(*w));
	heads = malloc(sizeof(*heads) * most);
	socks = malloc(sizeof(*socks) * (list->nr + 1));
	chains = calloc(GROUP, sizeof(*chains));
	common = calloc(GROUP, off[SOCK_COMMON_SIZE]);
	if (!w || !heads || !socks || !chains || !common) {
		ret = kh_err_set(err, ENOMEM,
				 "out of memory for %u hash buckets", most);
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

	for (i = 0; !ret && i < nr_tables; i++) {
		w->table = &tables[i];
		ret = read_heads(vm, list, w->table, heads, err);
		for (next = 0; !ret && next < w->table->nr; ) {
			ret = start_chains(w, heads, w->table->nr, &next,
					   chains, common, &n, err);
			if (!ret)
				ret = walk_chains(w, chains, n, err);
		}
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
