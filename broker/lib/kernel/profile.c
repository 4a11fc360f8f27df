// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Kernel profiles: built once per kernel build, then shared read-only.
 * Everything a walker needs from BTF is resolved here, once, so that walks
 * never search BTF on a hot path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kernel/profile.h"

struct member_want {
	const char *type;
	const char *path;
	const char *fallback;	/* older kernels' name for the member */
	uint32_t *offset;
	uint32_t need_size;	/* bytes the walker reads, 0: any */
};

static int resolve_member(const struct kh_btf *btf,
			  const struct member_want *want, struct kh_err *err)
{
	struct kh_member member;
	int ret;

	ret = kh_btf_member(btf, want->type, want->path, &member, err);
	if (ret == -ENOENT && want->fallback)
		ret = kh_btf_member(btf, want->type, want->fallback, &member,
				    err);
	if (ret)
		return ret;
	if (member.bit_size)
		return kh_err_set(err, EPROTO, "%s.%s is a bitfield",
				  want->type, want->path);
	if (want->need_size && member.size != want->need_size)
		return kh_err_set(err, EPROTO,
				  "%s.%s is %u bytes, expected %u",
				  want->type, want->path, member.size,
				  want->need_size);
	*want->offset = member.offset;
	return 0;
}

static int resolve_task_layout(const struct kh_btf *btf,
			       struct kh_task_layout *tl, struct kh_err *err)
{
	const struct member_want wants[] = {
		{ "task_struct", "tasks", NULL, &tl->tasks, 16 },
		{ "task_struct", "pid", NULL, &tl->pid, 4 },
		{ "task_struct", "tgid", NULL, &tl->tgid, 4 },
		{ "task_struct", "__state", "state", &tl->state, 0 },
		{ "task_struct", "exit_state", NULL, &tl->exit_state, 4 },
		{ "task_struct", "real_parent", NULL, &tl->real_parent, 8 },
		{ "task_struct", "real_cred", NULL, &tl->real_cred, 8 },
		{ "task_struct", "comm", NULL, &tl->comm, 16 },
		{ "task_struct", "signal", NULL, &tl->signal, 8 },
		{ "task_struct", "thread_node", NULL, &tl->thread_node, 16 },
		{ "task_struct", "flags", NULL, &tl->flags, 4 },
		{ "task_struct", "mm", NULL, &tl->mm, 8 },
		{ "task_struct", "start_boottime", "real_start_time",
		  &tl->start_boottime, 8 },
		{ "signal_struct", "thread_head", NULL,
		  &tl->signal_thread_head, 16 },
		{ "signal_struct", "nr_threads", NULL,
		  &tl->signal_nr_threads, 4 },
		{ "cred", "uid", NULL, &tl->cred_uid, 4 },
		{ "cred", "gid", NULL, &tl->cred_gid, 4 },
	};
	uint32_t lo = UINT32_MAX, hi = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		ret = resolve_member(btf, &wants[i], err);
		if (ret)
			return kh_err_prefix(err, "kernel BTF lacks what the task walker needs");
	}
	ret = kh_btf_sizeof(btf, "task_struct", &tl->task_size, err);
	if (ret)
		return ret;

	/* One read per task covers every field: they sit within ~3 KiB. */
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		uint32_t off = *wants[i].offset;

		if (strcmp(wants[i].type, "task_struct"))
			continue;
		if (off < lo)
			lo = off;
		if (off + 16 > hi)
			hi = off + 16;
	}
	if (hi > tl->task_size)
		hi = tl->task_size;
	tl->span_start = lo;
	tl->span_len = hi - lo;
	if (!kh_task_layout_valid(tl))
		return kh_err_set(err, EPROTO,
				  "task_struct fields do not fit in task_struct");
	return 0;
}

int kh_task_layout_valid(const struct kh_task_layout *tl)
{
	const uint32_t fields[] = {
		tl->tasks, tl->pid, tl->tgid, tl->state, tl->exit_state,
		tl->real_parent, tl->real_cred, tl->comm, tl->signal,
		tl->thread_node, tl->flags, tl->mm, tl->start_boottime,
	};
	uint64_t end = (uint64_t)tl->span_start + tl->span_len;
	unsigned int i;

	if (!tl->task_size || end > tl->task_size)
		return 0;
	/* The walker reads up to 16 bytes at each (list heads, comm). */
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] < tl->span_start || fields[i] + 16ULL > end)
			return 0;
	return 1;
}

static void release_from_banner(const char *banner, char *release,
				size_t size)
{
	const char *p = banner + strlen("Linux version ");
	size_t n = strcspn(p, " ");

	if (strncmp(banner, "Linux version ", 14)) {
		snprintf(release, size, "unknown");
		return;
	}
	if (n >= size)
		n = size - 1;
	memcpy(release, p, n);
	release[n] = '\0';
}

int kh_profile_sym(const struct kh_profile *profile, const char *name,
		   int64_t *off, struct kh_err *err)
{
	struct kh_sym sym;

	if (kh_symtab_lookup(profile->symtab, name, &sym) || sym.absolute)
		return kh_err_set(err, ENOENT,
				  "kernel symbol %s not found in kallsyms",
				  name);
	*off = sym.value;
	return 0;
}

int kh_profile_new(struct kh_profile_parts *parts,
		   struct kh_profile **profilep, struct kh_err *err)
{
	struct kh_profile *profile;
	int64_t end;
	int ret;

