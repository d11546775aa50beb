/* A bump allocator made of chunks (1 KiB doubling to 64 KiB), freed all at once: holds one zone
 * snapshot's data. */
#pragma once
#include <stddef.h>

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t total; /* bytes handed out, for reporting */
};

void arena_init(struct arena *a);
/* 8-byte aligned memory, or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_dup(struct arena *a, const void *src, size_t size);
void arena_free(struct arena *a);
