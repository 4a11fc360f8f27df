// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A context: the things VMs share. Today that is the set of kernel
 * profiles (one per kernel build, whatever the number of VMs running it)
 * and where they are cached on disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

int kh_ctx_new(const struct kh_ctx_config *cfg, struct kh_ctx **ctxp,
	       struct kh_err *err)
{
	struct kh_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return kh_err_set(err, ENOMEM, "out of memory for a context");
	/* No cache_dir: no disk cache (the caller picks the default). */
	if (cfg && cfg->cache_dir)
		snprintf(ctx->cache_dir, sizeof(ctx->cache_dir), "%s",
			 cfg->cache_dir);
	pthread_mutex_init(&ctx->lock, NULL);
	*ctxp = ctx;
	return 0;
}

int kh_ctx_set_halt_journal(struct kh_ctx *ctx, const char *dir,
			    struct kh_err *err)
{
	struct stat st;

	if (!dir || !dir[0]) {
		ctx->halt_journal[0] = '\0';
		return 0;
	}
	if (dir[0] != '/' || strlen(dir) >= sizeof(ctx->halt_journal) - 64)
		return kh_err_set(err, EINVAL,
				  "the halt journal %s is not an absolute path shorter than %zu bytes",
				  dir, sizeof(ctx->halt_journal) - 64);
	if (lstat(dir, &st))
		return kh_err_set(err, errno,
				  "cannot use %s as the halt journal: %s", dir,
				  strerror(errno));
	/*
	 * Its entries say which processes to resume: whoever else could
	 * write there could have us resume any VM.
	 */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022))
		return kh_err_set(err, EPERM,
				  "the halt journal %s must be a directory of uid %d that no one else may write (it is mode %o, uid %d)",
				  dir, (int)geteuid(), st.st_mode & 07777,
				  (int)st.st_uid);
	snprintf(ctx->halt_journal, sizeof(ctx->halt_journal), "%s", dir);
	return 0;
}

void kh_ctx_free(struct kh_ctx *ctx)
{
	struct kh_ctx_profile *entry, *next;

	if (!ctx)
		return;
	for (entry = ctx->profiles; entry; entry = next) {
		next = entry->next;
		kh_profile_put(entry->profile);
		free(entry);
	}
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

struct kh_profile *kh_ctx_find_profile(struct kh_ctx *ctx,
				       int (*match)(const struct kh_profile *,
						    void *),
				       void *opaque)
{
	struct kh_profile *found = NULL;
	struct kh_ctx_profile *entry;

	/*
	 * match() reads guest memory; holding the lock over it only delays
	 * other attaches, and attaches are rare next to reads.
	 */
	pthread_mutex_lock(&ctx->lock);
	for (entry = ctx->profiles; entry && !found; entry = entry->next)
		if (match(entry->profile, opaque))
			found = kh_profile_get(entry->profile);
	pthread_mutex_unlock(&ctx->lock);
	return found;
}

struct kh_profile *kh_ctx_add_profile(struct kh_ctx *ctx,
				      struct kh_profile *profile)
{
	struct kh_ctx_profile *entry;

	if (!profile)
		return NULL;
	pthread_mutex_lock(&ctx->lock);
	for (entry = ctx->profiles; entry; entry = entry->next) {
		if (!strcmp(entry->profile->banner, profile->banner) &&
		    !memcmp(entry->profile->btf_header, profile->btf_header,
			    24)) {
			/* Another thread built the same one first. */
			kh_profile_put(profile);
			profile = kh_profile_get(entry->profile);
			goto out;
		}
	}
	entry = malloc(sizeof(*entry));
	if (entry) {
		entry->profile = kh_profile_get(profile);
		entry->next = ctx->profiles;
		ctx->profiles = entry;
	}
out:
	pthread_mutex_unlock(&ctx->lock);
	return profile;
}
