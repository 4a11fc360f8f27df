// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel log, as dmesg and /dev/kmsg show it, from the printk ring
 * buffer of Linux 5.10 and later (kernel/printk/printk_ringbuffer.h):
 * `prb` points at a struct printk_ringbuffer whose descriptor ring holds,
 * per record, a state word (id and state in its top two bits) and the
 * logical positions of its text in the text data ring, and whose info
 * array holds the record's sequence number, timestamp, level and length.
 *
 * The three arrays are read whole, each in one batch of page-sized reads,
 * and every record from the ring's tail id to its head id is checked the
 * way the kernel's reader checks it: the descriptor must carry that id
 * and be finalized, its text block must lie inside the data ring and
 * begin with the same id, and its text must fit the block. The guest goes
 * on logging while we read, so the descriptors are read again at the
 * end, past the operation's page cache, and a record whose descriptor
 * changed meanwhile (the ring wrapped over it) is dropped and counted.
 * Sizes come from guest memory and are bounded: at most MAX_DESCS
 * descriptors and a MAX_DATA text ring, more than any kernel's
 * log_buf_len gives in practice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/page_cache.h"
#include "walk/toolkit.h"

#define MAX_DESCS	(1u << 20)
#define MAX_DATA	(32u << 20)
#define CHUNK		4096u

/* The state word: id below, state in the top two bits (DESC_STATE). */
#define DESC_FLAGS_SHIFT	62
#define DESC_ID_MASK		(~(3ull << DESC_FLAGS_SHIFT))
#define DESC_FINALIZED		2
/* A record with no text block (data-less); NO_LPOS: empty on purpose. */
#define NO_LPOS			0x3

enum {
	RB_DESC_RING, RB_TEXT_RING,
	DR_COUNT_BITS, DR_DESCS, DR_INFOS, DR_HEAD_ID, DR_TAIL_ID,
	TR_SIZE_BITS, TR_DATA,
	DESC_SIZE, DESC_STATE_VAR, DESC_BEGIN, DESC_NEXT,
	INFO_SIZE, INFO_SEQ, INFO_TS, INFO_TEXT_LEN, INFO_FACILITY,
	INFO_FLAGS, INFO_LEVEL, INFO_CALLER, INFO_SUBSYSTEM, INFO_DEVICE,
	NR_KMSG_FIELDS
};

static const struct kh_field kmsg_fields[NR_KMSG_FIELDS] = {
	[RB_DESC_RING] = { "printk_ringbuffer", "desc_ring" },
	[RB_TEXT_RING] = { "printk_ringbuffer", "text_data_ring" },
	[DR_COUNT_BITS] = { "prb_desc_ring", "count_bits" },
	[DR_DESCS] = { "prb_desc_ring", "descs" },
	[DR_INFOS] = { "prb_desc_ring", "infos" },
	[DR_HEAD_ID] = { "prb_desc_ring", "head_id" },
	[DR_TAIL_ID] = { "prb_desc_ring", "tail_id" },
	[TR_SIZE_BITS] = { "prb_data_ring", "size_bits" },
	[TR_DATA] = { "prb_data_ring", "data" },
	[DESC_SIZE] = { "prb_desc", NULL },
	[DESC_STATE_VAR] = { "prb_desc", "state_var" },
	[DESC_BEGIN] = { "prb_desc", "text_blk_lpos.begin" },
	[DESC_NEXT] = { "prb_desc", "text_blk_lpos.next" },
	[INFO_SIZE] = { "printk_info", NULL },
	[INFO_SEQ] = { "printk_info", "seq" },
	[INFO_TS] = { "printk_info", "ts_nsec" },
	[INFO_TEXT_LEN] = { "printk_info", "text_len" },
	[INFO_FACILITY] = { "printk_info", "facility" },
	/* Bitfields: the byte that holds each (flags:5 then level:3). */
	[INFO_FLAGS] = { "printk_info", "flags" },
	[INFO_LEVEL] = { "printk_info", "level" },
	[INFO_CALLER] = { "printk_info", "caller_id" },
	[INFO_SUBSYSTEM] = { "printk_info", "dev_info.subsystem", NULL, 1 },
	[INFO_DEVICE] = { "printk_info", "dev_info.device", NULL, 1 },
};

