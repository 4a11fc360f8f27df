// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reads on a VM: guest-physical reads checked against the RAM layout and
 * handed to the access technique in one batch, and kernel-virtual reads
 * translated the cheap way where the kernel's layout allows (the image and
 * the direct map are linear) and through the guest's page tables elsewhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crawl/budget.h"
#include "kernel/page_cache.h"
#include "kernel/pgtable.h"
#include "kernel/read_log.h"
#include "kernel/trace.h"
#include "vm.h"

static int batch_failed(struct kh_vm *vm, int ret, struct kh_err *err)
{
	if (ret == -ESRCH)
		return kh_err_set(err, ESRCH,
				  "QEMU process %d exited while being read",
				  (int)vm->target.pid);
	return kh_err_set(err, -ret, "reading guest memory of QEMU pid %d with %s failed: %s",
			  (int)vm->target.pid, vm->acc.ops->name,
			  strerror(-ret));
}

static int in_ram(const struct kh_vm *vm, const struct kh_read *read)
{
	const struct kh_ram_range *range = kh_layout_find(&vm->layout,
							  read->addr);

	return range && read->len &&
	       read->len <= range->gpa + range->size - read->addr;
}

typedef int (*access_fn)(struct kh_access *acc, struct kh_read *reads,
			 unsigned int nr);

/*
 * memmap maps guest RAM and needs nothing done per read: the engine
 * copies small reads out of its mapping itself, which for a crawl of
 * thousands of them costs a fraction of the general path (a batch checked
 * against the layout, then the technique's read). memmap_map answers only
 * inside the ranges of the layout it mapped, which is vm's. Not kmap,
 * whose reads keep a pause alive, nor a RAM image, whose ranges are the
 * image's own.
 */
/* Bulk reads stay with the technique, which faults its mapping in ahead. */
#define HOT_COPY_MAX	(64u << 10)

static int copies_itself(const struct kh_access_ops *ops)
{
	return ops == &kh_access_memmap;
}

/*
 * 1 when the mapping served [gpa, gpa + r->len) whole into r: from the
 * technique's hot range inline (most of a small guest's RAM), else
 * through its map.
 */
static int copy_mapped(struct kh_vm *vm, uint64_t gpa, struct kh_read *r)
{
	const struct kh_hot_range *hot = &vm->acc.hot;
	const void *src;

	if (gpa - hot->gpa < hot->size && r->len &&
	    r->len <= hot->size - (gpa - hot->gpa) && r->len < HOT_COPY_MAX)
		src = hot->base + (gpa - hot->gpa);
	else
		src = r->len ? vm->acc.ops->map(&vm->acc, gpa, r->len) : NULL;

	if (!src)
		return 0;
	/* Most reads are one pointer or one int: no call for those. */
	if (r->len == 8)
		memcpy(r->buf, src, 8);
	else if (r->len == 4)
		memcpy(r->buf, src, 4);
	else
		memcpy(r->buf, src, r->len);
	r->result = 0;
	kh_trace_note(gpa, r->len);
	return 1;
}

/* The technique's read, through this operation's page cache if on. */
static int technique_read(struct kh_vm *vm, access_fn read,
			  struct kh_read *reads, unsigned int nr)
{
	if (read == vm->acc.ops->read && kh_page_cache_on(vm))
		return kh_page_cache_read(vm, read, reads, nr);
	return read(&vm->acc, reads, nr);
}

static int gpa_fetch_by(struct kh_vm *vm, access_fn read,
			struct kh_read *reads, unsigned int nr,
			struct kh_err *err)
{
	struct kh_read *valid;
	unsigned int i, nr_valid = 0, bad = 0;
	int ret;

	/* Past the crawl's deadline every read fails, so every walk ends. */
	if (kh_budget_over_time())
		return kh_err_set(err, ETIME, "the crawl went over its time budget");
	for (i = 0; i < nr; i++) {
		reads[i].result = in_ram(vm, &reads[i]) ? 0 : -EFAULT;
		bad += !!reads[i].result;
		if (!reads[i].result)
			kh_trace_note(reads[i].addr, reads[i].len);
	}
	if (!nr || bad == nr)
		return bad;
	if (vm->acc.ops->pause) {
		ret = kh_vm_op_pause(vm, err);
		if (ret)
			return ret;
	}
	if (!bad) {
		ret = technique_read(vm, read, reads, nr);
		return ret < 0 ? batch_failed(vm, ret, err) : ret;
	}

