/* SPDX-License-Identifier: MIT */
/*
 * core/thread_slot.h - what core keeps per thread: a slot number for the
 * chunks' per-thread byte counters, where the thread's first fits start
 * after it met contention, and the last unit-map group it changed.
 *
 * Up to GP_THREAD_SLOTS live threads own a slot each; a thread's slot
 * returns to the pool of free slots when it exits, and its counters pass
 * to the next owner (they are partial sums, so nothing is lost).  Threads
 * beyond that share slot GP_THREAD_SLOTS, updated with atomic adds.
 */
#ifndef GENPOOL_CORE_THREAD_SLOT_H
#define GENPOOL_CORE_THREAD_SLOT_H

#define GP_THREAD_SLOTS 16

struct gpi_thread {
	int slot;			/* owned slot, GP_THREAD_SLOTS, or -1 */
	unsigned long chunk;		/* serial of the chunk @start is for */
	unsigned long start;		/* first-fit start in that chunk */
	unsigned long calm;		/* uncontended claims since then */
	/* The busy word of the unit-map group this thread changed last, and
	 * its value as the change left it (bitmap.h): found otherwise,
	 * another thread changed it since. */
	const unsigned long *seen_at;
	unsigned long seen_busy;
};

extern __thread struct gpi_thread gpi_self
	__attribute__((tls_model("initial-exec")));

/* Take a slot for the calling thread (first use). */
int gpi_thread_register(void);

/* The calling thread's slot. */
static inline int gpi_thread_slot(void)
{
	int s = gpi_self.slot;

	return s >= 0 ? s : gpi_thread_register();
}

#endif /* GENPOOL_CORE_THREAD_SLOT_H */
