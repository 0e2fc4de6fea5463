"""What the emulator's real database servers share (``rds_postgres``: PostgreSQL,
``rds_mysql``: MariaDB): a server per restored DB instance or DB cluster, started in the
background, gating the resource's status until it accepts connections, reporting its
endpoint, stopped with its resource, on reset and at exit, and reaped after a SIGKILL.
Each engine module supplies the binaries, the template data directory, how to launch the
server and how to load it; this module owns the processes, directories and registry.

AWS behaviour reproduced
------------------------
* The DB instance is reached at its ``Endpoint`` (``Address``, ``Port``) (API_DBInstance,
  Endpoint), the cluster at its ``Endpoint``/``ReaderEndpoint`` and ``Port``
  (API_DBCluster): ``127.0.0.1`` and the server's port once the server accepts connections
  (``endpoint``). Until then ``gate`` says ``starting`` and ``rds_restore`` keeps the
  instance ``creating`` (RDS User Guide, "Viewing Amazon RDS DB instance status",
  available: "The DB instance is healthy and available"); a server that cannot start or
  load is ``failed`` and so is its instance.
* The master password follows the one RDS keeps (``password_source``, read when the server
  is loaded and again on ``password_changed``: Modify, managed secret, rotation; RDS User
  Guide, "Password management with Amazon RDS and AWS Secrets Manager").
* TLS: each engine's servers share a certificate for ``127.0.0.1`` (IP SAN) and
  ``localhost``, issued by a CA of the emulator (``write_certificate``), as RDS's servers
  present a certificate its CA issued; the report's ``ca_certificate`` is that CA, the file a
  client verifies the server with (in place of the RDS CA bundle).

How it is emulated
------------------
A ``Family`` per engine module holds its servers (by a token stored on the moto model
under the family's attribute), its base directory (``offsite-emulator-<engine>-<pid>-*`` in
``$TMPDIR`` if set, else ``/dev/shm`` when it is a writable tmpfs with 1 GiB free, else the
system's temporary directory), its template data directory (built once per emulator
process, by ``prepare`` in the background at startup or by the first server) and its
certificate. A ``Server`` copies the template into its own directory, starts the server
process in a session of its own (so its whole process group can be killed) listening on
127.0.0.1 at a free port (another port when the one picked was taken meanwhile), as the
engine's system user (or ``nobody``) when the emulator runs as root, waits until it answers,
loads the content, sets the master password, and only then is ``ready``. ``stop`` ends it
(the engine's shutdown signal, then SIGKILL of its process group) and removes its directory,
in a background thread on delete, synchronously on ``stop_all`` (moto reset) and
``shutdown`` (exit).

One reaper process per emulator (``db_reaper.py``, in its own session, reading a pipe) is
told of every process group and directory as they appear and go; when the emulator dies
(SIGKILL included) the pipe closes and the reaper kills what is still listed and removes the
directories. It serves every family; it is closed at exit once no family has anything left.

Control
-------
``Family.report(bin_dir)`` is each engine's ``GET /_offsite/rds/<engine>``: ``{"enabled",
"bin_dir", "base_dir", "ca_certificate", "servers": [{"account", "region", "kind":
"instance" | "cluster", "identifier", "state": "starting" | "ready" | "failed" |
"stopping", "address", "port", "pid", "directory", "error"}]}``, every server not yet
stopped (a leak check waits for ``servers`` to be empty).

Chosen / not emulated
---------------------
* Servers listen on 127.0.0.1 only; security groups and ``PubliclyAccessible`` change
  nothing. Durability is off (nothing here survives the emulator).
* A server started in the instant between its spawn and its registration with the reaper
  would be missed by the reaper after a SIGKILL (its directory is still removed).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import rds_content

ADDRESS = "127.0.0.1"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 10.0
REAPER = Path(__file__).resolve().parents[1] / "db_reaper.py"
# What a server's log says when the port picked was taken between the probe and its bind.
BIND_FAILURES = ("could not bind", "already in use")

# A tmpfs holds the servers' files far faster than a disk (a PostgreSQL data directory is
# ~1,000 files: copying one took 1.9 s on the project machine's disk, 0.14 s in /dev/shm).
SHARED_MEMORY = Path("/dev/shm")
SHARED_MEMORY_MINIMUM_FREE = 1 << 30


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ADDRESS, 0))
        return int(probe.getsockname()[1])


_reaper: subprocess.Popen[bytes] | None = None
_reaper_lock = threading.Lock()


def reap(line: str) -> None:
    """Tell the reaper about a process group or directory (starting it on first use):
    ``proc <pgid>``, ``unproc <pgid>``, ``dir <path>``, ``undir <path>``."""
    global _reaper
    with _reaper_lock:
        if _reaper is None or _reaper.poll() is not None:
            _reaper = subprocess.Popen(
                [sys.executable, str(REAPER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            assert _reaper.stdin is not None
            _reaper.stdin.write(line.encode("utf-8", "surrogateescape") + b"\n")
            _reaper.stdin.flush()
        except (BrokenPipeError, OSError):
            pass


def close_reaper() -> None:
    """Let the reaper go (it kills and removes whatever is still listed)."""
    global _reaper
    with _reaper_lock:
        reaper, _reaper = _reaper, None
    if reaper is not None:
        try:
            if reaper.stdin is not None:
                reaper.stdin.close()
            reaper.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass


def kill_group(process: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
        pass


def stop_process(process: subprocess.Popen[Any], shutdown_signal: int) -> None:
    """The server's own shutdown (``shutdown_signal``), then SIGKILL of its process group."""
    if process.poll() is None:
        try:
            process.send_signal(shutdown_signal)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            kill_group(process)
        except OSError:
            pass
    # Child processes exit with the server; make sure nothing of the group is left.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    reap(f"unproc {process.pid}")


