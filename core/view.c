// SPDX-License-Identifier: MIT
/*
 * core/view.c - the plain view of a chunk: its busy bits in the kernel's
 * layout (one bit per unit, 64 per word), which a user's own algorithm is
 * handed as the chunk's bitmap, as in the kernel.
 *
 * The unit map (bitmap.h) is the truth; the view exists only for chunks a
 * user algorithm has run on (one more bit per unit), and is then kept in
 * step by every claim and release.  It is made without stopping anyone:
 *
 *   a thread changing the unit map: RMW of a unit-map word (T), then a
 *   seq_cst load of c->view (P), then, if there is a view, the same change
 *   in the view with an atomic OR / AND (M);
 *
 *   the maker: publishes the view, all busy, with a seq_cst CAS of c->view
 *   (S); then for each view word: reads the unit map (R1), CASes the word
 *   to that value (C), reads the unit map again (R2) and redoes the word
 *   if it changed.
 *
 * If P saw no view, P precedes S in the seq_cst order, so T < S < R1 and
 * the maker copies T's effect.  If P saw the view, M applies T's effect;
 * should C overwrite it with an older value, then T < M < C < R2, so R2
 * differs from R1 and the word is redone from the newer unit map.  Changes
 * of different units in one word commute; changes of one unit are ordered
 * by the program (a free follows the allocation it frees).  So once every
 * change in flight has finished, the view equals the unit map.  Until then
 * a user algorithm may see a unit free that was just claimed (the claim
 * fails, the words are resynced and the algorithm asked again) or busy
 * that was just freed (as with the kernel's own racing frees).
 */
#include "pool_internal.h"

/* Make view word @i equal the unit map (steps R1, C, R2 above). */
static void sync_word(struct gp_chunk *c, unsigned long *view, unsigned long i)
{
	unsigned long want = gpi_umap_busy64_sc(c->um, i), old, again;

	old = __atomic_load_n(&view[i], __ATOMIC_SEQ_CST);
	for (;;) {
		if (old == want || __atomic_compare_exchange_n(
			    &view[i], &old, want, false, __ATOMIC_SEQ_CST,
			    __ATOMIC_SEQ_CST)) {
			again = gpi_umap_busy64_sc(c->um, i);
			if (again == want)
				return;
			want = again;
			old = __atomic_load_n(&view[i], __ATOMIC_SEQ_CST);
		}
	}
}

void gpi_view_resync(struct gp_chunk *c, unsigned long bit, unsigned long nr)
{
	unsigned long *view = __atomic_load_n(&c->view, __ATOMIC_SEQ_CST);

	if (!view)
		return;
	for (unsigned long i = bit / GP_WORD_BITS;
	     i * GP_WORD_BITS < bit + nr && i < gpi_bitmap_words(c->nbits); i++)
		sync_word(c, view, i);
}

unsigned long *gpi_view_get(struct gp_chunk *c)
{
	unsigned long words = gpi_bitmap_words(c->nbits), *view, *fresh;

	view = __atomic_load_n(&c->view, __ATOMIC_SEQ_CST);
	if (view && __atomic_load_n(&c->view_ready, __ATOMIC_ACQUIRE))
		return view;
	if (!view) {
		fresh = gpi_meta_zalloc(words * sizeof(unsigned long),
					c->pub.nid);
		if (!fresh)
			return NULL;
		for (unsigned long i = 0; i < words; i++)
			fresh[i] = ~0UL;
		view = NULL;
		if (__atomic_compare_exchange_n(&c->view, &view, fresh, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			view = fresh;
		else
			gpi_meta_free(fresh, words * sizeof(unsigned long));
	}
	/* Every thread that finds the view not yet in step helps: the
	 * word syncs are idempotent, and none returns a view still all
	 * busy. */
	for (unsigned long i = 0; i < words; i++)
		sync_word(c, view, i);
	__atomic_store_n(&c->view_ready, true, __ATOMIC_RELEASE);
	return view;
}

void gpi_view_change(struct gp_chunk *c, unsigned long bit, unsigned long nr,
		     bool busy)
{
	unsigned long *view = __atomic_load_n(&c->view, __ATOMIC_SEQ_CST);
	unsigned long end = bit + nr, mask;

	for (unsigned long i = bit / GP_WORD_BITS; i * GP_WORD_BITS < end; i++) {
		mask = gpi_bitmap_word_mask(bit, end, i);
		if (busy)
			__atomic_fetch_or(&view[i], mask, __ATOMIC_SEQ_CST);
		else
			__atomic_fetch_and(&view[i], ~mask, __ATOMIC_SEQ_CST);
	}
}