	profile = calloc(1, sizeof(*profile));
	if (!profile) {
		kh_symtab_free(parts->symtab);
		kh_btf_free(parts->btf);
		if (parts->backing)
			munmap(parts->backing, parts->backing_len);
		return kh_err_set(err, ENOMEM, "out of memory for a profile");
	}
	atomic_init(&profile->refs, 1);
	pthread_mutex_init(&profile->btf_lock, NULL);
	pthread_mutex_init(&profile->memo_lock, NULL);
	profile->symtab = parts->symtab;
	profile->btf = parts->btf;
	profile->btf_raw = parts->btf_raw;
	profile->btf_len = parts->btf_len;
	profile->backing = parts->backing;
	profile->backing_len = parts->backing_len;
	snprintf(profile->banner, sizeof(profile->banner), "%s", parts->banner);
	release_from_banner(profile->banner, profile->release,
			    sizeof(profile->release));
	memcpy(profile->btf_header, parts->btf_header, 24);

	ret = kh_profile_sym(profile, "linux_banner", &profile->banner_off,
			     err);
	if (!ret)
		ret = kh_profile_sym(profile, "__start_BTF", &profile->btf_off,
				     err);
	if (!ret)
		ret = kh_profile_sym(profile, "_end", &end, err);
	if (!ret && parts->task) {
		profile->task = *parts->task;
	} else if (!ret) {
		const struct kh_btf *btf;

		ret = kh_profile_btf(profile, &btf, err);
		if (!ret)
			ret = resolve_task_layout(btf, &profile->task, err);
	}
	if (ret) {
		kh_profile_put(profile);
		return ret;
	}
	profile->image_size = end;
	*profilep = profile;
	return 0;
}

int kh_profile_btf(struct kh_profile *profile, const struct kh_btf **btfp,
		   struct kh_err *err)
{
	int ret = 0;

	pthread_mutex_lock(&profile->btf_lock);
	if (!profile->btf) {
		ret = kh_btf_load(profile->btf_raw, profile->btf_len,
				  &profile->btf, err);
	}
	*btfp = profile->btf;
	pthread_mutex_unlock(&profile->btf_lock);
	return ret;
}

const void *kh_profile_btf_raw(struct kh_profile *profile, size_t *len)
{
	const void *raw;

	/* btf and btf_raw change together, under btf_lock. */
	pthread_mutex_lock(&profile->btf_lock);
	if (profile->btf) {
		raw = kh_btf_raw(profile->btf, len);
	} else {
		raw = profile->btf_raw;
		*len = profile->btf_len;
	}
	pthread_mutex_unlock(&profile->btf_lock);
	return raw;
}

struct kh_profile_memo {
	struct kh_profile_memo *next;
	const void *key;
	size_t size;
	uint64_t data[];	/* size bytes, 8-aligned */
};

static struct kh_profile_memo *find_memo(struct kh_profile_memo *memo,
					 const void *key, size_t size)
{
	for (; memo; memo = memo->next)
		if (memo->key == key && memo->size == size)
			return memo;
	return NULL;
}

int kh_profile_memo(struct kh_profile *profile, const void *key, size_t size,
		    kh_memo_build_fn build, const void **data,
		    struct kh_err *err)
{
	_Atomic(struct kh_profile_memo *) *chain;
	struct kh_profile_memo *memo, *head;
	int ret = 0;

	/*
	 * Two workers crawling VMs of one kernel build both come here per
	 * task: a lock here had them wait on each other.
	 */
	chain = &profile->memos[((uintptr_t)key * 0x9e3779b97f4a7c15ULL >> 40) &
				(KH_PROFILE_MEMO_CHAINS - 1)];
	memo = find_memo(atomic_load_explicit(chain, memory_order_acquire), key,
			 size);
	if (memo) {
		*data = memo->data;
		return 0;
	}
	pthread_mutex_lock(&profile->memo_lock);
	head = atomic_load_explicit(chain, memory_order_relaxed);
	memo = find_memo(head, key, size);
	if (!memo) {
		memo = calloc(1, sizeof(*memo) + size);
		if (!memo) {
			ret = kh_err_set(err, ENOMEM, "out of memory for a memo");
		} else {
			memo->key = key;
			memo->size = size;
			ret = build(profile, key, memo->data, size, err);
			if (ret) {
				free(memo);
				memo = NULL;
			} else {
				memo->next = head;
				atomic_store_explicit(chain, memo,
						      memory_order_release);
			}
		}
	}
	pthread_mutex_unlock(&profile->memo_lock);
	if (memo)
		*data = memo->data;
	return ret;
}

struct kh_profile *kh_profile_get(struct kh_profile *profile)
{
	atomic_fetch_add(&profile->refs, 1);
	return profile;
}

void kh_profile_put(struct kh_profile *profile)
{
	struct kh_profile_memo *memo;
	unsigned int i;

	if (!profile || atomic_fetch_sub(&profile->refs, 1) != 1)
		return;
	kh_symtab_free(profile->symtab);
	kh_btf_free(profile->btf);
	if (profile->backing)
		munmap(profile->backing, profile->backing_len);
	for (i = 0; i < KH_PROFILE_MEMO_CHAINS; i++)
		while ((memo = atomic_load(&profile->memos[i]))) {
			atomic_store(&profile->memos[i], memo->next);
			free(memo);
		}
	pthread_mutex_destroy(&profile->memo_lock);
	pthread_mutex_destroy(&profile->btf_lock);
	free(profile);
}
