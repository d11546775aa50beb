/* A bump allocator made of chunks (1 KiB doubling to 64 KiB), freed all at once: holds one zone
 * snapshot's data. */
#include "lib/arena.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Chunks start small and double up to CHUNK_MAX: a zone of a few records (a hosting platform's
 * typical zone) takes a kilobyte or two, not 64 KiB; a big zone reaches 64 KiB chunks after six. */
#define CHUNK_MIN 1024
#define CHUNK_MAX (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(8) unsigned char data[];
};

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->total = 0;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		bool big = size > CHUNK_MAX / 4;
		size_t csize = size;
		if (!big) {
			csize = a->head ? a->head->size * 2 : CHUNK_MIN;
			if (csize > CHUNK_MAX)
				csize = CHUNK_MAX;
			while (csize < size)
				csize *= 2;
		}
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = csize;
		if (big && a->head) {
			/* a big block gets its own chunk behind the current one, which stays usable */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += size;
	a->total += size;
	return p;
}

void *arena_dup(struct arena *a, const void *src, size_t size)
{
	void *p = arena_alloc(a, size);
	if (p)
		memcpy(p, src, size);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->total = 0;
}
