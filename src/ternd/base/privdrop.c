/* Becoming server.user (privdrop.h): names looked up once, the switch checked step by step, the
 * one capability kept with raw capget/capset (no libcap for one bit). */
#include "ternd/base/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/error.h"

int privdrop_plan(const char *user, const char *group, uid_t euid, struct privdrop *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *allow = getenv("TERND_ALLOW_ROOT");
	if (!user) {
		if (group) {
			snprintf(err, errlen, "server.group \"%s\" needs server.user", group);
			return TERN_EINVAL;
		}
		if (euid == 0 && !(allow && strcmp(allow, "1") == 0)) {
			snprintf(err, errlen,
			         "ternd was started as root: set server.user to the user it should become (e.g. tern: "
			         "it keeps "
			         "only the right to bind ports below 1024), or server.user: root to run as root "
			         "(TERND_ALLOW_ROOT=1 in the environment allows it too)");
			return TERN_EINVAL;
		}
		return 0;
	}
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "server.user: there is no user \"%s\" on this system", user);
		return TERN_EINVAL;
	}
	gid_t gid = pw->pw_gid;
	if (group) {
		struct group *gr = getgrnam(group);
		if (!gr) {
			snprintf(err, errlen, "server.group: there is no group \"%s\" on this system", group);
			return TERN_EINVAL;
		}
		gid = gr->gr_gid;
	}
	if (pw->pw_uid == 0)
		return 0; /* root asked for by name: stays root */
	if (euid != 0 && euid != pw->pw_uid) {
		snprintf(err, errlen,
		         "server.user is \"%s\", but ternd was started as uid %u, neither root nor %s: it "
		         "cannot become that user",
		         user, (unsigned)euid, user);
		return TERN_EINVAL;
	}
	out->drop = euid == 0;
	out->uid = pw->pw_uid;
	out->gid = gid;
	snprintf(out->user, sizeof(out->user), "%s", user);
	if (group) {
		snprintf(out->group, sizeof(out->group), "%s", group);
	} else {
		struct group *gr = getgrgid(gid);
		snprintf(out->group, sizeof(out->group), "%s", gr ? gr->gr_name : "its group");
	}
	return 0;
}

/* Capabilities are per thread: these read and write the calling thread's sets, which threads
 * started afterwards inherit. */
typedef struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];

static int caps_get(caps d)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	memset(d, 0, sizeof(caps));
	return (int)syscall(SYS_capget, &h, d);
}

/* CAP_NET_BIND_SERVICE alone in the effective and permitted sets when bind, else nothing;
 * inheritable: nothing. */
static int caps_set(bool bind)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	caps d;
	memset(d, 0, sizeof(d));
	if (bind) {
		d[CAP_TO_INDEX(CAP_NET_BIND_SERVICE)].permitted = CAP_TO_MASK(CAP_NET_BIND_SERVICE);
		d[CAP_TO_INDEX(CAP_NET_BIND_SERVICE)].effective = CAP_TO_MASK(CAP_NET_BIND_SERVICE);
	}
	return (int)syscall(SYS_capset, &h, d);
}

/* The process's thread count from /proc/self/status, or 0 when it cannot be read. */
static long thread_count(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	char line[256];
	long n = 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Threads:", 8) == 0) {
			n = strtol(line + 8, NULL, 10);
			break;
		}
	fclose(f);
	return n;
}

int privdrop_shed(char *err, size_t errlen)
{
	if (geteuid() == 0)
		return 0;
	caps d;
	if (caps_get(d) == 0 && !d[0].permitted && !d[1].permitted && !d[0].inheritable && !d[1].inheritable &&
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) <= 0)
		return 0; /* nothing held */
	/* a thread started before would keep what this one gives up */
	long threads = thread_count();
	if (threads > 1) {
		snprintf(err, errlen, "giving up the capabilities left after binding: %ld threads already run",
		         threads);
		return TERN_EIO;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 || caps_set(false) < 0) {
		snprintf(err, errlen, "giving up the capabilities left after binding: %s", strerror(errno));
		return TERN_EIO;
	}
	if (caps_get(d) < 0 || d[0].effective || d[1].effective || d[0].permitted || d[1].permitted) {
		snprintf(err, errlen, "giving up the capabilities left after binding: some are still held");
		return TERN_EIO;
	}
	return 0;
}

