// SPDX-License-Identifier: MIT
/*
 * examples/demo.c - a guided tour of genpool on real memory.
 *
 * The story follows the order in which a driver meets the genalloc API:
 * make a pool, give it memory, allocate with each algorithm, hand a buffer
 * to a device, look at the pool's health, survive a bug, and let a device
 * object clean up after itself.  After every step that changes the pool,
 * a map shows each chunk, one character per 64-byte unit:
 *
 *   a-z  a unit of a named allocation from the story
 *   #    a unit of some other live allocation
 *   .    a free unit
 *
 * The demo checks what it narrates; any surprise makes it exit 1, so it
 * doubles as a smoke test (meson test --suite unit).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <genpool/genalloc.h>
#include <genpool/stats.h>

#define ORDER		6			/* 64-byte units */
#define UNIT		(1UL << ORDER)
#define REGION_SIZE	(64UL * 1024)
#define CHUNK_SIZE	4096UL			/* 64 units per chunk */
#define MAP_WIDTH	64			/* characters per map line */

/* Where the chunks sit inside the mmap'd region (see section 1). */
#define BANK_A_OFFSET	0x1000UL
#define WINDOW_OFFSET	0x8040UL		/* 64 bytes past a page */
#define SCRATCH_OFFSET	0xc000UL
/* A made-up bus address for the DMA window (a real driver reads it from
 * UIO's maps/ or /proc/self/pagemap). */
#define WINDOW_PHYS	0xfe000040ULL

static int surprises;

#define EXPECT(cond)							\
	do {								\
		if (!(cond)) {						\
			printf("  !! unexpected: %s (%s:%d)\n", #cond,	\
			       __FILE__, __LINE__);			\
			surprises++;					\
		}							\
	} while (0)

/* ------------------------------------------------------- bookkeeping */

/* A chunk as the demo knows it: its name for the narration. */
struct bank {
	const char *name;
	unsigned long start;
};

static struct bank banks[3];
static int nbanks;

/* Allocations the story talks about, with their map letter. */
struct named {
	char label;
	unsigned long addr;
	size_t size;
};

static struct named named[26];
static int nnamed;

static const char *bank_name(unsigned long addr)
{
	for (int i = 0; i < nbanks; i++)
		if (addr >= banks[i].start && addr - banks[i].start < CHUNK_SIZE)
			return banks[i].name;
	return "?";
}

static unsigned long bank_offset(unsigned long addr)
{
	for (int i = 0; i < nbanks; i++)
		if (addr >= banks[i].start && addr - banks[i].start < CHUNK_SIZE)
			return addr - banks[i].start;
	return addr;
}

/* Remember @addr under the next free letter; returns the letter. */
static char name_it(unsigned long addr, size_t size)
{
	char label = (char)('a' + nnamed);

	named[nnamed++] = (struct named){ label, addr, size };
	return label;
}

static struct named *find_named(char label)
{
	for (int i = 0; i < nnamed; i++)
		if (named[i].label == label)
			return &named[i];
	return NULL;
}

/* Print one allocation as "name: 256 bytes at bank+0x100". */
static void show(const char *what, char label, unsigned long addr, size_t size)
{
	if (!addr) {
		printf("  %-34s -> failed (%s)\n", what, strerror(errno));
		return;
	}
	printf("  %-34s -> [%c] %4zu bytes at %s+0x%03lx\n", what, label, size,
	       bank_name(addr), bank_offset(addr));
}

/* ----------------------------------------------------------- the map */

struct map_ctx {
	const struct gen_pool_chunk *chunk;
	char *cells;
};

static char label_of(unsigned long addr)
{
	for (int i = 0; i < nnamed; i++)
		if (named[i].addr == addr)
			return named[i].label;
	return '#';
}

