"""One writer per home: an exclusive lock on `<home>/showdown.lock`, held for a whole run or export.

Why `fcntl.flock` (the standard library) rather than a lock library: the kernel releases a flock when
the process holding it dies, `kill -9` included, so a dead holder can never keep the home; and the lock
file is ours to fill with who holds it (pid, host, start time, command), which a refused process prints.
`filelock`/`portalocker` use the same system call underneath but keep no holder record we could print.
The home must be on a local file system (flock over NFS is emulated and not reliable everywhere).

A lock file that still names a holder when we acquire it was left by a process that died while holding
it (a clean release empties the file): that stale record is returned, so the new holder can say it took
over (`describe_takeover` says whether its pid is gone or, for a pid still alive, that it is another
process now). Re-entrant within one process: `showdown run` takes the lock and then executes the job
in-process, whose warehouse resource takes it again (a count, not a second flock, which would deadlock).

The lock file is opened with O_NOFOLLOW and must be a regular file with one link: a symlink (or hard link)
planted in the home by anyone who can write it is refused in one line (`UnsafeLockFile`), never followed,
so taking or releasing the lock never truncates or writes any other file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import socket
import stat
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from showdown_pipeline import settings

LOCK_FILE = settings.LOCK_FILE
_READ_ATTEMPTS = 20  # a refused reader retries while a new holder is still writing its record
_READ_PAUSE_S = 0.05


class HomeBusy(RuntimeError):
    """Another live process holds the home; the message is one line naming it."""

    def __init__(self, home: Path, holder: Holder | None):
        self.home, self.holder = home, holder
        who = holder.describe() if holder else "a process that has not written its record yet"
        super().__init__(f"home {_one_line(str(home))} is in use by {who}; wait for it to finish")


class UnsafeLockFile(OSError):
    """The lock file is a symlink, a hard link or not a regular file: refused, never followed or written."""

    def __init__(self, path: Path, what: str):
        super().__init__(
            f"refusing the lock file {_one_line(str(path))}: it is {what}; remove it (a lock file is "
            "created by showdown, never linked)"
        )


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a home's lock."""

    pid: int
    host: str
    started_at: str
    command: str

    def describe(self) -> str:
        return (
            f"pid {self.pid} on {_one_line(self.host)} since {_one_line(self.started_at)} "
            f"({_one_line(self.command, 400)})"
        )

    @staticmethod
    def of_this_process(command: str) -> Holder:
        started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return Holder(os.getpid(), socket.gethostname(), started, command)


@dataclass(frozen=True)
class Acquired:
    """The result of taking the lock: `fresh` when this process did not hold it already; `stale` names a
    dead holder whose record was still in the file."""

    fresh: bool
    stale: Holder | None


@dataclass
class _Held:
    fd: int
    count: int


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def lock_file(home: Path) -> Path:
    return settings.lock_path(home)


def default_command() -> str:
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"


def acquire(home: Path, command: str | None = None) -> Acquired:
    """Take the home's lock or raise HomeBusy; re-entrant within this process."""
    path = lock_file(Path(home).resolve())
    with _guard:
        if path in _held:
            _held[path].count += 1
            return Acquired(fresh=False, stale=None)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_lock_file(path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd, retry=True)
            os.close(fd)
            raise HomeBusy(path.parent, holder) from None
        except BaseException:
            os.close(fd)
            raise
        stale = _read_holder(fd, retry=False)
        record = json.dumps(asdict(Holder.of_this_process(command or default_command()))).encode()
        os.pwrite(fd, record, 0)
        os.ftruncate(fd, len(record))  # our own regular file (checked at open): a longer old record's tail
        _held[path] = _Held(fd, 1)
        return Acquired(fresh=True, stale=stale)


def release(home: Path) -> None:
    """Give back one acquisition; the last one empties the record (a clean exit) and unlocks."""
    path = lock_file(Path(home).resolve())
    with _guard:
        held = _held.get(path)
        if held is None:
            return
        held.count -= 1
        if held.count:
            return
        del _held[path]
        try:
            os.ftruncate(held.fd, 0)
            fcntl.flock(held.fd, fcntl.LOCK_UN)
        finally:
            os.close(held.fd)


def holds(home: Path) -> bool:
    """Whether this process holds the home's lock."""
    with _guard:
        return lock_file(Path(home).resolve()) in _held


def read_holder(home: Path) -> Holder | None:
    """The record in the lock file (the live holder, or a dead one's stale record), if any; nothing is read
    through a planted link."""
    path = lock_file(Path(home).resolve())
    try:
        fd = _open_lock_file(path, os.O_RDONLY)
    except (FileNotFoundError, UnsafeLockFile):
        return None  # no lock file, or one that is not ours to read
    try:
        return _read_holder(fd, retry=False)
    finally:
        os.close(fd)


def _open_lock_file(path: Path, flags: int) -> int:
    """The lock file's descriptor; a symlink is refused by the kernel (O_NOFOLLOW), a FIFO does not block
    the open (O_NONBLOCK), and anything but a regular file with one link is refused before any write."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            try:
                target = f"a symlink to {_one_line(os.readlink(path))}"
            except OSError:
                target = "a symlink"
            raise UnsafeLockFile(path, target) from None
        raise
    info = os.fstat(fd)
    problem = (
        None
        if stat.S_ISREG(info.st_mode) and info.st_nlink == 1
        else f"a hard link shared with {info.st_nlink - 1} other name(s)"
        if stat.S_ISREG(info.st_mode)
        else "not a regular file"
    )
    if problem:
        os.close(fd)
        raise UnsafeLockFile(path, problem)
    return fd


def describe_takeover(stale: Holder) -> str:
    """One line saying whose lock was taken over, and what became of it: its pid gone, still alive (then it
    is another process now, or one that let the lock go without clearing its record), or on another host."""
    if stale.host != socket.gethostname():
        fate = f"it ran on host {_one_line(stale.host)}, whose processes this host cannot see"
    elif _pid_alive(stale.pid):
        fate = (
            f"pid {stale.pid} is alive but no longer holds the lock (another process now, or one that let "
            "the lock go without clearing its record)"
        )
    else:
        fate = f"pid {stale.pid} is gone"
    return f"took over the lock left by {stale.describe()}; {fate}"


def _pid_alive(pid: int) -> bool:
    """Signal 0 probes a pid: no such process means gone; EPERM means alive under another user."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def _read_holder(fd: int, retry: bool) -> Holder | None:
    for _ in range(_READ_ATTEMPTS if retry else 1):
        raw = os.pread(fd, 8192, 0)
        try:
            data = json.loads(raw.decode("utf-8"))
            return Holder(int(data["pid"]), str(data["host"]), str(data["started_at"]), str(data["command"]))
        except (ValueError, KeyError, TypeError):
            if retry:
                time.sleep(_READ_PAUSE_S)
    return None


def _one_line(text: str, limit: int = 200) -> str:
    """Control characters escaped (a path or argument may hold a newline), long text cut."""
    flat = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    if len(flat) <= limit:
        return flat
    keep = (limit - 1) // 2  # the middle goes: a command's end (its options) says as much as its start
    return flat[:keep] + "…" + flat[-keep:]
