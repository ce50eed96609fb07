/*
 * Bounds-checked readers of the records the parent sends the stub (host
 * byte order): the exec record (cexec.c) and the init plan (cinit.c). A
 * read past the end sets bad and returns zero/NULL; callers check bad once.
 */
#ifndef BERTH_RECORD_H
#define BERTH_RECORD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"

struct cursor {
	const char *p;
	uint32_t left;
	int bad;
};

static inline const void *take(struct cursor *c, uint32_t n)
{
	if (c->bad || n > c->left) {
		c->bad = 1;
		return NULL;
	}
	const void *r = c->p;
	c->p += n;
	c->left -= n;
	return r;
}

static inline uint32_t u32(struct cursor *c)
{
	uint32_t v = 0;
	const void *p = take(c, 4);
	if (p)
		memcpy(&v, p, 4);
	return v;
}

static inline uint64_t u64(struct cursor *c)
{
	uint64_t v = 0;
	const void *p = take(c, 8);
	if (p)
		memcpy(&v, p, 8);
	return v;
}

/*
 * A NUL-terminated string of len bytes (the NUL included). An earlier NUL
 * would silently cut the string short (a cwd of "/a\0b" would become "/a").
 */
static inline const char *str(struct cursor *c)
{
	uint32_t n = u32(c);
	const char *s = take(c, n);
	if (s == NULL || n == 0 || memchr(s, '\0', n) != s + n - 1) {
		c->bad = 1;
		return NULL;
	}
	return s;
}

/* count NUL-terminated strings packed in len bytes, pointed to from a new array. */
static inline char **strv(struct cursor *c, uint32_t extra)
{
	uint32_t count = u32(c);
	uint32_t n = u32(c);
	const char *s = take(c, n);
	if (s == NULL || count > n || count > MAX_BOOTSTRAP)
		goto bad;
	char **v = calloc((size_t)count + extra + 1, sizeof(char *));
	if (v == NULL)
		goto bad;
	uint32_t off = 0;
	for (uint32_t i = 0; i < count; i++) {
		const char *end = off < n ? memchr(s + off, '\0', n - off) : NULL;
		if (end == NULL) {
			free(v);
			goto bad;
		}
		v[i] = (char *)s + off;
		off = (uint32_t)(end - s) + 1;
	}
	if (off != n) {
		free(v);
		goto bad;
	}
	return v;
bad:
	c->bad = 1;
	return NULL;
}

#endif
