"""Stored files: a client's ``sestoreN/<storage user>/...`` path opened inside its tenant's tree.

``Settings.storage_roots`` are directories named ``sestoreN``, each holding one tree per
storage user.  A client path is confined to the trees of its own account's storage users:
``..``, absolute paths, and symlinks that lead out of the user's tree are refused (400), as
is a storage user of another account — with the same answer whether or not it exists, so
paths cannot be probed.  A well-formed path to nothing is a 404.

The file is *opened* here, not merely checked: a tenant with shell access to its own tree
can swap a directory for a symlink at any moment, so a path that was checked and then opened
again by name (or re-opened for each part of an upload) may lead elsewhere the second time.
The open descriptor is what callers use — its ``fstat`` for the size, ``os.pread`` for the
bytes — and nothing reopens the path.

How the path is resolved: the configured root and the ``<storage user>`` entry in it are
the operator's (an operator may point a user's entry at another disk with a symlink, and
that is followed); below the user's directory every component is resolved by the kernel
beneath that directory's descriptor — ``openat2`` with ``RESOLVE_BENEATH |
RESOLVE_NO_MAGICLINKS`` — or, where the kernel lacks ``openat2`` (before Linux 5.6, or
filtered by a sandbox), by walking one component at a time with ``O_NOFOLLOW`` from the
directory descriptors already open.  Either way a symlink inside the tree works when its
target is relative and stays inside the tree; an absolute symlink target, or a relative one
climbing out with ``..``, is refused.  ``..`` is only ever taken back along the directories
already walked, so it cannot climb above the user's directory whatever is renamed meanwhile.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from streampanel.errors import InvalidParameter, UnknownObject

PATH_EXPECTED = "a stored file path sestoreN/<storage user>/... of your account"

# Symlinks followed per path at most (the kernel's own limit, MAXSYMLINKS).
MAX_SYMLINKS = 40

# O_NONBLOCK: opening a named pipe a tenant placed in its tree must not block the caller
# (it is refused right after, as it is not a regular file).
_FILE_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC


class Escapes(OSError):
    """The path leads out of the tree it is confined to."""

    def __init__(self) -> None:
        super().__init__(errno.EXDEV, "path leaves its tree")


@dataclass(frozen=True)
class StoredPath:
    """A client path, checked as text and normalised: ``sestoreN/user/rest``."""

    path: str
    root: str  # sestoreN
    user: str
    relative: str  # the part after sestoreN/user/

    @property
    def name(self) -> str:
        return self.relative.rsplit("/", 1)[-1]


class StoredFile:
    """A stored file open for reading: the one descriptor every read goes through.

    ``size`` is the descriptor's ``fstat`` at open time.  Close it (or use ``with``).
    """

    def __init__(self, where: StoredPath, fd: int, size: int):
        self.where = where
        self.fd = fd
        self.size = size

    @property
    def path(self) -> str:
        return self.where.path

    @property
    def relative(self) -> str:
        return self.where.relative

    @property
    def name(self) -> str:
        return self.where.name

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> StoredFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _roots_by_name(roots: Iterable[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in roots:
        # The first root of a name wins; a misconfiguration must not widen access.
        found.setdefault(Path(root).name, Path(root))
    return found


def parse_stored_path(
    roots: Iterable[Path], storage_users: Iterable[str], path: str, field: str = "path"
) -> tuple[StoredPath, Path]:
    """The path checked as text (no file is touched), with its configured root directory."""
    bad = InvalidParameter(field, PATH_EXPECTED)
    if not path or "\x00" in path or "\\" in path or path.startswith("/"):
        raise bad
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or len(parts) < 3:
        raise bad
    root_name, user, *rest = parts
    root = _roots_by_name(roots).get(root_name)
    if root is None or user not in set(storage_users):
        raise bad
    return StoredPath(path, root_name, user, "/".join(rest)), root


def open_stored_file(
    roots: Iterable[Path], storage_users: Iterable[str], path: str, field: str = "path"
) -> StoredFile:
    """The stored file a client path names, open; or ``InvalidParameter`` / ``UnknownObject``.

    Other ``OSError``s (out of descriptors, I/O errors) are raised as they are.
    """
    where, root = parse_stored_path(roots, storage_users, path, field)
    bad = InvalidParameter(field, PATH_EXPECTED)
    try:
        fd = _open_in_tree(root, where.user, where.relative)
    except Escapes:
        raise bad from None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.EPERM):
            raise UnknownObject("file", path) from None
        if exc.errno == errno.ELOOP:  # too many symlinks, or a /proc magic link
            raise bad from None
        if exc.errno == errno.EISDIR:
            raise InvalidParameter(field, "a path to a file, not a directory") from None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InvalidParameter(field, "a path to a file, not a directory")
        if not stat.S_ISREG(info.st_mode):
            raise InvalidParameter(field, "a path to a regular file")
    except BaseException:
        os.close(fd)
        raise
    return StoredFile(where, fd, info.st_size)


def _open_in_tree(root: Path, user: str, relative: str) -> int:
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        user_fd = os.open(user, _DIR_FLAGS, dir_fd=root_fd)
    finally:
        os.close(root_fd)
    try:
        return open_beneath(user_fd, relative)
    finally:
        os.close(user_fd)


def open_beneath(dir_fd: int, relative: str) -> int:
    """Open ``relative`` for reading, resolved beneath the directory ``dir_fd``.

    Raises ``Escapes`` when the resolution would leave the directory, else the ``OSError``
    of the failing step.
    """
    if _openat2_usable:
        # The kernel answers EAGAIN when a rename raced the lookup; a few tries, then walk.
        for _ in range(3):
            try:
                return _openat2(dir_fd, relative)
            except BlockingIOError:
                continue
            except _Unsupported:
                break
    return _walk_beneath(dir_fd, relative)


# --- openat2 -----------------------------------------------------------------------------

_SYS_OPENAT2 = 437  # the same number on every Linux architecture
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


class _Unsupported(Exception):
    pass


def _load_syscall() -> ctypes._NamedFuncPointer | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_long
    return function


_syscall = _load_syscall()
_openat2_usable = _syscall is not None


def _openat2(dir_fd: int, relative: str) -> int:
    global _openat2_usable
    assert _syscall is not None
    how = _OpenHow(_FILE_FLAGS, 0, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
    fd = _syscall(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(dir_fd),
        ctypes.c_char_p(os.fsencode(relative)),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd >= 0:
        return int(fd)
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EPERM, errno.EINVAL):
        # No openat2 here, or not these flags (an old kernel, or a seccomp filter answering
        # ENOSYS or EPERM): the walk below gives the same answers.
        _openat2_usable = False
        raise _Unsupported
    if code == errno.EXDEV:
        raise Escapes
    raise OSError(code, os.strerror(code), relative)


# --- the component walk ------------------------------------------------------------------


def _walk_beneath(dir_fd: int, relative: str) -> int:
    """``open_beneath`` one component at a time: every component is opened with
    ``O_NOFOLLOW`` from the descriptor of the directory before it; a symlink's target is
    read and walked the same way; ``..`` closes the last directory opened (refused at the
    top), so nothing is ever looked up by a path that could lead elsewhere."""
    stack = [os.dup(dir_fd)]
    pending = deque(relative.split("/"))
    links = 0
    try:
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":
                if len(stack) == 1:
                    raise Escapes
                os.close(stack.pop())
                continue
            last = not any(part not in ("", ".") for part in pending)
            flags = (_FILE_FLAGS if last else _DIR_FLAGS) | os.O_NOFOLLOW
            try:
                fd = os.open(name, flags, dir_fd=stack[-1])
            except OSError as exc:
                # O_NOFOLLOW on a symlink: ELOOP for a file, ENOTDIR with O_DIRECTORY.
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), relative) from None
                target = _link_target(name, stack[-1], directory=not last)
                if target is None:
                    # The entry changed between the two looks (renamed over): look again.
                    pending.appendleft(name)
                    continue
                if target.startswith("/"):
                    raise Escapes from None
                pending.extendleft(reversed(target.split("/")))
                continue
            if last:
                return fd
            stack.append(fd)
        # Only "", "." or ".." were left: the path names a directory.
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), relative)
    finally:
        for fd in stack:
            os.close(fd)


def _link_target(name: str, dir_fd: int, *, directory: bool) -> str | None:
    """The target of the symlink ``name`` whose opening just failed; None when the entry is
    no longer one and would now open; the opening's own error (ENOTDIR) when it is no
    symlink and was not going to open."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            return os.readlink(name, dir_fd=dir_fd)
    except OSError as exc:
        # EINVAL: readlink of what is a symlink no more.
        if exc.errno != errno.EINVAL:
            raise
        return None
    if stat.S_ISDIR(info.st_mode) or not directory:
        return None
    raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), name)