/* gp_for_each_allocation() callback: paint the chunk's allocations. */
static void paint(struct gen_pool *pool, unsigned long addr, size_t size,
		  void *data)
{
	struct map_ctx *m = data;
	unsigned long first, n;
	char c;

	if (addr < m->chunk->start_addr || addr > m->chunk->end_addr)
		return;		/* another chunk's allocation */
	first = (addr - m->chunk->start_addr) >> ORDER;
	c = label_of(addr);
	for (n = 0; n < size >> ORDER; n++)
		m->cells[first + n] = c;
}

/* gen_pool_for_each_chunk() callback: one map line per chunk. */
static void draw_chunk(struct gen_pool *pool, struct gen_pool_chunk *chunk,
		       void *data)
{
	unsigned long units = (chunk->end_addr - chunk->start_addr + 1) >> ORDER;
	unsigned long per = (units + MAP_WIDTH - 1) / MAP_WIDTH, i, j;
	struct map_ctx m = { .chunk = chunk };
	char line[MAP_WIDTH + 1];

	m.cells = malloc(units);
	if (!m.cells)
		return;
	memset(m.cells, '.', units);
	gp_for_each_allocation(pool, paint, &m);

	/* Several units per character for big chunks: '.' only if all of
	 * the group is free, its letter if one allocation covers it all. */
	for (i = 0; i * per < units; i++) {
		char c = m.cells[i * per];

		for (j = i * per + 1; j < (i + 1) * per && j < units; j++)
			if (m.cells[j] != c)
				c = '#';
		line[i] = c;
	}
	line[i] = '\0';
	printf("    %-11s %s %5zu free\n", bank_name(chunk->start_addr), line,
	       gp_chunk_avail(chunk));
	free(m.cells);
}

static void draw(struct gen_pool *pool)
{
	printf("\n");
	gen_pool_for_each_chunk(pool, draw_chunk, NULL);
	printf("\n");
}

static void section(const char *title)
{
	printf("\n== %s ==\n", title);
}

/* --------------------------------------------------------- the story */

/* The owner cookie of bank A: any pointer the driver likes. */
static const char bank_a_owner[] = "bank A's driver data";

/* A misuse handler that narrates instead of printing to stderr. */
static void narrate_misuse(const struct gp_misuse_report *r, void *arg)
{
	int *count = arg;

	(*count)++;
	printf("  report: pool '%s': %s at %s+0x%03lx, %zu bytes: %s\n",
	       r->pool_name, gp_misuse_kind_name(r->kind), bank_name(r->addr),
	       bank_offset(r->addr), r->size, r->what);
}

static void goodbye(void *data)
{
	printf("  devm action: %s\n", (const char *)data);
}

static void free_named(struct gen_pool *pool, char label)
{
	struct named *n = find_named(label);

	gen_pool_free(pool, n->addr, n->size);
	n->addr = 0;
}

