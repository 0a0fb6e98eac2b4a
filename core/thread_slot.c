// SPDX-License-Identifier: MIT
/*
 * core/thread_slot.c - per-thread slots (thread_slot.h).
 *
 * A slot is taken from a bitmap with a CAS (acquire) and given back with an
 * atomic AND (release) by a thread-exit destructor, so the next owner of a
 * slot sees every counter update its previous owner made.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "thread_slot.h"

__thread struct gpi_thread gpi_self
	__attribute__((tls_model("initial-exec"))) = { .slot = -1 };

static unsigned long slots_used;	/* atomic; bit s: slot s is owned */
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

/* Thread exit: give the slot back (the key's value is slot + 1). */
static void release_slot(void *value)
{
	unsigned long s = (unsigned long)(uintptr_t)value - 1;

	__atomic_fetch_and(&slots_used, ~(1UL << s), __ATOMIC_RELEASE);
	gpi_self.slot = -1;
}

static void make_key(void)
{
	if (pthread_key_create(&slot_key, release_slot))
		slot_key = (pthread_key_t)-1;
}

int gpi_thread_register(void)
{
	unsigned long used = __atomic_load_n(&slots_used, __ATOMIC_RELAXED);
	unsigned long s;

	pthread_once(&slot_once, make_key);
	for (;;) {
		unsigned long free = ~used & ((1UL << GP_THREAD_SLOTS) - 1);

		if (!free || slot_key == (pthread_key_t)-1) {
			gpi_self.slot = GP_THREAD_SLOTS;
			return GP_THREAD_SLOTS;
		}
		s = (unsigned long)__builtin_ctzl(free);
		if (__atomic_compare_exchange_n(&slots_used, &used,
						used | 1UL << s, false,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
	}
	if (pthread_setspecific(slot_key, (void *)(uintptr_t)(s + 1))) {
		__atomic_fetch_and(&slots_used, ~(1UL << s), __ATOMIC_RELEASE);
		gpi_self.slot = GP_THREAD_SLOTS;
		return GP_THREAD_SLOTS;
	}
	gpi_self.slot = (int)s;
	return (int)s;
}