	/* The technique only ever sees addresses inside RAM. */
	valid = malloc(sizeof(*valid) * (nr - bad));
	if (!valid)
		return kh_err_set(err, ENOMEM, "out of memory for a read batch");
	for (i = 0; i < nr; i++)
		if (!reads[i].result)
			valid[nr_valid++] = reads[i];
	ret = technique_read(vm, read, valid, nr_valid);
	if (ret >= 0) {
		for (i = 0, nr_valid = 0; i < nr; i++)
			if (!reads[i].result)
				reads[i].result = valid[nr_valid++].result;
		ret += bad;
	} else {
		ret = batch_failed(vm, ret, err);
	}
	free(valid);
	return ret;
}

static int fetch_mapped(struct kh_vm *vm, struct kh_read *reads,
			unsigned int nr, int kva, struct kh_err *err);

int kh_gpa_fetch(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err)
{
	int ret;

	if (copies_itself(vm->acc.ops))
		ret = fetch_mapped(vm, reads, nr, 0, err);
	else
		ret = gpa_fetch_by(vm, vm->acc.ops->read, reads, nr, err);
	if (ret >= 0)
		kh_read_log_note(KH_SPACE_GPA, reads, nr);
	return ret;
}

int kh_gpa_scan(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		struct kh_err *err)
{
	return gpa_fetch_by(vm, vm->acc.ops->scan ?: vm->acc.ops->read, reads,
			    nr, err);
}

/* One read by fetch, whose failure is an error naming space and addr. */
static int fetch_one(struct kh_vm *vm, kh_fetch_fn fetch, const char *space,
		     uint64_t addr, void *buf, uint32_t len,
		     struct kh_err *err)
{
	struct kh_read read = { .addr = addr, .buf = buf, .len = len };
	int ret = fetch(vm, &read, 1, err);

	if (ret < 0)
		return ret;
	if (read.result)
		return kh_err_set(err, -read.result,
				  "cannot read %u bytes at %s 0x%llx", len,
				  space, (unsigned long long)addr);
	return 0;
}

int kh_gpa_fetch_one(struct kh_vm *vm, uint64_t gpa, void *buf, uint32_t len,
		     struct kh_err *err)
{
	return fetch_one(vm, kh_gpa_fetch, "guest-physical", gpa, buf, len,
			 err);
}

int kh_gpa_pte(void *opaque, uint64_t gpa, uint64_t *entry)
{
	struct kh_vm *vm = opaque;
	const struct kh_hot_range *hot = &vm->acc.hot;

	/* Not while logged: the log must hold every read a part made. */
	if (gpa - hot->gpa < hot->size && hot->size - (gpa - hot->gpa) >= 8 &&
	    !kh_logging) {
		memcpy(entry, hot->base + (gpa - hot->gpa), 8);
		kh_trace_note(gpa, 8);
		kh_access_count(&vm->acc.elems, 1);
		kh_access_count(&vm->acc.bytes, 8);
		return 0;
	}
	return kh_gpa_fetch_one(vm, gpa, entry, 8, NULL);
}

int kh_gpa_same(struct kh_vm *vm, uint64_t gpa, const void *bytes,
		uint64_t len)
{
	const struct kh_hot_range *hot = &vm->acc.hot;

	if (kh_logging || gpa - hot->gpa >= hot->size ||
	    len > hot->size - (gpa - hot->gpa))
		return -1;
	kh_access_count(&vm->acc.elems, 1);
	kh_access_count(&vm->acc.bytes, len);
	return !memcmp(hot->base + (gpa - hot->gpa), bytes, len);
}

/* The kernel image and the direct map are linear: 1 when va is in one. */
static inline int kva_linear(const struct kh_kernel *k, uint64_t va,
			     uint64_t *gpa, uint64_t *contiguous)
{
	if (va - k->text_va < k->image_size) {
		*gpa = k->phys + (va - k->text_va);
		*contiguous = k->image_size - (va - k->text_va);
		return 1;
	}
	if (va - k->page_offset_base < k->direct_map_size) {
		*gpa = va - k->page_offset_base;
		*contiguous = k->direct_map_size - *gpa;
		return 1;
	}
	return 0;
}

int kh_kva_linear(const struct kh_vm *vm, uint64_t va, uint64_t len,
		  uint64_t *gpa)
{
	uint64_t run;

	return kva_linear(&vm->kernel, va, gpa, &run) && len <= run;
}

