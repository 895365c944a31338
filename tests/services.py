"""Real external services for the tests, started in a temporary folder and stopped afterwards (session fixtures in
conftest.py): a throwaway PostgreSQL server and a single-node Slurm cluster (munge, MariaDB + slurmdbd for
accounting, slurmctld, slurmd) on 127.0.0.1.

PostgreSQL needs its server binaries (initdb, pg_ctl, psql: found on PATH, through ``pg_config --bindir`` or under
Debian's /usr/lib/postgresql/*/bin); Slurm needs Debian's slurm-wlm, slurmdbd, munge and mariadb-server and the
root user. ``make test`` run as root on Debian installs the packages. Without them the constructors raise
:class:`ServiceMissing` naming what is missing and how to install it: the fixtures skip those tests (fail them under
GAN_SWEEPS_REQUIRE_SERVICES=1, as CI does); a service that is there but does not start is always a failure. Facts
this relies on are in the design guide (GUIDE.md section 2): initdb and pg_ctl
refuse root, so they run as ``postgres``; munged runs as ``munge``; without accounting submitit waits forever for a
cancelled job, hence slurmdbd; daemons are stopped through their PID files, jobs cancelled first."""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 60


class ServiceError(RuntimeError):
    pass


class ServiceMissing(ServiceError):
    """What a service needs is not on this machine (a binary, the root user): the message says how to get it."""


PG_INSTALL = ("install PostgreSQL's server (Debian: apt-get install postgresql, or `make test` as root; macOS: brew "
              "install postgresql) or put its bin/ on PATH")
SLURM_INSTALL = "apt-get install slurm-wlm slurmdbd munge mariadb-server as root (`make test` as root does it)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], user: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    if user and os.geteuid() == 0:
        args = ["runuser", "-u", user, "--", *args]
    proc = subprocess.run(args, text=True, capture_output=True, timeout=START_TIMEOUT_S, **kwargs)
    if proc.returncode != 0:
        raise ServiceError(f"{' '.join(args)} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()}")
    return proc


def _wait_for(what: str, check, log: Path | None = None, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
    raise ServiceError(f"{what} did not start within {timeout:.0f} s\n{tail}")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop_pidfiles(*pidfiles: Path, timeout: float = 20) -> None:
    """SIGTERM the daemons named by ``pidfiles`` together, then wait for them (SIGKILL after ``timeout``)."""
    pids = []
    for pidfile in pidfiles:
        try:
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, 15)
            pids.append(pid)
        except (OSError, ValueError, IndexError):
            continue
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                break
            time.sleep(0.05)


# ---- PostgreSQL --------------------------------------------------------------------------------------------------
PG_PROGRAMS = ("initdb", "pg_ctl", "psql")


def postgres_bindir() -> Path:
    """The folder holding PostgreSQL's initdb, pg_ctl and psql: PATH's, then ``pg_config --bindir``'s, then Debian's
    newest /usr/lib/postgresql/<version>/bin (not on PATH there); ServiceMissing when none has all three."""
    candidates = [Path(found).parent for found in [shutil.which("initdb")] if found]
    if shutil.which("pg_config"):
        proc = subprocess.run(["pg_config", "--bindir"], text=True, capture_output=True, timeout=START_TIMEOUT_S)
        if proc.returncode == 0 and proc.stdout.strip():
            candidates.append(Path(proc.stdout.strip()))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(map(Path, debian), key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)],
                         reverse=True)
    for folder in candidates:
        if all((folder / name).is_file() for name in PG_PROGRAMS):
            return folder
    raise ServiceMissing(f"PostgreSQL's {', '.join(PG_PROGRAMS)} not found (searched PATH, `pg_config --bindir`, "
                         f"/usr/lib/postgresql/*/bin): {PG_INSTALL}")


