"""A throw-away PostgreSQL cluster for the tests: initdb + pg_ctl in a temporary folder.

Binaries come from the ``pgserver`` wheel (PostgreSQL 16 with pgvector, a dev dependency) or,
without it, from Debian's ``postgresql`` package. PostgreSQL refuses to run as root, so under
root (CI containers) the cluster runs as ``nobody``. It listens on a Unix socket in its own
folder and on a free TCP port of 127.0.0.1, trusting local connections.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def find_binaries() -> Path | None:
    """The folder holding initdb/pg_ctl/postgres, or None when PostgreSQL is not installed."""
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.origin:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if (bundled / "pg_ctl").is_file():
            return bundled
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "pg_ctl").is_file():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One PostgreSQL server; ``url(name)`` creates a fresh database and returns its URL."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="joytag-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "nobody"
            import pwd

            entry = pwd.getpwnam(self.user)
            os.chmod(self.folder, 0o755)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            for parent in self.binaries.parents:  # the bundled binaries may sit under /root
                if parent == Path("/"):
                    break
                os.chmod(parent, parent.stat().st_mode | 0o011)

    def _run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.binaries / arguments[0]), *arguments[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            check=check,
            cwd=self.folder,
            timeout=120,
        )

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            # fsync off: a test never crashes the machine, only the server (restart() kills it), and
            # a committed transaction's WAL is then in the OS's cache; synchronous_commit stays on.
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        """Stop the server at once (every connection is cut) and start it again."""
        self.stop("immediate")
        self.start()

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = name or f"lib_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def has_pgvector(self) -> bool:
        share = self.binaries.parent / "share"
        return any(share.glob("**/extension/vector.control")) or any(
            Path("/usr/share/postgresql").glob("*/extension/vector.control")
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
