// SPDX-License-Identifier: GPL-2.0-only
/*
 * The L1 survives KVM VMs coming and going. Creating the first KVM VM and
 * destroying the last one flips static keys (preempt notifiers, the local
 * APIC's), and each flip rewrites kernel text with int3 while other CPUs
 * run it. Under QEMU 7.2's multi-threaded TCG a vCPU could keep a stale
 * translation with the int3 in it, which the kernel's int3 handler then
 * restarts forever: both L1 CPUs locked up at the first flip. The inner
 * runner keeps every such key switched on for the whole run
 * (tests/kmod/l1/kvm_holder.c), so no test flips them; this proves it
 * holds: the holder is alive, and FLIPS cycles of a KVM VM with an
 * in-kernel APIC and a vCPU, made and destroyed while threads on both
 * CPUs context-switch through the patched code all the time, leave the L1
 * well. The runner fails the test on a soft lockup in the kernel log, and
 * a hang of the L1 fails it too; with KT_L1_HOLDER=none it hangs the L1.
 * Documentation/kmod-testing.md has the whole story.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kt.h"

#define FLIPS		300
#define SWITCHERS	4

static atomic_bool stop;

/* Sleeps and wakes on one CPU, so that it switches tasks all the time. */
static void *switcher(void *arg)
{
	struct timespec ts = { 0, 20000 };
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((long)arg, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!atomic_load(&stop))
		nanosleep(&ts, NULL);
	return NULL;
}

/* The first VM made and the last destroyed: the keys flip both ways. */
static void flip(int kvm, unsigned int i)
{
	int vm, vcpu;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	CHECK(vm >= 0, "flip %u: KVM_CREATE_VM: %s", i, strerror(errno));
	CHECK(!ioctl(vm, KVM_CREATE_IRQCHIP, 0), "flip %u: KVM_CREATE_IRQCHIP: %s",
	      i, strerror(errno));
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0, "flip %u: KVM_CREATE_VCPU: %s", i, strerror(errno));
	close(vcpu);
	close(vm);
}

int main(void)
{
	pthread_t threads[SWITCHERS];
	uint64_t start = kt_now_ms();
	const char *holder;
	unsigned int i;
	FILE *f = NULL;
	int kvm, pid;
	long t;

	/* KT_L1_HOLDER=none on the host: see the keys flip, and the hang */
	if (strcmp(getenv("KT_HOLDER") ?: "", "none")) {
		holder = getenv("KT_HOLDER_PID");
		CHECK(holder && (f = fopen(holder, "r")) &&
		      fscanf(f, "%d", &pid) == 1, "no KVM holder pid in %s",
		      holder ? holder : "$KT_HOLDER_PID");
		fclose(f);
		CHECK(!kill(pid, 0), "the KVM holder %d is gone", pid);
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	CHECK(kvm >= 0, "open /dev/kvm: %s", strerror(errno));
	for (t = 0; t < SWITCHERS; t++)
		CHECK(!pthread_create(&threads[t], NULL, switcher,
				      (void *)(t % 2)), "pthread_create");
	for (i = 0; i < FLIPS; i++)
		flip(kvm, i);
	atomic_store(&stop, true);
	for (t = 0; t < SWITCHERS; t++)
		pthread_join(threads[t], NULL);
	close(kvm);
	printf("%u flips in %llu ms\n", FLIPS,
	       (unsigned long long)(kt_now_ms() - start));
	return KH_PASS;
}
