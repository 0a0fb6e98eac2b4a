/* SPDX-License-Identifier: MIT */
/*
 * percpu/rseq_x86_64.h - the hit path: a push and a pop of one magazine of
 * the current CPU, each a restartable sequence (rseq) critical section.
 *
 * The area is glibc's (its offset from the thread pointer is
 * __rseq_offset); we read cpu_id at offset 4 and write only rseq_cs at
 * offset 8, the one field user space owns.  A section:
 *   0: point rseq_cs at the section's descriptor;
 *   1: read cpu_id; find this CPU's gp_pcpu (NULL when it has none or a
 *      drainer holds it: leave with "not done"); check the magazine (empty or full: leave);
 *      move the address; bump the hit counter; then the one committing
 *      store, of the new count;
 *   2: the end.
 * If the thread is preempted, migrated or signalled between 1 and 2, the
 * kernel moves it to the abort handler (4), which starts again at 0.  Up
 * to the commit nothing is visible to another thread on this CPU: the
 * hit counter may count an aborted attempt, nothing else can.  The abort
 * handler is out of line, after the signature the kernel checks
 * (0x53053053, glibc's RSEQ_SIG on x86, as the displacement of a ud1 so
 * that it also disassembles as one instruction).
 */
#ifndef GENPOOL_PERCPU_RSEQ_X86_64_H
#define GENPOOL_PERCPU_RSEQ_X86_64_H

#include "cache_internal.h"

/* __rseq_offset, copied once (a hidden global is one RIP-relative load). */
extern long gpc_rseq_off __attribute__((visibility("hidden")));

/* The descriptor (struct rseq_cs: version, flags, start_ip,
 * post_commit_offset, abort_ip) and the out-of-line abort handler. */
#define GPC_RSEQ_DESC							\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n\t"						\
	"3:\n\t"							\
	".long 0, 0\n\t"						\
	".quad 1f, (2f - 1f), 4f\n\t"					\
	".popsection\n\t"
#define GPC_RSEQ_ABORT							\
	".pushsection .text.unlikely.gp_rseq_abort, \"ax\"\n\t"		\
	".byte 0x0f, 0xb9, 0x3d\n\t"					\
	".long 0x53053053\n\t"						\
	"4:\n\t"							\
	"jmp 0b\n\t"							\
	".popsection\n\t"
/* Enter the section and find the magazine: %[p] = this CPU's gp_pcpu +
 * @magoff, or leave for 2 with the result register still 0. */
#define GPC_RSEQ_ENTER(result)						\
	"0:\n\t"							\
	"lea 3b(%%rip), %[p]\n\t"					\
	"mov %[p], %%fs:8(%[off])\n\t"					\
	"1:\n\t"							\
	"xor %k[" result "], %k[" result "]\n\t"			\
	"mov %%fs:4(%[off]), %k[n]\n\t"					\
	"cmp %[ncpus], %[n]\n\t"					\
	"jae 2f\n\t"							\
	"mov (%[cpus],%[n],8), %[p]\n\t"				\
	"test %[p], %[p]\n\t"						\
	"jz 2f\n\t"							\
	"add %[magoff], %[p]\n\t"

/*
 * Pop the top of this CPU's magazine at @magoff; @count_insn bumps its
 * alloc hit counter (or is empty).  Returns the address, 0 if the
 * magazine was empty, the CPU has no state or a drainer holds it.
 */
#define GPC_RSEQ_POP(count_insn)					\
	GPC_RSEQ_DESC							\
	GPC_RSEQ_ENTER("addr")						\
	"mov (%[p]), %k[n]\n\t"						\
	"test %k[n], %k[n]\n\t"						\
	"jz 2f\n\t"							\
	"mov 8(%[p]), %[addr]\n\t"					\
	"mov -8(%[addr],%[n],8), %[addr]\n\t"				\
	count_insn							\
	"dec %k[n]\n\t"							\
	"mov %k[n], (%[p])\n\t"						\
	"2:\n\t"							\
	GPC_RSEQ_ABORT

/* Push @addr onto this CPU's magazine at @magoff; @count_insn bumps its
 * free hit counter.  Returns true, or false if the magazine was full, the
 * CPU has no state or a drainer holds it. */
#define GPC_RSEQ_PUSH(count_insn)					\
	GPC_RSEQ_DESC							\
	GPC_RSEQ_ENTER("ok")						\
	"mov (%[p]), %k[n]\n\t"						\
	"cmp 4(%[p]), %k[n]\n\t"					\
	"jae 2f\n\t"							\
	"mov 8(%[p]), %[ok]\n\t"					\
	"mov %[addr], (%[ok],%[n],8)\n\t"				\
	count_insn							\
	"inc %k[n]\n\t"							\
	"mov $1, %k[ok]\n\t"						\
	"mov %k[n], (%[p])\n\t"						\
	"2:\n\t"							\
	GPC_RSEQ_ABORT

#define GPC_RSEQ_INPUTS							\
	[cpus] "r"(c->cpus), [ncpus] "r"(c->ncpus),			\
	[magoff] "r"((unsigned long)magoff), [off] "r"(gpc_rseq_off)

/* Define @name, a pop (with @count_insn bumping the alloc hit counter, or
 * not) or a push (the free hit counter). */
#define GPC_DEFINE_POP(name, count_insn)				\
	static inline __attribute__((always_inline)) unsigned long	\
	name(const struct gp_cache *c, uint16_t magoff)			\
	{								\
		unsigned long addr, p, n;				\
									\
		__asm__ __volatile__(GPC_RSEQ_POP(count_insn)		\
				     : [addr] "=&r"(addr), [p] "=&r"(p),	\
				       [n] "=&r"(n)			\
				     : GPC_RSEQ_INPUTS			\
				     : "memory", "cc");			\
		return addr;						\
	}
#define GPC_DEFINE_PUSH(name, count_insn)				\
	static inline __attribute__((always_inline)) bool		\
	name(const struct gp_cache *c, uint16_t magoff, unsigned long addr) \
	{								\
		unsigned long ok, p, n;					\
									\
		__asm__ __volatile__(GPC_RSEQ_PUSH(count_insn)		\
				     : [ok] "=&r"(ok), [p] "=&r"(p),	\
				       [n] "=&r"(n)			\
				     : [addr] "r"(addr), GPC_RSEQ_INPUTS	\
				     : "memory", "cc");			\
		return ok;						\
	}

/* The hit path's pop and push count hits; a refill's pushes and a
 * flush's pops do not. */
GPC_DEFINE_POP(gpc_rseq_pop, "incq 16(%[p])\n\t")
GPC_DEFINE_POP(gpc_rseq_pop_quiet, "")
GPC_DEFINE_PUSH(gpc_rseq_push, "incq 24(%[p])\n\t")
GPC_DEFINE_PUSH(gpc_rseq_push_quiet, "")

/* The CPU this thread runs on, from the rseq area (-1 or -2 if the
 * kernel never registered it for this thread). */
static inline long gpc_rseq_cpu(void)
{
	uint32_t cpu;

	__asm__ __volatile__("mov %%fs:4(%1), %0"
			     : "=r"(cpu)
			     : "r"(gpc_rseq_off));
	return (int32_t)cpu;
}

#endif /* GENPOOL_PERCPU_RSEQ_X86_64_H */
