"""GradStudio documents on disk: projects, scripts, notebooks and recovery files.

A project is a versioned JSON file::

    {"format": "gradstudio", "version": 1, "script": "<the script text>", "view": {...}}

``view`` is free-form state of the window (plain JSON). Loading validates the
schema and types, refuses files over :data:`MAX_BYTES`, and says clearly when a
file is corrupt, is not a GradStudio project, or was written by a newer
GradStudio — and then nothing is changed. A ``.py`` file opens as the script,
an ``.ipynb`` notebook as its code cells joined with ``# %%`` markers.
Loading never runs anything: the script is text until the user presses Run.

Saving is atomic: a temporary file in the same directory is written, flushed
and fsynced, then ``os.replace``\\d over the target; on any failure the temp
file is removed and the original is untouched.

Recovery files (autosave) live in a directory the app chooses; each is a
project with a ``"recovery"`` entry naming the document it stands for and the
process that wrote it, so a second running instance's autosave is not offered
as a crash leftover.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field

FORMAT = "gradstudio"
VERSION = 1
MAX_BYTES = 20 * 1024 * 1024
PROJECT_SUFFIX = ".gradstudio"
OPENABLE_SUFFIXES = (PROJECT_SUFFIX, ".py", ".ipynb")
RECOVERY_PREFIX = "recovery-"


class ProjectError(Exception):
    """A file that cannot be opened or saved, with a message for the user."""


@dataclass
class Project:
    """The document: the script text and the window's view state."""

    script: str = ""
    view: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- JSON
def to_json(project: Project, extra: dict | None = None) -> str:
    data = {"format": FORMAT, "version": VERSION, "script": project.script, "view": project.view}
    if extra:
        data.update(extra)
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def from_json(text: str, source: str = "the file") -> Project:
    """Parse and validate a project; raises :class:`ProjectError` with a clear message."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as error:
        raise ProjectError(f"{source} is not a valid GradStudio project: it is damaged or not "
                           f"JSON ({error}).") from None
    except RecursionError:
        raise ProjectError(f"{source} is not a valid GradStudio project: it is nested too "
                           "deeply.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectError(f"{source} is not a GradStudio project (no \"format\": \"{FORMAT}\").")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{source} has an invalid version ({version!r}).")
    if version > VERSION:
        raise ProjectError(f"{source} was made by a newer GradStudio (version {version}); this "
                           f"one reads version {VERSION}. Nothing was changed.")
    script = data.get("script", "")
    if not isinstance(script, str):
        raise ProjectError(f"{source} is damaged: \"script\" must be text.")
    view = data.get("view", {})
    if not isinstance(view, dict):
        raise ProjectError(f"{source} is damaged: \"view\" must be an object.")
    return Project(script=script, view=view)


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


# --------------------------------------------------------------------------- reading
def read_text(path: str, limit: int | None = None) -> str:
    """The file's text (UTF-8), refusing files over ``limit`` bytes (:data:`MAX_BYTES`)."""
    limit = MAX_BYTES if limit is None else limit
    name = os.path.basename(path)
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise ProjectError(f"{name} is too large to open ({size / 1e6:.1f} MB; the limit is "
                               f"{limit / 1e6:.0f} MB).")
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as error:
        raise ProjectError(f"cannot read {name}: {error.strerror or error}") from None
    if len(raw) > limit:
        raise ProjectError(f"{name} is too large to open (the limit is {limit / 1e6:.0f} MB).")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProjectError(f"{name} is not UTF-8 text ({error.reason} at byte {error.start}).") from None