struct ring {
	const uint32_t *off;
	uint64_t descs_va, infos_va, data_va;
	uint64_t head_id, tail_id;
	unsigned int count;		/* descriptors, a power of two */
	uint64_t size;			/* text ring bytes, a power of two */
	unsigned int size_bits;
	uint8_t *descs, *infos, *data, *descs_after;
};

/* [va, va + len) into buf, as a batch of reads of at most a page each. */
static int read_array(struct kh_vm *vm, uint64_t va, uint8_t *buf,
		      uint64_t len, int fresh, uint64_t *unread,
		      struct kh_err *err)
{
	unsigned int nr = (len + CHUNK - 1) / CHUNK, i;
	struct kh_read *reads = calloc(nr ? nr : 1, sizeof(*reads));
	int ret;

	if (!reads)
		return kh_err_set(err, ENOMEM, "out of memory for the kernel log");
	for (i = 0; i < nr; i++) {
		uint64_t at = (uint64_t)i * CHUNK;

		reads[i] = (struct kh_read){ .addr = va + at, .buf = buf + at,
			.len = len - at < CHUNK ? len - at : CHUNK };
	}
	ret = fresh ? kh_kva_fetch_fresh(vm, reads, nr, err) :
		      kh_kva_fetch(vm, reads, nr, err);
	*unread = 0;
	for (i = 0; ret >= 0 && i < nr; i++)
		if (reads[i].result) {
			/* Unreadable reads as zeros: no id, no record. */
			memset(reads[i].buf, 0, reads[i].len);
			*unread += reads[i].len;
		}
	free(reads);
	return ret < 0 ? ret : 0;
}

static struct kh_read hdr_read(uint64_t addr, void *buf, uint32_t len)
{
	return (struct kh_read){ .addr = addr, .buf = buf, .len = len };
}

/* The ring buffer's header: where its arrays are and how big they are. */
static int read_header(struct kh_vm *vm, struct ring *r,
		       struct kh_result *result, struct kh_err *err)
{
	const uint32_t *off = r->off;
	uint32_t count_bits = 0, size_bits = 0;
	uint64_t prb_va = 0, prb, dr, tr;
	struct kh_read reads[7];
	unsigned int i;
	int ret;

	ret = kh_sym_va(vm, "prb", &prb_va, err);
	if (ret)
		/* Not -ENOENT, which says the result has it. */
		return kh_err_set(err, EOPNOTSUPP,
				  "the guest kernel has no printk ring buffer in kallsyms (prb: Linux 5.10 and later, with CONFIG_KALLSYMS_ALL)");
	ret = kh_kva_u64(vm, prb_va, &prb);
	if (ret || !kh_kernel_ptr_aligned(vm, prb, 8))
		return kh_mark(result, KH_RESULT_INCOMPLETE,
			       "the kernel's prb (at 0x%" PRIx64 ") does not point at a printk ring buffer",
			       prb_va) ?: -ENOENT;
	dr = prb + off[RB_DESC_RING];
	tr = prb + off[RB_TEXT_RING];
	reads[0] = hdr_read(dr + off[DR_COUNT_BITS], &count_bits, 4);
	reads[1] = hdr_read(dr + off[DR_DESCS], &r->descs_va, 8);
	reads[2] = hdr_read(dr + off[DR_INFOS], &r->infos_va, 8);
	reads[3] = hdr_read(dr + off[DR_HEAD_ID], &r->head_id, 8);
	reads[4] = hdr_read(dr + off[DR_TAIL_ID], &r->tail_id, 8);
	reads[5] = hdr_read(tr + off[TR_SIZE_BITS], &size_bits, 4);
	reads[6] = hdr_read(tr + off[TR_DATA], &r->data_va, 8);
	ret = kh_kva_fetch_fresh(vm, reads, 7, err);
	if (ret < 0)
		return ret;
	for (i = 0; i < 7; i++)
		if (reads[i].result)
			return kh_mark(result, KH_RESULT_INCOMPLETE,
				       "the printk ring buffer at 0x%" PRIx64 " cannot be read",
				       prb) ?: -ENOENT;
	/* The kernel has a record per 32 bytes of text (PRB_AVGBITS). */
	if (count_bits > 30 || (1ull << count_bits) > MAX_DESCS ||
	    size_bits > 31 || (1ull << size_bits) > MAX_DATA ||
	    (1ull << size_bits) < CHUNK || count_bits + 5 != size_bits)
		return kh_mark(result, KH_RESULT_INCOMPLETE,
			       "the printk ring buffer's sizes are not believable (2^%u records, 2^%u bytes of text)",
			       count_bits, size_bits) ?: -ENOENT;
	if (!kh_kernel_ptr_aligned(vm, r->descs_va, 8) ||
	    !kh_kernel_ptr_aligned(vm, r->infos_va, 8) ||
	    !kh_kernel_ptr_aligned(vm, r->data_va, 8))
		return kh_mark(result, KH_RESULT_INCOMPLETE,
			       "the printk ring buffer's arrays are not at kernel addresses") ?: -ENOENT;
	r->count = 1u << count_bits;
	r->size_bits = size_bits;
	r->size = 1ull << size_bits;
	r->head_id &= DESC_ID_MASK;
	r->tail_id &= DESC_ID_MASK;
	return 0;
}