int kh_kva_to_gpa(struct kh_vm *vm, uint64_t va, uint64_t *gpa,
		  uint64_t *contiguous, struct kh_err *err)
{
	const struct kh_kernel *k = &vm->kernel;
	struct kh_xlate xlate;
	int ret;

	if (kva_linear(k, va, gpa, contiguous))
		return 0;
	/*
	 * Not while a part's reads are logged: a translation the cache
	 * gave would leave its page-table reads out of the log.
	 */
	if (!kh_logging && kh_tlb_find(vm, va, &xlate.gpa, &xlate.page_size)) {
		*gpa = xlate.gpa + (va & 0xfff);
	} else {
		ret = kh_pgtable_walk(kh_gpa_pte, vm, k->pgd, k->levels, va,
				      &xlate);
		if (ret)
			return kh_err_set(err, -ret,
					  "kernel address 0x%llx is not mapped",
					  (unsigned long long)va);
		kh_tlb_put(vm, va, xlate.gpa, xlate.page_size);
		*gpa = xlate.gpa;
	}
	*contiguous = xlate.page_size - (va & (xlate.page_size - 1));
	return 0;
}


static int kva_fetch_pieces(struct kh_vm *vm, struct kh_read *reads,
			    unsigned int nr, struct kh_err *err);

/*
 * Physical pieces of a kernel-virtual batch: most batches are a few reads
 * that cross no page, so the pieces start on the stack and move to the
 * heap only when they outgrow it (a crawl makes thousands of batches, and
 * two mallocs each were a tenth of its time).
 */
#define STACK_PIECES 16

struct pieces {
	struct kh_read *phys;
	unsigned int *owner;
	unsigned int nr, cap;
	struct kh_read stack_phys[STACK_PIECES];
	unsigned int stack_owner[STACK_PIECES];
};

static int pieces_add(struct pieces *p, uint64_t gpa, uint8_t *buf,
		      uint64_t len, unsigned int owner, struct kh_err *err)
{
	if (p->nr == p->cap) {
		unsigned int cap = p->cap * 2;
		struct kh_read *phys = malloc(sizeof(*phys) * cap);
		unsigned int *own = malloc(sizeof(*own) * cap);

		if (!phys || !own) {
			free(phys);
			free(own);
			return kh_err_set(err, ENOMEM, "out of memory for a read batch");
		}
		memcpy(phys, p->phys, sizeof(*phys) * p->nr);
		memcpy(own, p->owner, sizeof(*own) * p->nr);
		if (p->phys != p->stack_phys) {
			free(p->phys);
			free(p->owner);
		}
		p->phys = phys;
		p->owner = own;
		p->cap = cap;
	}
	p->phys[p->nr] = (struct kh_read){ .addr = gpa, .buf = buf,
					   .len = len };
	p->owner[p->nr++] = owner;
	return 0;
}

/*
 * kh_gpa_fetch or (kva set) kh_kva_fetch by copies_itself(): each read
 * the mapping serves whole is copied here, the rest takes the general
 * path alone.
 */
static int fetch_mapped(struct kh_vm *vm, struct kh_read *reads,
			unsigned int nr, int kva, struct kh_err *err)
{
	unsigned int i, served = 0, failed = 0;
	uint64_t gpa, run, bytes = 0;
	int ret;

	if (kh_budget_over_time())
		return kh_err_set(err, ETIME, "the crawl went over its time budget");
	for (i = 0; i < nr; i++) {
		struct kh_read *r = &reads[i];

		gpa = r->addr;
		if ((!kva || ((kva_linear(&vm->kernel, r->addr, &gpa, &run) ||
			       !kh_kva_to_gpa(vm, r->addr, &gpa, &run, NULL)) &&
			      run >= r->len)) && copy_mapped(vm, gpa, r)) {
			bytes += r->len;
			served++;
			continue;
		}
		ret = kva ? kva_fetch_pieces(vm, r, 1, err) :
		      gpa_fetch_by(vm, vm->acc.ops->read, r, 1, err);
		if (ret < 0)
			return ret;
		failed += ret;
	}
	kh_access_count(&vm->acc.elems, served);
	kh_access_count(&vm->acc.bytes, bytes);
	return failed;
}

