// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The loaded eBPF programs and maps (kh_ebpf; Volatility's ebpf): every
 * one the bpf() syscall can find by id is in the kernel's prog_idr or
 * map_idr, an IDR keyed by that id (walk/xarray.c). Each program: its
 * type, name, tag (the hash of its instructions bpftool shows), its size
 * translated and JITed, when it was loaded; each map: its type, name and
 * sizes. One batch of reads for all programs (then their aux), one for
 * all maps. What cannot be read is left out and the result marked; so
 * is a program whose aux does not lead back to it (freed meanwhile, or
 * not a program at all).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "walk/xarray.h"

/* ids are ints: no IDR holds more than this. */
#define MAX_OBJECTS (1u << 20)

enum {
	IDR_HEAD, PROG_TYPE, PROG_LEN, PROG_JITED_LEN, PROG_TAG, PROG_AUX,
	AUX_ID, AUX_NAME, AUX_LOAD_TIME, AUX_PROG,
	MAP_TYPE, MAP_KEY, MAP_VALUE, MAP_MAX, MAP_FLAGS, MAP_ID, MAP_NAME,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[IDR_HEAD] = { "idr", "idr_rt.xa_head" },
	[PROG_TYPE] = { "bpf_prog", "type" },
	[PROG_LEN] = { "bpf_prog", "len" },
	[PROG_JITED_LEN] = { "bpf_prog", "jited_len" },
	[PROG_TAG] = { "bpf_prog", "tag" },
	[PROG_AUX] = { "bpf_prog", "aux" },
	[AUX_ID] = { "bpf_prog_aux", "id" },
	[AUX_NAME] = { "bpf_prog_aux", "name" },
	[AUX_LOAD_TIME] = { "bpf_prog_aux", "load_time" },
	[AUX_PROG] = { "bpf_prog_aux", "prog" },
	[MAP_TYPE] = { "bpf_map", "map_type" },
	[MAP_KEY] = { "bpf_map", "key_size" },
	[MAP_VALUE] = { "bpf_map", "value_size" },
	[MAP_MAX] = { "bpf_map", "max_entries" },
	[MAP_FLAGS] = { "bpf_map", "map_flags" },
	[MAP_ID] = { "bpf_map", "id" },
	[MAP_NAME] = { "bpf_map", "name" },
};

/* enum bpf_prog_type and bpf_map_type, as bpftool names them (6.1). */
static const char *const prog_types[] = {
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act",
	"tracepoint", "xdp", "perf_event", "cgroup_skb", "cgroup_sock",
	"lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb",
	"cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr",
	"lwt_seg6local", "lirc_mode2", "sk_reuseport", "flow_dissector",
	"cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt",
	"tracing", "struct_ops", "ext", "lsm", "sk_lookup", "syscall",
};

static const char *const map_types[] = {
	"unspec", "hash", "array", "prog_array", "perf_event_array",
	"percpu_hash", "percpu_array", "stack_trace", "cgroup_array",
	"lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
	"hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash",
	"cgroup_storage", "reuseport_sockarray", "percpu_cgroup_storage",
	"queue", "stack", "sk_storage", "devmap_hash", "struct_ops",
	"ringbuf", "inode_storage", "task_storage", "bloom_filter",
	"user_ringbuf",
};

static void type_name(const char *const *names, size_t nr, uint32_t type,
		      char *buf, size_t size)
{
	if (type < nr)
		snprintf(buf, size, "%s", names[type]);
	else
		snprintf(buf, size, "%u", type);
}

static int idr_entries(struct kh_vm *vm, const uint32_t *off,
		       const char *idr, struct kh_addr_list *entries,
		       struct kh_result *result, struct kh_err *err)
{
	uint64_t va, head;
	int ret, bad = 0;

