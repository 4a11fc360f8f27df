// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: a VM that exits while keyhole walks or crawls it ends the walk or
 * crawl with a clear "exited" error (ESRCH), never a crash, hang or
 * silently short list (a crawl confirms QEMU's life once, at its end); and
 * that afterwards the CLI says the process is gone. It kills its guest, so
 * tests/run runs it last.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "guest.h"
#include "libkeyhole.h"

static atomic_uint walks;

/*
 * Kills QEMU once a walk has been seen whole, so that the kill lands
 * while walks run: a condition, not a guess at how long one takes.
 */
static void *killer(void *arg)
{
	while (!atomic_load(&walks))
		usleep(1000);
	kill(*(pid_t *)arg, SIGKILL);
	return NULL;
}

int main(int argc, char **argv)
{
	struct kh_task_list *list;
	struct kh_crawl *crawl;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	pthread_t thread;
	struct guest g;
	char spec[32];
	pid_t pid;
	json_t *doc;
	int ret, status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	alarm(120);
	pid = g.pid;
	snprintf(spec, sizeof(spec), "%d", pid);
	CHECK(!kh_ctx_new(NULL, &ctx, &err), "%s", err.msg);
	CHECK(!kh_vm_open(ctx, spec, NULL, &vm, &err), "%s", err.msg);
	CHECK(!pthread_create(&thread, NULL, killer, &pid), "pthread_create");
	for (;;) {
		/* Walks and crawls in turn: the kill lands in either. */
		if (atomic_load(&walks) % 2) {
			ret = kh_crawl(vm, 0, &crawl, &err);
			if (ret)
				break;
			CHECK(crawl->tasks->nr > 20 ||
			      crawl->result.flags, "short crawl without a mark");
			kh_crawl_free(crawl);
			atomic_fetch_add(&walks, 1);
			continue;
		}
		ret = kh_tasks(vm, KH_TASKS_THREADS, &list, &err);
		if (ret)
			break;
		/* A walk that finished must still be whole or say it is not. */
		CHECK(list->nr > 20 || list->result.flags, "short walk without a mark");
		kh_task_list_free(list);
		atomic_fetch_add(&walks, 1);
	}
	pthread_join(thread, NULL);
	CHECK(ret == -ESRCH && strstr(err.msg, "exited"),
	      "after %u walks: ret %d: %s", atomic_load(&walks), ret, err.msg);
	printf("ok: %u walks and crawls, then a %s said: %s\n",
	       atomic_load(&walks), atomic_load(&walks) % 2 ? "crawl" : "walk",
	       err.msg);
	kh_vm_close(vm);
	kh_ctx_free(ctx);

	/* Reap-independent: once gone, the pid is gone or not QEMU. */
	for (int i = 0; i < 60000 && !kill(pid, 0); i++)
		usleep(1000);	/* until init has reaped it, 60 s at most */
	doc = keyhole_json(&status, "ps %d", (int)pid);
	CHECK(status != 0 && json_object_get(doc, "error"),
	      "ps of a dead VM: %s", json_dumps(doc, 0));
	return KH_PASS;
}