def notebook_to_script(text: str, source: str = "the notebook") -> str:
    """A Jupyter notebook's code cells as one script, ``# %%`` before each cell
    (markdown cells are skipped; IPython magics are commented out)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, ValueError, RecursionError) as error:
        raise ProjectError(f"{source} is not a valid notebook ({error}).") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        if isinstance(data, dict) and isinstance(data.get("worksheets"), list):
            raise ProjectError(f"{source} is an old (version 3) notebook; save it again with "
                               "Jupyter to update it.")
        raise ProjectError(f"{source} is not a valid notebook (no list of cells).")
    parts = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source_text = cell.get("source", "")
        if isinstance(source_text, list):
            if not all(isinstance(s, str) for s in source_text):
                raise ProjectError(f"{source} is damaged: a cell's source is not text.")
            source_text = "".join(source_text)
        if not isinstance(source_text, str):
            raise ProjectError(f"{source} is damaged: a cell's source is not text.")
        lines = [("# " + line) if line.lstrip().startswith(("%", "!")) else line
                 for line in source_text.splitlines()]
        parts.append("# %%\n" + "\n".join(lines).rstrip() + "\n")
    return "\n".join(parts)


def load(path: str) -> Project:
    """Open a ``.gradstudio`` project, a ``.py`` script or an ``.ipynb`` notebook.
    Never runs anything; raises :class:`ProjectError` with a message for the user."""
    name = os.path.basename(path)
    text = read_text(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".ipynb":
        return Project(script=notebook_to_script(text, name))
    if suffix in (PROJECT_SUFFIX, ".json"):
        return from_json(text, name)
    return Project(script=text)


# --------------------------------------------------------------------------- writing
def write_atomic(path: str, data: bytes):
    """Replace ``path`` with ``data`` atomically (temp file in the same directory,
    fsync, ``os.replace``). On failure the temp file is removed, the original is
    untouched, and :class:`ProjectError` says why."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = None, None
    try:
        fd, temp = tempfile.mkstemp(prefix=".~" + os.path.basename(path) + ".", suffix=".tmp",
                                    dir=directory)
        with os.fdopen(fd, "wb") as handle:
            fd = None
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(path):
            try:
                os.chmod(temp, os.stat(path).st_mode & 0o7777)
            except OSError:
                pass
        os.replace(temp, path)
        temp = None
        _fsync_directory(directory)
    except OSError as error:
        raise ProjectError(f"could not save {os.path.basename(path)}: "
                           f"{error.strerror or error}") from None
    finally:
        if fd is not None:
            os.close(fd)
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass


def _fsync_directory(directory: str):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(project: Project, path: str):
    """Save atomically: a ``.py`` path gets the script text, anything else the project JSON."""
    if os.path.splitext(path)[1].lower() == ".py":
        data = project.script
    else:
        data = to_json(project)
    write_atomic(path, data.encode("utf-8"))


# --------------------------------------------------------------------------- recovery
@dataclass
class Recovery:
    """An autosaved copy found on disk."""

    path: str              # the recovery file
    original: str | None   # the document it stands for (None: never saved)
    saved_at: float
    pid: int | None
    project: Project


def new_recovery_path(directory: str) -> str:
    """A recovery file name for this process (the pid marks who owns it)."""
    return os.path.join(directory, f"{RECOVERY_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
                                   f"{PROJECT_SUFFIX}")


def write_recovery(path: str, project: Project, original: str | None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    extra = {"recovery": {"original": original, "saved_at": time.time(), "pid": os.getpid()}}
    write_atomic(path, to_json(project, extra).encode("utf-8"))


def find_recoveries(directory: str, *, include_live: bool = False) -> list:
    """Recovery files left in ``directory`` by processes that are no longer running
    (newest first). Unreadable ones are skipped."""
    found = []
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in names:
        if not (name.startswith(RECOVERY_PREFIX) and name.endswith(PROJECT_SUFFIX)):
            continue
        path = os.path.join(directory, name)
        try:
            text = read_text(path)
            project = from_json(text, name)
            info = json.loads(text).get("recovery") or {}
        except (ProjectError, ValueError, AttributeError):
            continue
        pid = info.get("pid") if isinstance(info.get("pid"), int) else None
        if not include_live and pid is not None and pid != os.getpid() and _pid_running(pid):
            continue
        if pid == os.getpid() and not include_live:
            continue
        original = info.get("original") if isinstance(info.get("original"), str) else None
        saved_at = info.get("saved_at") if isinstance(info.get("saved_at"), (int, float)) else 0.0
        found.append(Recovery(path, original, float(saved_at), pid, project))
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return found


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def remove_file(path: str | None):
    """Delete a file if it exists (recovery files after a clean save or exit)."""
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
