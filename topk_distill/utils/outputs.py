"""Where a command writes: refused before any work when it cannot be
written, or when it holds something the command would mix with or lose."""

import contextlib
import os


def check_writable(folder, flag):
    """Refuses, before any work, a folder that is a file or cannot be made:
    its nearest existing ancestor must be a writable folder.

    Args:
        folder: the folder to be written (it need not exist).
        flag: the flag that named it, for the message (e.g. `"--output"`).

    Raises:
        ValueError: naming `flag=folder` and what is in the way.

    Examples:
        >>> import tempfile
        >>> here = tempfile.mkdtemp()
        >>> check_writable(os.path.join(here, "new", "folder"), "--output")
        >>> open(os.path.join(here, "a_file"), "w").close()
        >>> check_writable(os.path.join(here, "a_file", "out"), "--output")
        Traceback (most recent call last):
        ...
        ValueError: --output=.../a_file/out: .../a_file is a file; expected a folder
    """
    if "://" in folder:
        return  # remote storage: its own errors name it
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{flag}={folder}: {existing} is a file; expected a "
                         "folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag}={folder}: cannot write in {existing} "
                         "(permission denied)")


def check_new(folder, flag, overwrite):
    """`check_writable`, and refuses a folder that already holds something
    unless `overwrite`.

    Raises:
        ValueError: naming `flag=folder`.
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"{flag}={folder} is a file; expected a folder")
    check_writable(folder, flag)
    if os.path.isdir(folder) and os.listdir(folder) and not overwrite:
        raise ValueError(f"{flag}={folder} is not empty; pass --overwrite "
                         "to replace what it holds, or choose another folder")


@contextlib.contextmanager
def built_beside(folder):
    """Builds a folder whole or not at all: yields a new folder beside
    `folder` to write into; when the block ends, it replaces `folder`
    (which must be empty or meant to be replaced); when it raises (or is
    interrupted), it is removed. A stopped run leaves nothing that looks
    finished.

    Examples:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "teacher")
        >>> with built_beside(target) as work:
        ...     open(os.path.join(work, "labels.txt"), "w").close()
        >>> os.listdir(target)
        ['labels.txt']
    """
    import shutil
    import tempfile

    parent = os.path.dirname(os.path.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=os.path.basename(os.path.abspath(
        folder)) + ".partial-", dir=parent)
    os.chmod(work, 0o755)  # mkdtemp's 0700 would hide it from a server
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.replace(work, folder)


LOCK_FILE = ".lock"


@contextlib.contextmanager
def locked(folder, flag):
    """Holds `folder` for one run: a second run into it while this one
    lasts is refused at once instead of mixing its files with this one's.
    The folder is made; when the run ends, the lock goes, and so does the
    folder if the run left nothing in it (it failed before writing).

    Raises:
        ValueError: naming `flag=folder`, when another run holds it.

    Examples:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "student")
        >>> with locked(target, "--output"):
        ...     with locked(target, "--output"):
        ...         pass
        Traceback (most recent call last):
        ...
        ValueError: --output=...: another run is writing there (.../.lock is held); wait for it to end, or choose another folder
        >>> os.path.exists(target)  # left empty: removed
        False
    """
    if "://" in folder:  # remote storage: no file locks there
        yield
        return
    import fcntl

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, LOCK_FILE)
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ValueError(f"{flag}={folder}: another run is writing there "
                         f"({path} is held); wait for it to end, or choose "
                         "another folder") from None
    try:
        yield
    finally:
        os.remove(path)
        handle.close()
        if not os.listdir(folder):
            os.rmdir(folder)