int kh_kva_fetch(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err)
{
	struct kh_read_log *log = kh_logging;
	int ret;

	/* The translation's reads and the physical pieces are its own. */
	kh_logging = NULL;
	if (copies_itself(vm->acc.ops))
		ret = fetch_mapped(vm, reads, nr, 1, err);
	else
		ret = kva_fetch_pieces(vm, reads, nr, err);
	kh_logging = log;
	if (ret >= 0)
		kh_read_log_note(KH_SPACE_KVA, reads, nr);
	return ret;
}

static int kva_fetch_pieces(struct kh_vm *vm, struct kh_read *reads,
			    unsigned int nr, struct kh_err *err)
{
	struct pieces p;
	unsigned int i, failed = 0;
	int ret = 0;

	p.phys = p.stack_phys;
	p.owner = p.stack_owner;
	p.nr = 0;
	p.cap = STACK_PIECES;
	for (i = 0; i < nr; i++) {
		uint64_t va = reads[i].addr, left = reads[i].len, gpa, run;
		uint8_t *buf = reads[i].buf;

		reads[i].result = 0;
		while (left) {
			if (kh_kva_to_gpa(vm, va, &gpa, &run, NULL)) {
				reads[i].result = -EFAULT;
				break;
			}
			if (run > left)
				run = left;
			ret = pieces_add(&p, gpa, buf, run, i, err);
			if (ret)
				goto out;
			va += run;
			buf += run;
			left -= run;
		}
	}
	ret = kh_gpa_fetch(vm, p.phys, p.nr, err);
	if (ret < 0)
		goto out;
	for (i = 0; i < p.nr; i++)
		if (p.phys[i].result && !reads[p.owner[i]].result)
			reads[p.owner[i]].result = p.phys[i].result;
	for (i = 0; i < nr; i++)
		failed += !!reads[i].result;
	ret = failed;
out:
	if (p.phys != p.stack_phys) {
		free(p.phys);
		free(p.owner);
	}
	return ret;
}

int kh_kva_fetch_one(struct kh_vm *vm, uint64_t va, void *buf, uint32_t len,
		     struct kh_err *err)
{
	return fetch_one(vm, kh_kva_fetch, "kernel address", va, buf, len,
			 err);
}

/* Per thread: a handle may serve other threads' operations meanwhile. */
static __thread const struct kh_vm *verify_deferred;

int kh_vm_verify_defer(const struct kh_vm *vm)
{
	if (verify_deferred == vm)
		return 1;
	verify_deferred = vm;
	return 0;
}

int kh_vm_verify_resume(struct kh_vm *vm, struct kh_err *err)
{
	verify_deferred = NULL;
	return kh_vm_verify(vm, err);
}

int kh_vm_verify(struct kh_vm *vm, struct kh_err *err)
{
	int ret = 0;

	if (vm->acc.ops->pause)
		ret = kh_vm_op_resume(vm, err);
	if (!ret)
		ret = kh_vm_pause_lasted(vm, err);
	if (!vm->acc.ops->pid_addressed || verify_deferred == vm ||
	    !kh_access_alive(&vm->acc))
		return ret;
	return kh_err_set(err, ESRCH, "QEMU process %d exited while being read",
			  (int)vm->target.pid);
}

int kh_read_phys(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		 struct kh_err *err)
{
	int ret = kh_gpa_fetch(vm, reads, nr, err);

	return ret < 0 ? ret : kh_vm_verify(vm, err) ?: ret;
}

int kh_vm_need_memory(const struct kh_vm *vm, struct kh_err *err)
{
	if (vm->profile)
		return 0;
	return kh_err_set(err, EOPNOTSUPP,
			  "technique %s sees the guest's OS state, not its memory: only ps works with it",
			  vm->acc.ops ? vm->acc.ops->name : "?");
}

int kh_read_kva(struct kh_vm *vm, struct kh_read *reads, unsigned int nr,
		struct kh_err *err)
{
	int ret = kh_vm_need_memory(vm, err) ?: kh_kva_fetch(vm, reads, nr, err);

	return ret < 0 ? ret : kh_vm_verify(vm, err) ?: ret;
}

void kh_vm_get_stats(const struct kh_vm *vm, struct kh_stats *stats)
{
	stats->read_calls = atomic_load(&vm->acc.calls);
	stats->read_elems = atomic_load(&vm->acc.elems);
	stats->read_bytes = atomic_load(&vm->acc.bytes);
}