	ret = kh_sym_va(vm, idr, &va, err);
	if (ret)
		return ret;
	ret = kh_kva_u64(vm, va + off[IDR_HEAD], &head);
	if (ret == -ESRCH)
		return kh_err_set(err, ESRCH, "the VM is gone");
	if (ret)
		return kh_mark(result, KH_RESULT_INCOMPLETE,
			       "%s cannot be read", idr);
	ret = kh_xarray_collect(vm, head, MAX_OBJECTS, entries, &bad);
	if (ret == -ENOMEM)
		return kh_err_set(err, ENOMEM, "out of memory for %s", idr);
	if (ret == -ESRCH)
		return kh_err_set(err, ESRCH, "the VM is gone");
	if (ret)
		return kh_err_set(err, -ret, "%s cannot be walked", idr);
	if (bad)
		kh_mark(result, KH_RESULT_INCOMPLETE,
			"parts of %s could not be read", idr);
	return 0;
}

static int read_progs(struct kh_vm *vm, const uint32_t *off,
		      struct kh_bpf_list *list, struct kh_err *err)
{
	struct kh_addr_list progs = { 0 };
	struct kh_read *reads = NULL;
	uint64_t *aux = NULL, *back = NULL;
	unsigned int i, n;
	int ret;

	ret = idr_entries(vm, off, "prog_idr", &progs, &list->result, err);
	if (ret || !progs.nr)
		goto out;
	list->progs = calloc(progs.nr, sizeof(*list->progs));
	aux = calloc(progs.nr, sizeof(*aux));
	back = calloc(progs.nr, sizeof(*back));
	reads = calloc(progs.nr * 5, sizeof(*reads));	/* 5, then 4 a prog */
	if (!list->progs || !aux || !back || !reads) {
		ret = kh_err_set(err, ENOMEM, "out of memory for BPF programs");
		goto out;
	}
	for (i = 0, n = 0; i < progs.nr; i++) {
		struct kh_bpf_prog *p = &list->progs[i];
		uint64_t a = progs.addrs[i];

		p->addr = a;
		reads[n++] = (struct kh_read){ .addr = a + off[PROG_TYPE],
					       .buf = &p->type, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[PROG_LEN],
					       .buf = &p->xlated_bytes, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[PROG_JITED_LEN],
					       .buf = &p->jited_bytes, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[PROG_TAG],
					       .buf = p->tag, .len = 8 };
		reads[n++] = (struct kh_read){ .addr = a + off[PROG_AUX],
					       .buf = &aux[i], .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	for (i = 0, n = 0; i < progs.nr; i++) {
		struct kh_bpf_prog *p = &list->progs[i];
		const struct kh_read *r = &reads[i * 5];

		if (r[0].result || r[1].result || r[2].result ||
		    r[3].result || r[4].result ||
		    !kh_kernel_ptr_aligned(vm, aux[i], 8)) {
			aux[i] = 0;
			continue;
		}
		/* len counts struct bpf_insn, 8 bytes each */
		p->xlated_bytes = p->xlated_bytes > UINT32_MAX / 8 ? UINT32_MAX :
				  p->xlated_bytes * 8;
		type_name(prog_types, sizeof(prog_types) / sizeof(*prog_types),
			  p->type, p->type_name, sizeof(p->type_name));
	}
	for (i = 0, n = 0; i < progs.nr; i++) {
		struct kh_bpf_prog *p = &list->progs[i];

		if (!aux[i])
			continue;
		reads[n++] = (struct kh_read){ .addr = aux[i] + off[AUX_ID],
					       .buf = &p->id, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = aux[i] + off[AUX_NAME],
					       .buf = p->name,
					       .len = sizeof(p->name) };
		reads[n++] = (struct kh_read){
			.addr = aux[i] + off[AUX_LOAD_TIME],
			.buf = &p->load_time, .len = 8 };
		reads[n++] = (struct kh_read){ .addr = aux[i] + off[AUX_PROG],
					       .buf = &back[i], .len = 8 };
	}
	ret = n ? kh_kva_fetch(vm, reads, n, err) : 0;
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0, n = 0; i < progs.nr; i++) {
		struct kh_bpf_prog *p = &list->progs[i];
		int ok = aux[i] && !reads[n].result && !reads[n + 1].result &&
			 !reads[n + 2].result && !reads[n + 3].result;

		n += aux[i] ? 4 : 0;
		if (!ok) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"BPF program at 0x%" PRIx64 " cannot be read",
				p->addr);
			continue;
		}
		/* A real program's aux points back at it (freed, reused: not). */
		if (back[i] != p->addr || !p->id) {
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"BPF program at 0x%" PRIx64 " is not one (its aux does not lead back to it)",
				p->addr);
			continue;
		}
		p->name[sizeof(p->name) - 1] = '\0';
		list->progs[list->nr_progs++] = *p;
	}