/* The text of record id in the data ring, or NULL (lost or overwritten). */
static const uint8_t *record_text(const struct ring *r, uint64_t id,
				  uint64_t begin, uint64_t next,
				  uint16_t text_len)
{
	uint64_t at, len, block_id;

	if ((begin & 1) && (next & 1))
		return begin == NO_LPOS && next == NO_LPOS && !text_len ?
		       (const uint8_t *)"" : NULL;
	if ((begin & 7) || (next & 7) || next == begin)
		return NULL;
	/*
	 * Positions count bytes ever written, modulo 2^64: the kernel starts
	 * them at -size, so the first lap overflows on purpose, and the
	 * arithmetic here wraps with it. A block lies in one lap (the last
	 * byte, next - 1, in begin's), or wrapped to the start of the next
	 * (6.1's get_data(); later kernels let a block end exactly at the
	 * array's end, which the first case takes).
	 */
	if (!((begin ^ (next - 1)) >> r->size_bits)) {
		at = begin & (r->size - 1);
		len = next - begin;
	} else if (!(((begin + r->size) ^ (next - 1)) >> r->size_bits)) {
		at = 0;
		len = next & (r->size - 1);
	} else {
		return NULL;
	}
	if (len < 8 || len > r->size - at || text_len > len - 8)
		return NULL;
	memcpy(&block_id, r->data + at, 8);
	if ((block_id & DESC_ID_MASK) != id)
		return NULL;
	return r->data + at + 8;
}

static int add_record(struct kh_kmsg_list *list, const struct ring *r,
		      unsigned int idx, const uint8_t *text, uint16_t len,
		      size_t *text_used, unsigned int *cap)
{
	const uint32_t *off = r->off;
	const uint8_t *info = r->infos + (size_t)idx * off[INFO_SIZE];
	struct kh_kmsg *m;

	if (list->nr == *cap) {
		unsigned int n = *cap ? *cap * 2 : 256;
		struct kh_kmsg *msgs = realloc(list->msgs, n * sizeof(*msgs));

		if (!msgs)
			return -ENOMEM;
		list->msgs = msgs;
		*cap = n;
	}
	m = &list->msgs[list->nr];
	memset(m, 0, sizeof(*m));
	m->seq = kh_load_u64(info, off[INFO_SEQ]);
	m->ts_nsec = kh_load_u64(info, off[INFO_TS]);
	m->facility = info[off[INFO_FACILITY]];
	m->flags = info[off[INFO_FLAGS]] & 0x1f;
	m->level = info[off[INFO_LEVEL]] >> 5;
	m->caller_id = kh_load_u32(info, off[INFO_CALLER]);
	if (off[INFO_SUBSYSTEM] != KH_FIELD_ABSENT)
		memcpy(m->subsystem, info + off[INFO_SUBSYSTEM],
		       sizeof(m->subsystem) - 1);
	if (off[INFO_DEVICE] != KH_FIELD_ABSENT)
		memcpy(m->device, info + off[INFO_DEVICE],
		       sizeof(m->device) - 1);
	m->text_off = *text_used;
	m->text_len = len;
	memcpy(list->text + *text_used, text, len);
	list->text[*text_used + len] = 0;
	*text_used += len + 1;
	list->nr++;
	return 0;
}