bool privdrop_binds_low_ports(const struct privdrop *p)
{
	if (p->drop || geteuid() == 0)
		return true;
	caps d;
	return caps_get(d) == 0 &&
	       (d[CAP_TO_INDEX(CAP_NET_BIND_SERVICE)].effective & CAP_TO_MASK(CAP_NET_BIND_SERVICE));
}

int privdrop_apply(const struct privdrop *p, char *err, size_t errlen)
{
	if (!p->drop)
		return 0;
	const char *step;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		step = "prctl(PR_SET_KEEPCAPS)";
	else if (setgroups(1, &p->gid) < 0)
		step = "setgroups";
	else if (setgid(p->gid) < 0)
		step = "setgid";
	else if (setuid(p->uid) < 0)
		step = "setuid";
	else if (caps_set(true) < 0)
		step = "capset (keeping CAP_NET_BIND_SERVICE)";
	else if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		step = "prctl(PR_SET_NO_NEW_PRIVS)";
	else
		step = NULL;
	if (step) {
		snprintf(err, errlen, "becoming user %s (uid %u), group %s (gid %u): %s: %s", p->user, (unsigned)p->uid,
		         p->group, (unsigned)p->gid, step, strerror(errno));
		return TERN_EIO;
	}
	uid_t ruid, eu, su;
	gid_t rgid, eg, sg;
	if (getresuid(&ruid, &eu, &su) < 0 || getresgid(&rgid, &eg, &sg) < 0 || ruid != p->uid || eu != p->uid ||
	    su != p->uid || rgid != p->gid || eg != p->gid || sg != p->gid) {
		snprintf(err, errlen, "becoming user %s (uid %u): the process is not that user and group afterwards",
		         p->user, (unsigned)p->uid);
		return TERN_EIO;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		snprintf(err, errlen, "becoming user %s (uid %u): root could be taken back afterwards", p->user,
		         (unsigned)p->uid);
		return TERN_EIO;
	}
	return 0;
}

int privdrop_writable(const struct privdrop *p, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s", dir);
	/* the nearest directory that exists: ternd makes the rest */
	while (stat(path, &st) != 0) {
		char *slash = strrchr(path, '/');
		if (errno != ENOENT || !slash) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return TERN_EIO;
		}
		if (slash == path)
			slash[1] = 0;
		else
			*slash = 0;
	}
	bool ok;
	if (p->drop) { /* not that user yet (--check as root): its rights by owner and mode */
		if (st.st_uid == p->uid)
			ok = (st.st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
		else if (st.st_gid == p->gid)
			ok = (st.st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
		else
			ok = (st.st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
	} else {
		ok = access(path, W_OK | X_OK) == 0;
	}
	if (ok && S_ISDIR(st.st_mode))
		return 0;
	const char *who = p->user[0] ? p->user : "ternd's user";
	snprintf(err, errlen, "%s: %s cannot make files in %s (a %s owned by uid %u, gid %u, mode %03o)", dir, who,
	         path, S_ISDIR(st.st_mode) ? "directory" : "file, not a directory", (unsigned)st.st_uid,
	         (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	return TERN_EIO;
}

int privdrop_readable(const struct privdrop *p, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TERN_EIO;
	}
	bool ok;
	if (p->drop) { /* not that user yet (--check as root): its rights by owner and mode */
		if (st.st_uid == p->uid)
			ok = st.st_mode & S_IRUSR;
		else if (st.st_gid == p->gid)
			ok = st.st_mode & S_IRGRP;
		else
			ok = st.st_mode & S_IROTH;
	} else {
		ok = access(path, R_OK) == 0;
	}
	if (ok)
		return 0;
	const char *who = p->user[0] ? p->user : "ternd's user";
	snprintf(err, errlen, "%s: %s cannot read it (owned by uid %u, gid %u, mode %03o)", path, who,
	         (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
	return TERN_EIO;
}
