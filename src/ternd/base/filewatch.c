/* inotify on the directories of watched files (filewatch.h). */
#include "ternd/base/filewatch.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* What makes a file another one: written and closed, renamed or created in its place, its
 * attributes changed (touch), removed. */
#define EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB | IN_DELETE | IN_MODIFY)

struct dir {
	char *path; /* the files' paths up to their name, as written: "/etc/tern/zones/", "zones/", "" */
	int wd;
};

struct filewatch {
	int fd;
	struct dir *dirs; /* open addressing on the path's hash; at most half used */
	size_t mask, ndirs;
	struct dir **bywd; /* by watch descriptor (small numbers, from 1) */
	size_t nbywd;
	char *last; /* the directory of the last filewatch_add(), a shortcut for runs of one directory */
	size_t lastlen;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

struct filewatch *filewatch_new(void)
{
	struct filewatch *fw = calloc(1, sizeof(*fw));
	if (!fw)
		return NULL;
	fw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	fw->mask = 63;
	fw->dirs = calloc(fw->mask + 1, sizeof(*fw->dirs));
	if (fw->fd < 0 || !fw->dirs) {
		filewatch_free(fw);
		return NULL;
	}
	return fw;
}

void filewatch_free(struct filewatch *fw)
{
	if (!fw)
		return;
	if (fw->fd >= 0)
		close(fw->fd);
	for (size_t i = 0; fw->dirs && i <= fw->mask; i++)
		free(fw->dirs[i].path);
	free(fw->dirs);
	free(fw->bywd);
	free(fw->last);
	free(fw);
}

static struct dir *slot(const struct filewatch *fw, const char *dir, size_t len)
{
	size_t i = (size_t)hash(dir, len) & fw->mask;
	while (fw->dirs[i].path && (strlen(fw->dirs[i].path) != len || memcmp(fw->dirs[i].path, dir, len) != 0))
		i = (i + 1) & fw->mask;
	return &fw->dirs[i];
}

static bool grow(struct filewatch *fw)
{
	size_t size = (fw->mask + 1) * 2;
	struct dir *old = fw->dirs, *nd = calloc(size, sizeof(*nd));
	if (!nd)
		return false;
	size_t old_size = fw->mask + 1;
	fw->dirs = nd;
	fw->mask = size - 1;
	for (size_t i = 0; i < old_size; i++) {
		if (!old[i].path)
			continue;
		struct dir *d = slot(fw, old[i].path, strlen(old[i].path));
		*d = old[i];
		if (d->wd > 0 && (size_t)d->wd < fw->nbywd)
			fw->bywd[d->wd] = d;
	}
	free(old);
	return true;
}

/* Watches d's directory (again, after it went); false when inotify refuses. */
static bool watch(struct filewatch *fw, struct dir *d)
{
	/* the directory: the prefix without its last '/', the root, or the working directory */
	size_t len = strlen(d->path);
	char *dir = len > 1 ? strndup(d->path, len - 1) : strdup(len ? "/" : ".");
	int wd = dir ? inotify_add_watch(fw->fd, dir, EVENTS | IN_ONLYDIR) : -1;
	free(dir);
	if (wd <= 0)
		return false;
	if ((size_t)wd >= fw->nbywd) {
		size_t n = fw->nbywd ? fw->nbywd : 64;
		while (n <= (size_t)wd)
			n *= 2;
		struct dir **nb = realloc(fw->bywd, n * sizeof(*nb));
		if (!nb) {
			inotify_rm_watch(fw->fd, wd);
			return false;
		}
		memset(nb + fw->nbywd, 0, (n - fw->nbywd) * sizeof(*nb));
		fw->bywd = nb;
		fw->nbywd = n;
	}
	d->wd = wd;
	fw->bywd[wd] = d;
	return true;
}

bool filewatch_add(struct filewatch *fw, const char *path)
{
	if (!fw)
		return false;
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) + 1 : 0;
	if (fw->last && fw->lastlen == len && memcmp(fw->last, path, len) == 0)
		return true;
	struct dir *d = slot(fw, path, len);
	if (!d->path) {
		if (fw->ndirs >= FILEWATCH_MAX_DIRS || ((fw->ndirs + 1) * 2 > fw->mask + 1 && !grow(fw)))
			return false;
		d = slot(fw, path, len);
		char *copy = malloc(len + 1);
		if (!copy)
			return false;
		memcpy(copy, path, len);
		copy[len] = 0;
		d->path = copy;
		d->wd = -1;
		fw->ndirs++;
	}
	if (d->wd < 0 && !watch(fw, d))
		return false;
	char *last = realloc(fw->last, len + 1);
	if (last) {
		memcpy(last, path, len);
		last[len] = 0;
		fw->last = last;
		fw->lastlen = len;
	}
	return true;
}

/* The directory watched as wd, or NULL. */
static struct dir *dir_of(const struct filewatch *fw, int wd)
{
	return wd > 0 && (size_t)wd < fw->nbywd ? fw->bywd[wd] : NULL;
}

bool filewatch_drain(struct filewatch *fw, void (*fn)(void *arg, const char *path), void *arg)
{
	if (!fw)
		return false;
	_Alignas(struct inotify_event) char buf[16384];
	char path[8192];
	bool complete = true;
	for (;;) {
		ssize_t n = read(fw->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EAGAIN: nothing more */
		for (char *p = buf; p + sizeof(struct inotify_event) <= buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				complete = false;
				continue;
			}
			struct dir *d = dir_of(fw, e->wd);
			if (d && (e->mask & IN_IGNORED)) { /* the directory went: watched again when added again */
				fw->bywd[e->wd] = NULL;
				d->wd = -1;
				free(fw->last); /* so that the next filewatch_add() of it looks */
				fw->last = NULL;
				continue;
			}
			if (!d || !e->len)
				continue; /* events of the directory itself */
			size_t dl = strlen(d->path), nl = strnlen(e->name, e->len);
			if (dl + nl + 1 > sizeof(path))
				continue;
			memcpy(path, d->path, dl);
			memcpy(path + dl, e->name, nl);
			path[dl + nl] = 0;
			fn(arg, path);
		}
	}
	return complete;
}