class PostgresServer:
    """``postgresql://optuna:<password>@127.0.0.1:<port>/studies``; ``url`` (psycopg 3), ``url_without_password``,
    ``password``, ``new_database()`` for a test that needs an empty one."""

    USER = "optuna"

    def __init__(self) -> None:
        self.bin = postgres_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="gan_sweeps_pg_"))
        self.data = self.root / "data"
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(8)
        self.owner = "postgres" if os.geteuid() == 0 else None
        self._databases = 0

    def start(self) -> "PostgresServer":
        if self.owner:
            shutil.chown(self.root, self.owner, self.owner)
        pwfile = self.root / "superuser.pw"
        pwfile.write_text(secrets.token_hex(8) + "\n")
        if self.owner:
            shutil.chown(pwfile, self.owner, self.owner)
        _run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
              "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8"], user=self.owner)
        _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
              "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
             user=self.owner)
        self.sql(f"CREATE ROLE {self.USER} LOGIN PASSWORD '{self.password}'")
        return self

    def sql(self, statement: str, database: str = "postgres") -> str:
        return _run([str(self.bin / "psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres",
                     "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", statement], user=self.owner).stdout

    def new_database(self) -> str:
        """An empty database owned by the test role; returns its name."""
        self._databases += 1
        name = f"studies{self._databases}"
        self.sql(f"CREATE DATABASE {name} OWNER {self.USER}")
        return name

    def url(self, database: str, password: bool = True, driver: str = "postgresql") -> str:
        secret = f":{self.password}" if password else ""
        return f"{driver}://{self.USER}{secret}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.data.exists():
            try:
                _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], user=self.owner)
            except ServiceError:
                pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)


