/* Which files changed, as inotify tells of the directories they are in: a hint of what to look at
 * first, never the only look. A change made through another path (a hard link elsewhere), on a
 * remote file system or lost to a full event queue is not told, so a caller still checks every
 * file, after these. No thread: events wait in the kernel's queue until filewatch_drain(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct filewatch;

/* NULL when inotify cannot be had (no memory, no more instances): then nothing is ever told. */
struct filewatch *filewatch_new(void);
void filewatch_free(struct filewatch *fw);
/* Watches the directory of the file at path (relative paths: to the working directory, as the
 * file is opened). A directory already watched costs a hash lookup. False when it could not be watched (no memory,
 * inotify's limit of watches, at most FILEWATCH_MAX_DIRS directories): changes there are then not told. */
#define FILEWATCH_MAX_DIRS 65536
bool filewatch_add(struct filewatch *fw, const char *path);
/* Calls fn(arg, path) for each file an event named since the last call, path being its name
 * behind the directory as filewatch_add() was given it (a file may come more than once). Returns false when events were
 * lost (the kernel's queue overflowed): then the caller cannot tell which files changed. */
bool filewatch_drain(struct filewatch *fw, void (*fn)(void *arg, const char *path), void *arg);