static int check_layout(const uint32_t *off, struct kh_err *err)
{
	/* BTF is the guest's too: every field read lies in its struct. */
	if (off[INFO_FLAGS] != off[INFO_LEVEL] ||
	    off[INFO_SIZE] > 1024 || off[DESC_SIZE] > 256 ||
	    off[INFO_SIZE] < off[INFO_CALLER] + 4 ||
	    off[INFO_SIZE] < off[INFO_SEQ] + 8 ||
	    off[INFO_SIZE] < off[INFO_TS] + 8 ||
	    off[INFO_SIZE] < off[INFO_TEXT_LEN] + 2 ||
	    off[INFO_SIZE] < off[INFO_FACILITY] + 1 ||
	    off[INFO_SIZE] < off[INFO_FLAGS] + 1 ||
	    off[DESC_SIZE] < off[DESC_STATE_VAR] + 8 ||
	    off[DESC_SIZE] < off[DESC_BEGIN] + 8 ||
	    off[DESC_SIZE] < off[DESC_NEXT] + 8 ||
	    (off[INFO_SUBSYSTEM] != KH_FIELD_ABSENT &&
	     off[INFO_SIZE] < off[INFO_SUBSYSTEM] + KH_KMSG_SUBSYSTEM_LEN - 1) ||
	    (off[INFO_DEVICE] != KH_FIELD_ABSENT &&
	     off[INFO_SIZE] < off[INFO_DEVICE] + KH_KMSG_DEVICE_LEN - 1))
		return kh_err_set(err, EPROTO,
				  "guest kernel layout: struct printk_info or prb_desc is not as Linux 5.10+ has it");
	return 0;
}

/* Every finalized record from tail to head whose text can be read. */
static int collect(struct kh_vm *vm, struct ring *r,
		   struct kh_kmsg_list *list, struct kh_err *err)
{
	const uint32_t *off = r->off;
	uint64_t id, nr = ((r->head_id - r->tail_id) & DESC_ID_MASK) + 1;
	unsigned int lost = 0, changed = 0, i, kept, cap = 0, nr_lost = 0;
	unsigned int *lost_idx;
	size_t text_used = 0, text_cap;
	uint64_t last_seq = 0;
	uint64_t unread;
	int ret;

	/* The ring holds count records; a longer span is a torn header. */
	if (nr > r->count) {
		kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			"the printk ring buffer's tail (%" PRIu64 ") and head (%" PRIu64 ") ids are %" PRIu64 " apart, more than its %u records",
			r->tail_id, r->head_id, nr, r->count);
		nr = r->count;
	}
	/* Blocks are disjoint: their texts and NULs fit in size + count. */
	text_cap = r->size + nr;
	list->text = malloc(text_cap);
	lost_idx = malloc(nr * sizeof(*lost_idx));
	if (!list->text || !lost_idx) {
		free(lost_idx);
		return kh_err_set(err, ENOMEM, "out of memory for the kernel log");
	}
	for (id = (r->head_id - nr + 1) & DESC_ID_MASK; nr--;
	     id = (id + 1) & DESC_ID_MASK) {
		unsigned int idx = id & (r->count - 1);
		const uint8_t *desc = r->descs + (size_t)idx * off[DESC_SIZE];
		const uint8_t *info = r->infos + (size_t)idx * off[INFO_SIZE];
		uint64_t sv = kh_load_u64(desc, off[DESC_STATE_VAR]);
		uint16_t len;
		const uint8_t *text;

		if ((sv & DESC_ID_MASK) != id ||
		    sv >> DESC_FLAGS_SHIFT != DESC_FINALIZED) {
			/* Being written, reserved, or reused for a newer id. */
			continue;
		}
		memcpy(&len, info + off[INFO_TEXT_LEN], 2);
		text = record_text(r, id,
				   kh_load_u64(desc, off[DESC_BEGIN]),
				   kh_load_u64(desc, off[DESC_NEXT]), len);
		if (!text) {
			/* Lost, or overwritten since: the re-read says. */
			lost_idx[nr_lost++] = idx;
			continue;
		}
		if (list->nr && kh_load_u64(info, off[INFO_SEQ]) <= last_seq) {
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"kernel log record %" PRIu64 " follows record %" PRIu64 " in the ring",
				kh_load_u64(info, off[INFO_SEQ]), last_seq);
			continue;
		}
		/*
		 * Blocks that overlap (a hostile ring) cannot hold more text
		 * than the ring: more is a lie, and the rest is dropped.
		 */
		if ((size_t)len + 1 > text_cap - text_used) {
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"the kernel log's records hold more text than its ring (%" PRIu64 " bytes): blocks overlap",
				r->size);
			break;
		}
		last_seq = kh_load_u64(info, off[INFO_SEQ]);
		if (add_record(list, r, idx, text, len, &text_used, &cap)) {
			free(lost_idx);
			return kh_err_set(err, ENOMEM, "out of memory for the kernel log");
		}
		list->msgs[list->nr - 1].desc_id = id;
	}
	/* A descriptor that changed since the first read was reused. */
	ret = read_array(vm, r->descs_va, r->descs_after,
			 (uint64_t)r->count * off[DESC_SIZE], 1, &unread, err);
	if (ret) {
		free(lost_idx);
		return ret;
	}
	for (i = 0; i < nr_lost; i++) {
		size_t at = (size_t)lost_idx[i] * off[DESC_SIZE] +
			    off[DESC_STATE_VAR];

		if (memcmp(r->descs + at, r->descs_after + at, 8))
			changed++;
		else
			lost++;
	}
	free(lost_idx);
	for (i = 0, kept = 0; i < list->nr; i++) {
		unsigned int idx = list->msgs[i].desc_id & (r->count - 1);
		size_t at = (size_t)idx * off[DESC_SIZE] + off[DESC_STATE_VAR];

		/* Finalized is final: any change is reuse (or its start). */
		if (memcmp(r->descs + at, r->descs_after + at, 8)) {
			changed++;
			continue;
		}
		list->msgs[kept++] = list->msgs[i];
	}
	list->nr = kept;
	if (changed)
		kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			"%u kernel log records were overwritten while read (the guest logged faster than the read)",
			changed);
	if (lost)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%u kernel log records have no readable text (the kernel lost it)",
			lost);
	return 0;
}

