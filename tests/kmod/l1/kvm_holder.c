// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_holder --daemon PIDFILE: keeps KVM's static keys switched on in the
 * L1 for the whole test run, so that no test makes the kernel patch its
 * own text while both L1 CPUs run it.
 *
 * KVM flips static keys when the first VM is created and the last one
 * destroyed (preempt notifiers), when the first local APIC is created or
 * the last one enabled (apic_sw_disabled), when an APIC is hardware
 * disabled or enabled (apic_hw_disabled), and for vCPUs without an
 * in-kernel APIC (kvm_has_noapic_vcpu). Each flip rewrites kernel code
 * with int3 while the other L1 CPU may run it, and QEMU 7.2's
 * multi-threaded TCG can then keep a stale translation and livelock
 * (Documentation/kmod-testing.md). This holds one reference on each key
 * from the start of the run to its end: a VM with an in-kernel APIC whose
 * vCPU's APIC stays software-disabled, a second vCPU whose APIC is
 * hardware-disabled through its APIC base MSR, and a VM without an
 * in-kernel APIC with a vCPU. The runner creates it while only one L1 CPU
 * is online, so even these flips race nothing.
 *
 * The daemon is in a session of its own, writes its pid to PIDFILE once
 * everything holds, and lives until killed. Exit 0 once ready, 1 if not.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE	0x1b
#define APIC_DEFAULT_BASE	0xfee00000ULL

static int fail(const char *what)
{
	fprintf(stderr, "kvm_holder: %s: %s\n", what, strerror(errno));
	return -1;
}

static int hold(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs = { .hdr = { .nmsrs = 1 },
		   .entry = { .index = MSR_IA32_APICBASE,
			      .data = APIC_DEFAULT_BASE } };
	int kvm, vm, noapic_vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return fail("KVM_CREATE_IRQCHIP");
	/* APIC software-disabled from reset, and never enabled */
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU 0");
	/* APIC hardware-disabled: the base MSR without its enable bit */
	if (ioctl(ioctl(vm, KVM_CREATE_VCPU, 1), KVM_SET_MSRS, &msrs) != 1)
		return fail("KVM_SET_MSRS APIC base");
	noapic_vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (noapic_vm < 0)
		return fail("KVM_CREATE_VM without irqchip");
	if (ioctl(noapic_vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU without irqchip");
	return 0;
}

int main(int argc, char **argv)
{
	int ready[2];
	char c = 0;
	FILE *f;
	pid_t pid;

	if (argc != 3 || strcmp(argv[1], "--daemon")) {
		fprintf(stderr, "usage: kvm_holder --daemon PIDFILE\n");
		return 2;
	}
	if (pipe(ready))
		return fail("pipe") ? 1 : 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid) {
		close(ready[1]);
		if (read(ready[0], &c, 1) != 1 || c != 'y')
			return 1;
		f = fopen(argv[2], "w");
		if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f))
			return fail(argv[2]) ? 1 : 1;
		return 0;
	}
	close(ready[0]);
	setsid();
	if (hold())
		_exit(1);
	if (write(ready[1], "y", 1) != 1)
		_exit(1);
	close(ready[1]);
	for (;;)
		pause();
}
