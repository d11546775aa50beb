"""A PostgreSQL 15 server of the tests' own: initdb in a temporary directory, run as the postgres
user (initdb and postgres refuse root), listening on a unix socket only (no TCP). One per test
process, made on first use (server()); each ternd gets a database of its own (new_database()).

TERN_STORE=pg in the environment makes every ApiTernd (apilib.py) keep its store there instead of
data-dir/tern.db, so the API test files run unchanged against PostgreSQL (test_pg_store.py)."""
import atexit
import os
import shutil
import subprocess
import tempfile
import time

_SERVER = None


def bindir():
    """Where initdb, pg_ctl and psql are (outside PATH on Debian), or None."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        out = ""
    for d in (out, "/usr/lib/postgresql/15/bin"):
        if d and os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def available():
    """Why PostgreSQL tests cannot run here (a string), or None when they can."""
    if bindir() is None:
        return "no PostgreSQL server binaries (postgresql-15)"
    if shutil.which("runuser") is None:
        return "no runuser"
    try:
        import pwd
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user"
    if os.geteuid() != 0:
        return "not root (the server runs as the postgres user)"
    return None


class PgServer:
    def __init__(self):
        self.bin = bindir()
        self.dir = tempfile.mkdtemp(prefix="tern-pg-")
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir  # .s.PGSQL.5432 in it: short enough for sun_path
        self.log = os.path.join(self.dir, "postgres.log")
        self.count = 0
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o755)
        self._as_postgres([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--locale=C", "--no-sync"])

    def _as_postgres(self, argv, check=True, timeout=60):
        r = subprocess.run(["runuser", "-u", "postgres", "--"] + argv, capture_output=True, text=True,
                           timeout=timeout, cwd=self.dir)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (argv[0], r.returncode, r.stdout, r.stderr))
        return r

    def start(self):
        self._as_postgres([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60",
                           "-o", "-c listen_addresses='' -k %s -c max_connections=200" % self.sock, "start"])
        return self

    def stop(self, mode="fast"):
        """mode: fast (clients cut off, clean shutdown) or immediate (as if killed)."""
        self._as_postgres([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-m", mode, "stop"],
                          check=False)

    def running(self):
        r = self._as_postgres([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "status"], check=False)
        return r.returncode == 0

    def psql(self, sql, db="postgres"):
        r = subprocess.run([os.path.join(self.bin, "psql"), "-h", self.sock, "-U", "postgres", "-d", db, "-X",
                            "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql, r.stderr))
        return r.stdout.strip()

    def conninfo(self, db):
        return "host=%s user=postgres dbname=%s" % (self.sock, db)

    def url(self, db):
        return "postgresql://postgres@/%s?host=%s" % (db, self.sock)

    def new_database(self):
        """A new empty database; its libpq key=value location."""
        self.count += 1
        name = "tern_%d_%d" % (os.getpid(), self.count)
        self.psql("CREATE DATABASE %s" % name)
        return self.conninfo(name), name

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def server():
    """This process's PostgreSQL server, started on first use and stopped at exit."""
    global _SERVER
    if _SERVER is None:
        why = available()
        if why:
            raise RuntimeError("TERN_STORE=pg: " + why)
        _SERVER = PgServer().start()
        atexit.register(_SERVER.destroy)
    elif not _SERVER.running():
        _SERVER.start()
    return _SERVER


def wait_running(srv, timeout=30.0):
    deadline = time.time() + timeout
    while not srv.running():
        assert time.time() < deadline, "PostgreSQL did not come back"
        time.sleep(0.1)


class PgStandby(PgServer):
    """A streaming standby of primary (pg_basebackup -R), in a directory and on a socket of its own."""

    def __init__(self, primary):
        self.bin = primary.bin
        self.dir = tempfile.mkdtemp(prefix="tern-pgs-")
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir
        self.log = os.path.join(self.dir, "postgres.log")
        self.count = 0
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o755)
        self._as_postgres([os.path.join(self.bin, "pg_basebackup"), "-h", primary.sock, "-U", "postgres", "-D",
                           self.data, "-R", "-X", "stream", "-c", "fast", "--no-sync"])

    def promote(self):
        self._as_postgres([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "promote"])