int kh_dmesg(struct kh_vm *vm, struct kh_kmsg_list **listp,
	     struct kh_err *err)
{
	struct kh_kmsg_list *list;
	struct ring r = { 0 };
	uint64_t unread[3];
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_offsets(vm, kmsg_fields, NR_KMSG_FIELDS, &r.off, err);
	if (!ret)
		ret = check_layout(r.off, err);
	if (ret)
		return ret;
	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for the kernel log");
	ret = read_header(vm, &r, &list->result, err);
	if (ret == -ENOENT) {
		/* Said in the result: an empty, incomplete log. */
		ret = 0;
		goto done;
	}
	if (ret)
		goto out;
	r.descs = malloc((size_t)r.count * r.off[DESC_SIZE]);
	r.descs_after = malloc((size_t)r.count * r.off[DESC_SIZE]);
	r.infos = malloc((size_t)r.count * r.off[INFO_SIZE]);
	r.data = malloc(r.size);
	if (!r.descs || !r.descs_after || !r.infos || !r.data) {
		ret = kh_err_set(err, ENOMEM, "out of memory for the kernel log");
		goto out;
	}
	/* Descriptors first: a record's text is only ever newer. */
	ret = read_array(vm, r.descs_va, r.descs,
			 (uint64_t)r.count * r.off[DESC_SIZE], 0, &unread[0],
			 err);
	if (!ret)
		ret = read_array(vm, r.infos_va, r.infos,
				 (uint64_t)r.count * r.off[INFO_SIZE], 0,
				 &unread[1], err);
	if (!ret)
		ret = read_array(vm, r.data_va, r.data, r.size, 0, &unread[2],
				 err);
	if (!ret && (unread[0] || unread[1] || unread[2]))
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%" PRIu64 " bytes of the printk ring buffer cannot be read",
			unread[0] + unread[1] + unread[2]);
	if (!ret)
		ret = collect(vm, &r, list, err);
done:
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	free(r.descs);
	free(r.descs_after);
	free(r.infos);
	free(r.data);
	if (ret) {
		kh_kmsg_list_free(list);
		return ret;
	}
	*listp = list;
	return 0;
}

void kh_kmsg_list_free(struct kh_kmsg_list *list)
{
	if (!list)
		return;
	free(list->msgs);
	free(list->text);
	free(list);
}
