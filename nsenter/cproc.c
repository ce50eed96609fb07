/*
 * cproc: the process attributes of the exec record (struct proc_attr in
 * bootstrap.h): process.scheduler, process.ioPriority,
 * process.execCPUAffinity.final, linux.personality, linux.memoryPolicy.
 *
 * The parent turned each into the numbers of one syscall and the phase it
 * belongs to (libcontainer/procattr.go): PH_PREPARE in berth_exec_prepare
 * while still root and before seccomp (a real-time policy needs
 * CAP_SYS_NICE; a profile may forbid the calls), PH_FINAL just before
 * execve (the final CPU affinity). Here each
 * call is made as given; a failure is reported with the parent's message,
 * which names the field, and the errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bootstrap.h"

/* The kernel's struct sched_attr, first version (SCHED_ATTR_SIZE_VER0). */
struct sched_attr_v0 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static uint64_t word(const struct proc_attr *a, uint32_t i)
{
	uint64_t w = 0;
	if (i < a->nwords)
		memcpy(&w, a->words + i * 8, 8);
	return w;
}

/* words copies the attribute's words into aligned memory (NULL when none). */
static uint64_t *words(const struct proc_attr *a, uint32_t from)
{
	if (a->nwords <= from)
		return NULL;
	uint64_t *w = calloc(a->nwords - from, 8);
	if (w == NULL)
		bail(ENOMEM, "%s", a->msg);
	memcpy(w, a->words + from * 8, (size_t)(a->nwords - from) * 8);
	return w;
}

static void apply(const struct proc_attr *a)
{
	long r = 0;
	uint64_t *w;
	switch (a->kind) {
	case PA_SCHED: {
		struct sched_attr_v0 sa = {
			.size = sizeof(sa),
			.policy = (uint32_t)word(a, 0),
			.flags = word(a, 1),
			.nice = (int32_t)word(a, 2),
			.priority = (uint32_t)word(a, 3),
			.runtime = word(a, 4),
			.deadline = word(a, 5),
			.period = word(a, 6),
		};
		r = syscall(SYS_sched_setattr, 0, &sa, 0);
		break;
	}
	case PA_IOPRIO:
		r = syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)word(a, 0));
		break;
	case PA_AFFINITY:
		w = words(a, 0);
		r = sched_setaffinity(0, (size_t)a->nwords * 8, (cpu_set_t *)w);
		free(w);
		break;
	case PA_PERSONALITY:
		r = personality((unsigned long)word(a, 0));
		break;
	case PA_MEMPOLICY:
		w = words(a, 2);
		r = syscall(SYS_set_mempolicy, (int)word(a, 0), w, (unsigned long)word(a, 1));
		free(w);
		break;
	}
	if (r < 0)
		bail(errno, "%s", a->msg);
}

void berth_proc_attrs(const struct exec_plan *x, uint32_t phase)
{
	for (uint32_t i = 0; i < x->nattr; i++)
		if (x->attr[i].phase == phase)
			apply(&x->attr[i]);
}
