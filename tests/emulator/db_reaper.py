"""The Offsite emulator's database-server reaper: removes what the emulator's PostgreSQL and
MariaDB servers leave behind when the emulator dies without cleaning up (SIGKILL, as the Rust
harness stops it). Not a patch and not for direct use: ``patches/db_servers.py`` starts one
per emulator process, in its own session, with a pipe on its stdin, and writes one line per
change (for every engine's servers alike):

    proc <process group id>      a server (or initdb, mariadb-install-db): kill its process group
    unproc <process group id>    stopped cleanly; forget it
    dir <path>                   a directory to remove
    undir <path>                 removed cleanly; forget it

At EOF (the emulator closed the pipe or died) it kills every process group still listed
with SIGKILL, waits for them to be gone (at most ~5 s), removes every directory still
listed, and exits. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time


def main() -> None:
    # A terminal's Ctrl-C goes to the emulator, which cleans up itself and closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: set[int] = set()
    paths: list[str] = []
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
        verb, _, rest = line.partition(" ")
        if verb == "proc" and rest.isdigit():
            groups.add(int(rest))
        elif verb == "unproc" and rest.isdigit():
            groups.discard(int(rest))
        elif verb == "dir" and rest:
            if rest not in paths:
                paths.append(rest)
        elif verb == "undir" and rest in paths:
            paths.remove(rest)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 5.0
    while groups and time.monotonic() < deadline:
        alive = set()
        for group in groups:
            try:
                os.killpg(group, 0)
                alive.add(group)
            except OSError:
                pass
        groups = alive
        if groups:
            time.sleep(0.05)
    # Deepest first: a server's directory lies inside the emulator's base directory.
    for path in sorted(paths, key=len, reverse=True):
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