int main(void)
{
	struct genpool_data_align align = { .align = 256 };
	struct genpool_data_fixed fixed = { .offset = 0xc00 };
	struct gen_pool *pool, *scratch;
	struct gp_device *dev;
	struct gp_stats st;
	unsigned long addr, window, bank_a;
	unsigned char *region;
	dma_addr_t dma;
	void *owner, *p;
	int reports = 0, ret;
	char l;

	printf("genpool demo: the genalloc story on real memory\n");

	section("1. A pool and its memory");
	region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* Scribble on everything, so a zeroing allocation shows up later. */
	memset(region, 0xa5, REGION_SIZE);
	printf("  mmap'd %lu KiB at %p; the pool will manage parts of it\n",
	       REGION_SIZE / 1024, (void *)region);

	pool = gen_pool_create(ORDER, NUMA_NO_NODE);
	EXPECT(pool != NULL);
	if (!pool)
		return 1;
	gp_set_name(pool, "demo");
	printf("  gen_pool_create(%d, NUMA_NO_NODE): units of %lu bytes\n",
	       ORDER, UNIT);

	bank_a = (unsigned long)region + BANK_A_OFFSET;
	banks[nbanks++] = (struct bank){ "bank A", bank_a };
	ret = gen_pool_add_owner(pool, bank_a, GP_NO_PHYS, CHUNK_SIZE,
				 NUMA_NO_NODE, (void *)bank_a_owner);
	EXPECT(ret == 0);
	printf("  gen_pool_add_owner: bank A, 4 KiB at region+0x%lx, no phys,\n"
	       "                      owner cookie \"%s\"\n",
	       BANK_A_OFFSET, bank_a_owner);

	window = (unsigned long)region + WINDOW_OFFSET;
	banks[nbanks++] = (struct bank){ "dma window", window };
	ret = gen_pool_add_virt(pool, window, WINDOW_PHYS, CHUNK_SIZE,
				NUMA_NO_NODE);
	EXPECT(ret == 0);
	printf("  gen_pool_add_virt:  dma window, 4 KiB at region+0x%lx, phys 0x%llx\n"
	       "                      (it starts 64 bytes past a page: that will\n"
	       "                      matter for alignment)\n",
	       WINDOW_OFFSET, (unsigned long long)WINDOW_PHYS);
	printf("  gen_pool_size = %zu, gen_pool_avail = %zu\n",
	       gen_pool_size(pool), gen_pool_avail(pool));
	EXPECT(gen_pool_size(pool) == 2 * CHUNK_SIZE);
	printf("  The newest chunk is searched first, so the window is listed"
	       " (and used) first:\n");
	draw(pool);

	section("2. First fit, the default algorithm");
	{
		static const size_t sizes[] = { 256, 100, 512, 64, 192 };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			char what[64];

			addr = gen_pool_alloc(pool, sizes[i]);
			EXPECT(addr != 0);
			l = name_it(addr, sizes[i]);
			snprintf(what, sizeof(what), "gen_pool_alloc(%zu)", sizes[i]);
			show(what, l, addr, sizes[i]);
			memset((void *)addr, l, sizes[i]);	/* it is real memory */
		}
	}
	printf("  100 bytes took two units: sizes round up to whole units.\n");
	EXPECT(find_named('c')->addr - find_named('b')->addr == 2 * UNIT);
	free_named(pool, 'b');
	free_named(pool, 'd');
	printf("  gen_pool_free [b] and [d]: two holes, of 128 and of 64 bytes\n");
	draw(pool);

	addr = gen_pool_alloc_owner(pool, 3072, &owner);
	l = name_it(addr, 3072);
	show("gen_pool_alloc_owner(3072)", l, addr, 3072);
	printf("  The window has no free run of 3 KiB left, so bank A gave it;\n"
	       "  owner came back as \"%s\".\n",
	       owner ? (const char *)owner : "(null)");
	EXPECT(owner == bank_a_owner);
	draw(pool);

	section("3. Other algorithms");
	gen_pool_set_algo(pool, gen_pool_best_fit, NULL);
	addr = gen_pool_alloc(pool, 64);
	l = name_it(addr, 64);
	show("gen_pool_best_fit(64)", l, addr, 64);
	printf("  First fit would have used the 128-byte hole at +0x100; best fit\n"
	       "  picks the smallest hole that fits (the lowest one on a tie).\n");
	EXPECT(bank_offset(addr) == 0x380);
	gen_pool_set_algo(pool, NULL, NULL);	/* back to first fit */

	addr = gen_pool_alloc_algo(pool, 64, gen_pool_first_fit_align, &align);
	l = name_it(addr, 64);
	show("first_fit_align(64, align 256)", l, addr, 64);
	printf("  address %% 256 = %lu: the alignment is absolute, so inside the\n"
	       "  window (which starts at ...040) the offset is 0x%lx, not a\n"
	       "  multiple of 256.\n", addr % 256, bank_offset(addr));
	EXPECT(addr % 256 == 0);

	addr = gen_pool_alloc_algo(pool, 192, gen_pool_first_fit_order_align,
				   NULL);
	l = name_it(addr, 192);
	show("first_fit_order_align(192)", l, addr, 192);
	printf("  192 bytes = 3 units, rounded to 4: the offset from the chunk start\n"
	       "  is a multiple of 256 (0x%lx), the address is not (%% 256 = %lu).\n",
	       bank_offset(addr), addr % 256);
	EXPECT(bank_offset(addr) % 256 == 0);

	addr = gen_pool_alloc_algo(pool, 128, gen_pool_fixed_alloc, &fixed);
	l = name_it(addr, 128);
	show("fixed_alloc(128, offset 0xc00)", l, addr, 128);
	addr = gen_pool_alloc_algo(pool, 128, gen_pool_fixed_alloc, &fixed);
	l = name_it(addr, 128);
	show("fixed_alloc(128, offset 0xc00)", l, addr, 128);
	printf("  The offset counts from each chunk's start: the window's 0xc00\n"
	       "  was taken, so the next chunk, bank A, gave its own 0xc00.\n");
	EXPECT(addr == bank_a + 0xc00);
	errno = 0;
	addr = gen_pool_alloc_algo(pool, 128, gen_pool_fixed_alloc, &fixed);
	show("fixed_alloc(128, offset 0xc00)", '-', addr, 128);
	EXPECT(addr == 0 && errno == ENOMEM);
	printf("  A third time no chunk has 0xc00 free: 0, errno ENOMEM.\n");
	draw(pool);

	section("4. Buffers for a device");
	p = gen_pool_dma_alloc(pool, 256, &dma);
	addr = (unsigned long)p;
	l = name_it(addr, 256);
	show("gen_pool_dma_alloc(256)", l, addr, 256);
	printf("  dma = 0x%llx: the window's phys plus the offset;\n"
	       "  gen_pool_virt_to_phys agrees: 0x%llx\n",
	       (unsigned long long)dma,
	       (unsigned long long)gen_pool_virt_to_phys(pool, addr));
	EXPECT(dma == WINDOW_PHYS + bank_offset(addr));

	p = gen_pool_dma_zalloc_align(pool, 512, &dma, 512);
	addr = (unsigned long)p;
	l = name_it(addr, 512);
	show("gen_pool_dma_zalloc_align(512, 512)", l, addr, 512);
	EXPECT(p && addr % 512 == 0);
	EXPECT(p && ((unsigned char *)p)[0] == 0 && ((unsigned char *)p)[511] == 0);
	printf("  The region was filled with 0xa5; this buffer reads back zeros,\n"
	       "  the only write genpool ever makes to managed memory.\n");
	printf("  In bank A there is no phys: gen_pool_virt_to_phys(bank A) = 0x%llx\n",
	       (unsigned long long)gen_pool_virt_to_phys(pool, bank_a));
	EXPECT(gen_pool_virt_to_phys(pool, bank_a) == GP_NO_PHYS);
	printf("  gen_pool_has_addr(window, 4 KiB) = %d, (window, 4 KiB + 1) = %d\n",
	       gen_pool_has_addr(pool, window, CHUNK_SIZE),
	       gen_pool_has_addr(pool, window, CHUNK_SIZE + 1));
	draw(pool);

	section("5. How healthy is the pool?");
	gp_get_stats(pool, &st);
	printf("  gp_get_stats: %zu chunks, %zu bytes, %zu free, %zu in use\n"
	       "                %llu live allocations, %llu failed allocations\n"
	       "                largest free run %zu bytes, fragmentation %.2f\n",
	       st.chunks, st.size, st.avail, st.in_use,
	       (unsigned long long)st.allocations,
	       (unsigned long long)st.failures, st.largest_free,
	       st.fragmentation);
	printf("  Fragmentation is 1 - largest free run / free bytes: %zu free\n"
	       "  bytes, but no request above %zu bytes can succeed.\n",
	       st.avail, st.largest_free);
	EXPECT(st.failures == 1 && st.chunks == 2);
	EXPECT(st.in_use == st.size - st.avail);
	printf("  gp_stats_print(pool, stdout, 0): the same, per chunk, and the\n"
	       "  free holes by size class, as a table:\n\n");
	fflush(stdout);
	EXPECT(gp_stats_print(pool, stdout, 0) == 0);
	printf("\n  ... and for programs, GP_STATS_JSON (here without the chunks\n"
	       "  and holes, GP_STATS_NO_CHUNKS | GP_STATS_NO_HOLES):\n\n");
	EXPECT(gp_stats_print(pool, stdout, GP_STATS_JSON | GP_STATS_NO_CHUNKS |
			      GP_STATS_NO_HOLES) == 0);

	section("6. A bug, caught");
	gp_set_misuse_policy(pool, GP_MISUSE_REPORT);
	gp_set_misuse_handler(pool, narrate_misuse, &reports);
	printf("  The default policy aborts, like the kernel's BUG(); this pool\n"
	       "  now reports and carries on.  Freeing [a] twice:\n");
	addr = find_named('a')->addr;
	free_named(pool, 'a');
	gen_pool_free(pool, addr, 256);
	EXPECT(reports == 1);
	printf("  The checked variant returns an errno instead of reporting:\n");
	ret = gp_free_checked(pool, find_named('c')->addr, 64, NULL);
	printf("  gp_free_checked([c], 64 bytes instead of 512) = %d (-EBADSLT)\n",
	       ret);
	EXPECT(ret == -EBADSLT);
	ret = gp_free_checked(pool, (unsigned long)region, 64, NULL);
	printf("  gp_free_checked(region start, no chunk there)  = %d (-EFAULT)\n",
	       ret);
	EXPECT(ret == -EFAULT && reports == 1);
	printf("  Only the first, legitimate free of [a] changed the pool:\n");
	draw(pool);

	section("7. A pool that belongs to a device");
	dev = gp_device_create("sram0");
	scratch = devm_gen_pool_create(dev, 5, NUMA_NO_NODE, "scratch");
	EXPECT(scratch != NULL);
	printf("  devm_gen_pool_create(sram0, 5, NUMA_NO_NODE, \"scratch\")\n");
	EXPECT(gen_pool_get(dev, "scratch") == scratch);
	printf("  gen_pool_get(sram0, \"scratch\") finds it again\n");
	gp_devm_add_action(dev, goodbye,
			   "released first: the newest resource goes first");
	ret = gen_pool_add(scratch, (unsigned long)region + SCRATCH_OFFSET,
			   2048, NUMA_NO_NODE);
	EXPECT(ret == 0);
	addr = gen_pool_alloc(scratch, 1000);
	printf("  scratch: 2 KiB of 32-byte units, gen_pool_alloc(1000) at "
	       "region+0x%lx\n", addr - (unsigned long)region);
	EXPECT(addr != 0);
	gen_pool_free(scratch, addr, 1000);
	printf("  gp_device_destroy(sram0) releases what the device owns:\n");
	gp_device_destroy(dev);
	printf("  ... and the scratch pool is gone with it.  (gen_pool_destroy on a\n"
	       "  device's pool is misuse: the device owns it.)\n");

	section("8. Tidying up");
	printf("  gp_for_each_allocation counts %ld live allocations; freeing them\n",
	       gp_for_each_allocation(pool, NULL, NULL));
	for (int i = 0; i < nnamed; i++) {
		if (!named[i].addr)
			continue;
		gen_pool_free_owner(pool, named[i].addr, named[i].size, &owner);
		if (owner)
			printf("  freed [%c]; gen_pool_free_owner says its owner is \"%s\"\n",
			       named[i].label, (const char *)owner);
	}
	EXPECT(gen_pool_avail(pool) == gen_pool_size(pool));
	ret = gp_destroy_checked(pool);
	printf("  gp_destroy_checked = %d; the memory itself is ours to unmap\n",
	       ret);
	EXPECT(ret == 0);
	munmap(region, REGION_SIZE);

	if (surprises) {
		printf("\n%d unexpected result(s)\n", surprises);
		return 1;
	}
	printf("\nThe end: every step behaved as told.\n");
	return 0;
}
