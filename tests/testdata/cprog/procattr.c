/*
 * procattr prints the process attributes the runtime set, read back with
 * the kernel's own getters: the scheduling policy, nice and priority
 * (sched_getattr), the I/O priority (ioprio_get), the personality
 * (personality(0xffffffff)), the memory policy and its nodes
 * (get_mempolicy) and the CPU affinity (sched_getaffinity).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sched_attr_v0 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

int main(void)
{
	struct sched_attr_v0 sa = { 0 };
	if (syscall(SYS_sched_getattr, 0, &sa, sizeof(sa), 0) < 0)
		perror("sched_getattr");
	printf("sched policy=%u nice=%d priority=%u flags=%#llx runtime=%llu deadline=%llu period=%llu\n", sa.policy, sa.nice,
	       sa.priority, (unsigned long long)sa.flags, (unsigned long long)sa.runtime, (unsigned long long)sa.deadline,
	       (unsigned long long)sa.period);
	long io = syscall(SYS_ioprio_get, 1, 0);
	printf("ioprio class=%ld priority=%ld\n", io < 0 ? -1 : io >> 13, io < 0 ? -1 : io & 0x1fff);
	printf("personality=%#x\n", personality(0xffffffff));
	int mode = -1;
	unsigned long nodes[16] = { 0 };
	if (syscall(SYS_get_mempolicy, &mode, nodes, 16 * 64, 0, 0) < 0)
		perror("get_mempolicy");
	printf("mempolicy mode=%d nodes=%#lx\n", mode, nodes[0]);
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		perror("sched_getaffinity");
	printf("affinity=");
	for (int c = 0, first = 1; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			printf(first ? "%d" : ",%d", c);
			first = 0;
		}
	printf("\n");
	return 0;
}