# ---- Slurm -------------------------------------------------------------------------------------------------------
class SlurmCluster:
    """A one-node cluster (this machine as 127.0.0.1) with accounting; ``env`` holds SLURM_CONF for commands."""

    def __init__(self) -> None:
        missing = [name for name in ("munged", "slurmctld", "slurmd", "slurmdbd", "mariadbd", "mariadb-install-db")
                   if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()]
        if missing:
            raise ServiceMissing(f"Slurm test cluster: {', '.join(missing)} not found: {SLURM_INSTALL}")
        if os.geteuid() != 0:
            raise ServiceMissing("Slurm test cluster: slurmd and munged must be started by root: run the tests as root")
        self.root = Path(tempfile.mkdtemp(prefix="gan_sweeps_slurm_"))
        self.root.chmod(0o755)
        self.env = {"SLURM_CONF": str(self.root / "slurm.conf")}
        self._mariadb: subprocess.Popen | None = None

    def _sbin(self, name: str) -> str:
        return shutil.which(name) or f"/usr/sbin/{name}"

    def start(self) -> "SlurmCluster":
        r = self.root
        for folder in ("munge", "state", "spool", "log", "db"):
            (r / folder).mkdir()
        shutil.chown(r / "munge", "munge", "munge")
        (r / "munge").chmod(0o711)
        key = r / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(128))
        shutil.chown(key, "munge", "munge")
        key.chmod(0o600)
        socket_path = r / "munge" / "munge.socket"
        _run([self._sbin("munged"), f"--socket={socket_path}", f"--key-file={key}",
              f"--pid-file={r / 'munge' / 'munged.pid'}", f"--log-file={r / 'munge' / 'munged.log'}",
              f"--seed-file={r / 'munge' / 'munged.seed'}"], user="munge")
        db_port, dbd_port, ctld_port, slurmd_port = (free_port() for _ in range(4))
        db_password = secrets.token_hex(8)
        self._start_mariadb(db_port, db_password)
        common = f"AuthType=auth/munge\nAuthInfo=socket={socket_path}\n"
        (r / "slurmdbd.conf").write_text(
            common + f"DbdHost=localhost\nDbdAddr=127.0.0.1\nDbdPort={dbd_port}\nSlurmUser=root\n"
            f"PidFile={r / 'slurmdbd.pid'}\nLogFile={r / 'log' / 'slurmdbd.log'}\n"
            f"StorageType=accounting_storage/mysql\nStorageHost=127.0.0.1\nStoragePort={db_port}\n"
            f"StorageUser=slurm\nStoragePass={db_password}\nStorageLoc=slurm_acct_db\n")
        (r / "slurmdbd.conf").chmod(0o600)
        hostname = socket.gethostname().split(".")[0]
        node = _run([self._sbin("slurmd"), "-C"]).stdout
        cpus = int(re.search(r"CPUs=(\d+)", node).group(1))
        memory = int(int(re.search(r"RealMemory=(\d+)", node).group(1)) * 0.9)
        self.cpus = cpus
        (r / "slurm.conf").write_text(
            common + f"ClusterName=gansweeps\nSlurmctldHost={hostname}(127.0.0.1)\nSlurmctldPort={ctld_port}\n"
            f"SlurmdPort={slurmd_port}\nSlurmUser=root\nCredType=cred/munge\nStateSaveLocation={r / 'state'}\n"
            f"SlurmdSpoolDir={r / 'spool'}\nSlurmctldPidFile={r / 'slurmctld.pid'}\nSlurmdPidFile={r / 'slurmd.pid'}\n"
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}\nSlurmdLogFile={r / 'log' / 'slurmd.log'}\n"
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\n"
            "SelectTypeParameters=CR_CPU\nMpiDefault=none\nMailProg=/bin/true\nReturnToService=2\nKillWait=10\n"
            f"AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\n"
            f"AccountingStoragePort={dbd_port}\nAccountingStoragePass={socket_path}\n"
            "JobAcctGatherType=jobacct_gather/none\n"
            f"NodeName={hostname} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN\n"
            f"PartitionName=debug Nodes={hostname} Default=YES MaxTime=INFINITE State=UP\n")
        env = {**os.environ, **self.env}
        _run([self._sbin("slurmdbd")], env=env)
        _wait_for("slurmdbd", lambda: _listening(dbd_port), r / "log" / "slurmdbd.log")
        _run([self._sbin("slurmctld")], env=env)
        _run([self._sbin("slurmd")], env=env)
        _wait_for("the Slurm node", lambda: "idle" in subprocess.run(
            ["sinfo", "-h", "-o", "%t"], env=env, text=True, capture_output=True).stdout, r / "log" / "slurmctld.log")
        return self

    def _start_mariadb(self, port: int, password: str) -> None:
        r = self.root
        _run(["mariadb-install-db", "--user=root", f"--datadir={r / 'db'}", "--auth-root-authentication-method=socket",
              "--skip-test-db"])
        init = r / "init.sql"
        init.write_text(f"CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
                        "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';\n")
        log = r / "log" / "mariadb.err"
        self._mariadb = subprocess.Popen(
            [self._sbin("mariadbd"), "--no-defaults", "--user=root", f"--datadir={r / 'db'}",
             f"--socket={r / 'mysql.sock'}", "--bind-address=127.0.0.1", f"--port={port}",
             f"--pid-file={r / 'mariadb.pid'}", f"--log-error={log}", f"--init-file={init}", "--skip-log-bin",
             "--innodb-buffer-pool-size=16M", "--innodb-lock-wait-timeout=900"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_for("MariaDB", lambda: log.exists() and "ready for connections" in log.read_text(), log)

    def run(self, *args: str) -> str:
        return _run(list(args), env={**os.environ, **self.env}).stdout

    def stop(self) -> None:
        env = {**os.environ, **self.env}
        subprocess.run(["scancel", "--user=root"], env=env, capture_output=True, timeout=30)
        deadline = time.monotonic() + 30  # job steps outlive a stopped slurmd: let them end first
        while time.monotonic() < deadline and subprocess.run(
                ["squeue", "-h"], env=env, capture_output=True, text=True, timeout=30).stdout.strip():
            time.sleep(0.2)
        _stop_pidfiles(*(self.root / name for name in ("slurmd.pid", "slurmctld.pid", "slurmdbd.pid")))
        if self._mariadb is not None:
            self._mariadb.terminate()
            try:
                self._mariadb.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._mariadb.kill()
                self._mariadb.wait()
        _stop_pidfiles(self.root / "munge" / "munged.pid")
        shutil.rmtree(self.root, ignore_errors=True)