def run_group(args: list[str], *, cwd: Path, timeout: float, what: str, user: dict[str, Any],
              stdin: bytes | None = None) -> str:
    """Run a tool (as ``user``: ``Family.as_server_user()``) in its own process group, known
    to the reaper while it runs; its output, or RuntimeError with it if it fails."""
    process = subprocess.Popen(
        args, cwd=cwd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **user,
    )
    reap(f"proc {process.pid}")
    try:
        out, _ = process.communicate(input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise RuntimeError(f"{what} took longer than {timeout:.0f} s") from None
    finally:
        reap(f"unproc {process.pid}")
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed ({process.returncode}): {text[-2000:]}")
    return text


# --- directories and the certificate ---------------------------------------------------------


def parent_dir() -> str:
    """Where an engine's base directory goes: ``$TMPDIR`` when set, else /dev/shm if it is a
    writable directory with 1 GiB free, else the system's temporary directory."""
    if os.environ.get("TMPDIR"):
        return tempfile.gettempdir()
    try:
        if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
            stats = os.statvfs(SHARED_MEMORY)
            if stats.f_bavail * stats.f_frsize >= SHARED_MEMORY_MINIMUM_FREE:
                return str(SHARED_MEMORY)
    except OSError:
        pass
    return tempfile.gettempdir()


def write_certificate(directory: Path, public: Path, give: Callable[[Path], None],
                      log: logging.Logger) -> Path | None:
    """A certificate authority of the emulator and a server certificate it signed for
    127.0.0.1 (IP SAN) and localhost, as RDS serves a certificate issued by its CA (RDS User
    Guide, "Using SSL/TLS to encrypt a connection to a DB instance or cluster": the client
    trusts the CA bundle, the server presents a certificate the CA signed, never the CA
    itself; strict verifiers such as webpki refuse a CA certificate used as the server's).
    ``server.crt`` and ``server.key`` (the key 0600) and ``ca.crt`` in ``directory``, given to
    the server user, and a copy of the CA's certificate at ``public`` for clients that verify
    it. None without ``cryptography``."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:  # pragma: no cover - cryptography is pinned in requirements.txt
        log.warning("cryptography is missing: the servers run without TLS")
        return None
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Offsite emulator RDS CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ADDRESS)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ADDRESS)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    crt, pem_key, ca_crt = directory / "server.crt", directory / "server.key", directory / "ca.crt"
    crt.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    ca_crt.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for path in (crt, ca_crt):
        path.chmod(0o644)
    pem_key.chmod(0o600)
    for path in (crt, pem_key, ca_crt):
        give(path)
    public.write_bytes(ca_crt.read_bytes())
    public.chmod(0o644)
    return public


# --- servers ---------------------------------------------------------------------------------


class Aborted(Exception):
    """The server was stopped while it was starting."""


class Server:
    """One database server of a DB instance or DB cluster. An engine subclass sets
    ``LOG_NAME`` and ``SHUTDOWN_SIGNAL`` and implements ``prepare_directory``, ``launch``,
    ``ping``, ``load`` and ``set_password``."""

    LOG_NAME = "server.log"
    SHUTDOWN_SIGNAL = signal.SIGTERM

    def __init__(
        self,
        family: Family,
        token: str,
        kind: str,
        account: str,
        region: str,
        identifier: str,
        master_username: str,
        password_source: Callable[[], str | None],
        content: rds_content.Content,
    ) -> None:
        self.family = family
        self.token = token
        self.kind = kind
        self.account = account
        self.region = region
        self.identifier = identifier
        self.master_username = master_username
        self.password_source = password_source
        self.content = content
        self.state = "starting"
        self.error: str | None = None
        self.port: int | None = None
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.lock = threading.RLock()
        self.thread: threading.Thread | None = None

    def info(self) -> dict[str, Any]:
        with self.lock:
            process = self.process
            return {
                "account": self.account,
                "region": self.region,
                "kind": self.kind,
                "identifier": self.identifier,
                "state": self.state,
                "address": ADDRESS,
                "port": self.port,
                "pid": process.pid if process is not None and process.poll() is None else None,
                "directory": str(self.directory) if self.directory else None,
                "error": self.error,
            }

    # -- what each engine supplies ----------------------------------------------------------

    def prepare_directory(self, template: Path, directory: Path) -> None:
        """Copy the template into ``directory`` and configure it (once per server)."""
        raise NotImplementedError

    def launch(self, directory: Path, port: int, server_log: Any) -> subprocess.Popen[bytes]:
        """Start the server process (in a session of its own) on ``port``."""
        raise NotImplementedError

    def ping(self, directory: Path, port: int) -> bool:
        """True once the server answers its administrator."""
        raise NotImplementedError

    def load(self) -> None:
        """Create the master user, databases and tables; load the rows."""
        raise NotImplementedError

    def set_password(self, password: str | None) -> None:
        """Set the master user's password (None: no password login); under ``self.lock``."""
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------------

    def run(self) -> None:
        label, log = self.family.label, self.family.log
        try:
            self.start()
            self.check()
            self.load()
            with self.lock:
                if self.stopping:
                    raise Aborted()
                self.set_password(self.password_source())
                self.state = "ready"
            log.info("%s for %s %s ready on %s:%s", label, self.kind, self.identifier, ADDRESS, self.port)
        except Aborted:
            pass
        except Exception as error:  # noqa: BLE001 - any failure ends the server as failed
            with self.lock:
                if self.stopping:
                    return
                self.state = "failed"
                self.error = str(error)
                process = self.process
            log.error("%s for %s %s failed: %s", label, self.kind, self.identifier, error)
            if process is not None:
                stop_process(process, self.SHUTDOWN_SIGNAL)

    def check(self) -> None:
        if self.stopping:
            raise Aborted()

    def start(self) -> None:
        family = self.family
        template = family.template_dir()
        self.check()
        directory = family.base_dir() / f"{self.kind[0]}-{self.token[:12]}"
        directory.mkdir(mode=0o700)
        family.give(directory)
        reap(f"dir {directory}")
        with self.lock:
            self.directory = directory
        self.prepare_directory(template, directory)
        for _ in range(5):
            self.check()
            port = free_port()
            with open(directory / self.LOG_NAME, "ab") as server_log:
                process = self.launch(directory, port, server_log)
            reap(f"proc {process.pid}")
            with self.lock:
                self.process, self.port = process, port
                if self.stopping:
                    stop_process(process, self.SHUTDOWN_SIGNAL)
                    raise Aborted()
            if self.wait_ready(process, directory, port):
                return
            reap(f"unproc {process.pid}")  # the port was taken: try another
        raise RuntimeError(f"{family.program} could not bind a free port")

    def wait_ready(self, process: subprocess.Popen[bytes], directory: Path, port: int) -> bool:
        program = self.family.program
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self.check()
            if process.poll() is not None:
                tail = (directory / self.LOG_NAME).read_text(errors="replace")[-2000:]
                if any(failure in tail for failure in BIND_FAILURES):
                    return False
                raise RuntimeError(f"{program} exited with {process.returncode}: {tail}")
            if self.ping(directory, port):
                return True
            time.sleep(0.05)
        raise RuntimeError(f"{program} did not accept connections within {START_TIMEOUT_SECONDS:.0f} s")

    def apply_password(self) -> None:
        """The master password changed (Modify, managed secret, rotation): set it in the
        database now if the server is ready (else the loader sets it when it is)."""
        with self.lock:
            if self.state == "ready" and not self.stopping:
                self.set_password(self.password_source())

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            if self.state != "stopped":
                self.state = "stopping"
            process = self.process
        if process is not None:
            stop_process(process, self.SHUTDOWN_SIGNAL)
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(START_TIMEOUT_SECONDS)
        with self.lock:
            process = self.process
        if process is not None:
            stop_process(process, self.SHUTDOWN_SIGNAL)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            reap(f"undir {self.directory}")
        with self.lock:
            self.state = "stopped"
        self.family.forget(self)


# --- families ------------------------------------------------------------------------------


_families: list[Family] = []


class Family:
    """The servers of one engine module, their directories and their certificate."""

    def __init__(
        self,
        *,
        name: str,
        label: str,
        program: str,
        users: tuple[str, ...],
        token: str,
        log: logging.Logger,
        enabled: Callable[[], bool],
        build_template: Callable[[Path], tuple[Path, Path | None]],
    ) -> None:
        self.name = name  # directory prefix and thread names: "pg", "mysql"
        self.label = label  # in log lines: "PostgreSQL", "MariaDB"
        self.program = program  # in errors: "postgres", "mariadbd"
        self.users = users  # the system users to run as when root, in order of preference
        self.token = token  # the moto model's attribute naming its server
        self.log = log
        self.enabled = enabled
        # build_template(holder) -> (template, public CA certificate): run once per process
        # with the (empty, server-owned) holder directory.
        self.build_template = build_template
        self.base: Path | None = None
        self.template: Path | None = None
        self.ca_certificate: Path | None = None
        self.dirs_lock = threading.Lock()
        self.servers: dict[str, Server] = {}
        self.lock = threading.RLock()
        self.stoppers: list[threading.Thread] = []
        _families.append(self)

    # -- the server user ----------------------------------------------------------------------

    def server_user(self) -> tuple[int, int] | None:
        """(uid, gid) to run the servers as when the emulator is root (the servers refuse
        root): the first of ``users`` the system has; None when not root."""
        if os.geteuid() != 0:
            return None
        for name in self.users:
            try:
                entry = pwd.getpwnam(name)
                return entry.pw_uid, entry.pw_gid
            except KeyError:
                continue
        raise RuntimeError(f"the emulator runs as root and the system has none of the users {self.users}")

    def as_server_user(self) -> dict[str, Any]:
        user = self.server_user()
        return {} if user is None else {"user": user[0], "group": user[1], "extra_groups": []}

    def give(self, path: Path) -> None:
        user = self.server_user()
        if user is not None:
            os.chown(path, *user)

    # -- directories --------------------------------------------------------------------------

    def base_dir(self) -> Path:
        with self.dirs_lock:
            if self.base is None or not self.base.is_dir():
                prefix = f"offsite-emulator-{self.name}-{os.getpid()}-"
                self.base = Path(tempfile.mkdtemp(prefix=prefix, dir=parent_dir()))
                # The server user must reach its own directory inside.
                self.base.chmod(0o711)
                reap(f"dir {self.base}")
            return self.base

    def template_dir(self) -> Path:
        """The data directory every server copies (built once per emulator process)."""
        base = self.base_dir()
        with self.dirs_lock:
            if self.template is not None and self.template.is_dir():
                return self.template
            holder = base / "template"
            shutil.rmtree(holder, ignore_errors=True)
            holder.mkdir(mode=0o700)
            self.give(holder)
            template, certificate = self.build_template(holder)
            self.ca_certificate = certificate
            self.template = template
            return template

    def prepare(self) -> None:
        """Build the template now (the launcher calls it in the background at startup, so
        that the first restore does not wait for it)."""
        if self.enabled():
            try:
                self.template_dir()
            except Exception as error:  # noqa: BLE001 - the first server reports it again
                self.log.error("%s template: %s", self.label, error)

    # -- the registry -------------------------------------------------------------------------

    def start(self, resource: Any, identifier: str, make: Callable[[str], Server]) -> Server | None:
        """Start the server of a DB instance or cluster (moto model ``resource``) in the
        background, unless it has one (``make(token)`` builds it); None when off."""
        if not self.enabled():
            return None
        with self.lock:
            token = resource.__dict__.get(self.token)
            if token in self.servers:
                return self.servers[token]
            token = uuid.uuid4().hex
            resource.__dict__[self.token] = token
            server = make(token)
            self.servers[token] = server
            server.thread = threading.Thread(target=server.run, name=f"{self.name}-{identifier}", daemon=True)
            server.thread.start()
            return server

    def forget(self, server: Server) -> None:
        with self.lock:
            if self.servers.get(server.token) is server:
                del self.servers[server.token]

    def server_of(self, resource: Any) -> Server | None:
        token = resource.__dict__.get(self.token) if resource is not None else None
        with self.lock:
            return self.servers.get(token) if token else None

    def gate(self, resource: Any) -> str | None:
        """``starting`` / ``ready`` / ``failed`` for a resource with a server, else None."""
        server = self.server_of(resource)
        if server is None or server.state in ("stopping", "stopped"):
            return None
        return server.state

    def endpoint(self, resource: Any) -> tuple[str, int] | None:
        """The server's address while it is ready or stopping: RDS keeps a database's
        endpoint through its deletion (a connection then fails, the endpoint stays)."""
        server = self.server_of(resource)
        if server is None or server.state not in ("ready", "stopping") or server.port is None:
            return None
        return ADDRESS, server.port

    def password_changed(self, resource: Any) -> None:
        server = self.server_of(resource)
        if server is not None:
            server.apply_password()

    def stop(self, resource: Any, wait: bool = False) -> None:
        """Stop the resource's server (in the background unless ``wait``)."""
        server = self.server_of(resource)
        if server is None:
            return
        with server.lock:
            server.stopping = True
            server.state = "stopping"
        if wait:
            server.stop()
            return
        thread = threading.Thread(target=server.stop, name=f"{self.name}-stop-{server.identifier}", daemon=True)
        with self.lock:
            self.stoppers[:] = [t for t in self.stoppers if t.is_alive()]
            self.stoppers.append(thread)
        thread.start()

    def stop_all(self) -> None:
        """Stop every server and wait for them (moto reset, exit)."""
        with self.lock:
            servers = list(self.servers.values())
            stoppers = list(self.stoppers)
        for server in servers:
            server.stop()
        for thread in stoppers:
            thread.join(START_TIMEOUT_SECONDS)

    def shutdown(self) -> None:
        """At exit: stop every server, remove the base directory; let the reaper go once no
        family has anything left."""
        self.stop_all()
        with self.dirs_lock:
            base, self.base, self.template, self.ca_certificate = self.base, None, None, None
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
            reap(f"undir {base}")
        if all(f.base is None and not f.servers for f in _families):
            close_reaper()

    def report(self, bin_dir: Path | None) -> dict[str, Any]:
        """``GET /_offsite/rds/<engine>``."""
        with self.lock:
            servers = [s.info() for s in self.servers.values()]
        return {
            "enabled": self.enabled(),
            "bin_dir": str(bin_dir) if bin_dir else None,
            "base_dir": str(self.base) if self.base else None,
            "ca_certificate": str(self.ca_certificate) if self.ca_certificate else None,
            "servers": servers,
        }