out:
	free(progs.addrs);
	free(reads);
	free(aux);
	free(back);
	return ret;
}

static int read_maps(struct kh_vm *vm, const uint32_t *off,
		     struct kh_bpf_list *list, struct kh_err *err)
{
	struct kh_addr_list maps = { 0 };
	struct kh_read *reads = NULL;
	unsigned int i, n, per = 7;
	int ret;

	ret = idr_entries(vm, off, "map_idr", &maps, &list->result, err);
	if (ret || !maps.nr)
		goto out;
	list->maps = calloc(maps.nr, sizeof(*list->maps));
	reads = calloc(maps.nr * per, sizeof(*reads));
	if (!list->maps || !reads) {
		ret = kh_err_set(err, ENOMEM, "out of memory for BPF maps");
		goto out;
	}
	for (i = 0, n = 0; i < maps.nr; i++) {
		struct kh_bpf_map *m = &list->maps[i];
		uint64_t a = maps.addrs[i];

		m->addr = a;
		reads[n++] = (struct kh_read){ .addr = a + off[MAP_TYPE],
					       .buf = &m->type, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[MAP_KEY],
					       .buf = &m->key_size, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[MAP_VALUE],
					       .buf = &m->value_size, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[MAP_MAX],
					       .buf = &m->max_entries, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[MAP_FLAGS],
					       .buf = &m->flags, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[MAP_ID],
					       .buf = &m->id, .len = 4 };
		reads[n++] = (struct kh_read){ .addr = a + off[MAP_NAME],
					       .buf = m->name,
					       .len = sizeof(m->name) };
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < maps.nr; i++) {
		struct kh_bpf_map *m = &list->maps[i];
		unsigned int k;

		for (k = 0; k < per && !reads[i * per + k].result; k++)
			;
		if (k < per) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"BPF map at 0x%" PRIx64 " cannot be read",
				m->addr);
			continue;
		}
		m->name[sizeof(m->name) - 1] = '\0';
		type_name(map_types, sizeof(map_types) / sizeof(*map_types),
			  m->type, m->type_name, sizeof(m->type_name));
		list->maps[list->nr_maps++] = *m;
	}
out:
	free(maps.addrs);
	free(reads);
	return ret;
}

static int prog_by_id(const void *a, const void *b)
{
	const struct kh_bpf_prog *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int map_by_id(const void *a, const void *b)
{
	const struct kh_bpf_map *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int kh_ebpf(struct kh_vm *vm, struct kh_bpf_list **listp, struct kh_err *err)
{
	struct kh_bpf_list *list;
	const uint32_t *off;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		return ret;
	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for BPF objects");
	ret = read_progs(vm, off, list, err);
	if (!ret)
		ret = read_maps(vm, off, list, err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
	if (ret) {
		kh_bpf_list_free(list);
		return ret;
	}
	/* The IDR's index order is the id order; sorted for a hostile one. */
	if (list->nr_progs)
		qsort(list->progs, list->nr_progs, sizeof(*list->progs),
		      prog_by_id);
	if (list->nr_maps)
		qsort(list->maps, list->nr_maps, sizeof(*list->maps),
		      map_by_id);
	*listp = list;
	return 0;
}

void kh_bpf_list_free(struct kh_bpf_list *list)
{
	if (!list)
		return;
	free(list->progs);
	free(list->maps);
	free(list);
}
