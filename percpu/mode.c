// SPDX-License-Identifier: MIT
/*
 * percpu/mode.c - which mode a cache runs in, which CPU a thread is on,
 * and the fence that lets one thread empty another CPU's magazines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "cache_internal.h"
#if GP_PERCPU_RSEQ
#include <sys/rseq.h>
#include "rseq_x86_64.h"

long gpc_rseq_off;
#endif

/* Does the comma-separated list @list contain @word? */
static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *s = list; s && *s; s = strchr(s, ',')) {
		s += *s == ',';
		if (!strncmp(s, word, len) && (s[len] == ',' || !s[len]))
			return true;
	}
	return false;
}

unsigned int gpc_env_flags(void)
{
	const char *env = getenv("GENPOOL_CACHE");
	unsigned int flags = 0;

	if (has_word(env, "locked"))
		flags |= GP_CACHE_LOCKED;
	if (has_word(env, "checked"))
		flags |= GP_CACHE_CHECKED;
	return flags;
}

static long membarrier(int cmd, unsigned int flags, int cpu)
{
	return syscall(__NR_membarrier, cmd, flags, cpu);
}

#if GP_PERCPU_RSEQ
/* Registered once per process; the answer is kept. */
static pthread_once_t fence_once = PTHREAD_ONCE_INIT;
static int fence_registered;

static void register_fence(void)
{
	fence_registered =
		membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0,
			   0) == 0;
}
#endif

void gpc_choose_mode(unsigned int flags, enum gp_cache_mode *mode,
		     const char **reason)
{
	*mode = GP_CACHE_MODE_LOCKED;
	if (flags & GP_CACHE_LOCKED) {
		*reason = "forced (GP_CACHE_LOCKED or GENPOOL_CACHE=locked)";
		return;
	}
#if GP_PERCPU_RSEQ
	/* cpu_id (offset 4) and rseq_cs (8..15) must be in the area. */
	if (__rseq_size < 16) {
		*reason = "glibc registered no rseq area "
			  "(glibc.pthread.rseq=0, seccomp or old kernel)";
		return;
	}
	pthread_once(&fence_once, register_fence);
	if (!fence_registered) {
		*reason = "membarrier rseq fence unavailable";
		return;
	}
	gpc_rseq_off = __rseq_offset;
	*mode = GP_CACHE_MODE_RSEQ;
	*reason = "glibc's rseq area";
#else
	*reason = "built without rseq";
#endif
}

int gpc_fence(long cpu)
{
	/* One CPU where the kernel can target it (5.10+), else all. */
	if (cpu >= 0 &&
	    !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
			MEMBARRIER_CMD_FLAG_CPU, (int)cpu))
		return 0;
	return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) ? -errno
								       : 0;
}

/* Highest number in a CPU list such as "0-3,8-11", plus one; 0 if none. */
static unsigned long cpu_list_count(const char *list)
{
	unsigned long most = 0;

	for (const char *s = list; *s;) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);

		if (end == s)
			break;
		if (v + 1 > most)
			most = v + 1;
		s = *end ? end + 1 : end;
	}
	return most;
}

#define GPC_MAX_CPUS 65536
static pthread_once_t cpus_once = PTHREAD_ONCE_INIT;
static unsigned long possible_cpus;

static void count_possible_cpus(void)
{
	FILE *fp = fopen("/sys/devices/system/cpu/possible", "re");
	unsigned long more;
	const char *env;
	char line[256];

	if (fp) {
		if (fgets(line, sizeof(line), fp))
			possible_cpus = cpu_list_count(line);
		fclose(fp);
	}
	if (!possible_cpus) {
		long n = sysconf(_SC_NPROCESSORS_CONF);

		possible_cpus = n > 0 ? (unsigned long)n : 1;
	}
	/* Tests may ask for more CPUs than the machine has (never fewer:
	 * the rseq mode indexes by the real CPU number). */
	env = getenv("GENPOOL_CACHE_CPUS");
	more = env ? strtoul(env, NULL, 10) : 0;
	if (more > possible_cpus && more <= GPC_MAX_CPUS)
		possible_cpus = more;
}

unsigned long gpc_possible_cpus(void)
{
	pthread_once(&cpus_once, count_possible_cpus);
	return possible_cpus;
}

/* The locked mode's idea of this thread's CPU (cache_internal.h says
 * how it is used): forced by the test hook, or sched_getcpu() re-read
 * every GPC_CPU_REFRESH uses. */
#define GPC_CPU_REFRESH 64
__thread __attribute__((tls_model("initial-exec"))) int gpc_tls_cpu;
__thread __attribute__((tls_model("initial-exec"))) unsigned int gpc_tls_left;
static __thread __attribute__((tls_model("initial-exec"))) int tls_forced = -1;

void gpc_cpu_refresh(void)
{
	int cpu = tls_forced;

	if (cpu >= 0) {
		gpc_tls_cpu = cpu;
		gpc_tls_left = UINT_MAX;
		return;
	}
	cpu = sched_getcpu();
	gpc_tls_cpu = cpu < 0 ? 0 : (int)((unsigned long)cpu % gpc_possible_cpus());
	gpc_tls_left = GPC_CPU_REFRESH - 1;
}

GPC_EXPORT int gp_cache_set_thread_cpu(int cpu)
{
	if (cpu < -1 || (cpu >= 0 && (unsigned long)cpu >= gpc_possible_cpus()))
		return -EINVAL;
	tls_forced = cpu;
	gpc_tls_left = 0;	/* the next use re-reads */
	return 0;
}

uint64_t gpc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
