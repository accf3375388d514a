"""GradStudio documents on disk: projects, scripts, notebooks and recovery files.

A project is a versioned JSON file::

    {"format": "gradstudio", "version": 1, "script": "<the script text>", "view": {...},
     "designs": {"version": 1, "documents": [{"title": "…", "design": {<design file>}}], "current": 0}}

The node editor's designs are a section of their own with its own version
(:data:`DESIGNS_VERSION`; each design inside keeps the design file form's
version too, :mod:`gradstudio.studio.design`), so the editor's document can
grow without the project's version changing. A file from before the section
(designs kept in ``view.editor``) opens with them moved into it. A newer or
damaged designs section is refused with a message naming it, before anything
is applied: the window, and the file on disk, stay as they were.

Loading is typed: the whole file is checked against :data:`VIEW_SECTIONS`
(dataclasses whose fields carry their ranges) and turned into plain, valid
values before the caller sees anything, so a window applies a project only
once all of it is known to be good. Numbers must be finite (strict JSON: no
``NaN``/``Infinity``, no ``1e999``) and are never written otherwise. Loading
refuses files over :data:`MAX_BYTES` and says clearly — naming the bad field,
quoting at most a short piece of it — when a file is corrupt, is not a
GradStudio project, or was written by a newer GradStudio. A ``.py`` file opens
as the script, an ``.ipynb`` notebook as its cells in the percent format
(:mod:`gradstudio.studio.notebook`). Loading never runs
anything: the script is text until the user presses Run.

Saving is atomic: a temporary file (``.~<name>.<pid>.<random>.tmp``) in the
target's directory is written, flushed and fsynced, then ``os.replace``\\d over
the target; on any failure the temp file is removed and the original is
untouched. Saving through a symlink replaces the file the link points to and
keeps the link. Temp files left by a process that was killed mid-save are
removed by the next save to the same file.

Recovery files (autosave) live in a directory the app chooses; each is a
project with a ``"recovery"`` entry naming the document it stands for and the
process that wrote it, so a second running instance's autosave is not offered
as a crash leftover. Each recovery file is judged on its own: a damaged one is
set aside (renamed ``*.damaged``) and reported, and never hides the good ones.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field

FORMAT = "gradstudio"
VERSION = 1
MAX_BYTES = 20 * 1024 * 1024
PROJECT_SUFFIX = ".gradstudio"
NOTEBOOK_SUFFIX = ".ipynb"
OPENABLE_SUFFIXES = (PROJECT_SUFFIX, ".py", NOTEBOOK_SUFFIX)
RECOVERY_PREFIX = "recovery-"
DAMAGED_SUFFIX = ".damaged"
QUOTE_LIMIT = 60            # characters of a bad value quoted in a message


class ProjectError(Exception):
    """A file that cannot be opened or saved, with a message for the user."""


@dataclass
class Project:
    """The document: the script text, the window's view state (validated plain JSON)
    and the node editor's designs (:class:`DesignEntry`, each checked whole)."""

    script: str = ""
    view: dict = field(default_factory=dict)
    designs: list = field(default_factory=list)
    current_design: int = 0


@dataclass(frozen=True)
class DesignEntry:
    """One design document of the editor: its tab's title and the design's own file
    form (``Design.to_json()``), known to be readable."""

    title: str
    design: dict


def quote(value, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message never carries a 5 MB field."""
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value[:limit + 1] if isinstance(value, str) else value)
    return text if len(text) <= limit else text[:limit] + "…"


# --------------------------------------------------------------------------- typed view state
def _spec(lo=None, hi=None, choices=()):
    """A field's range (inclusive) or its allowed values, read by :func:`_parse_section`."""
    return field(default=None, metadata={"lo": lo, "hi": hi, "choices": tuple(choices)})


@dataclass(frozen=True)
class GraphView:
    """The Graph panel: zoom as the view allows it (ui/graph/view.py MIN_ZOOM..MAX_ZOOM)."""

    zoom: float | None = _spec(0.002, 4.0)
    follow_latest: bool | None = _spec()
    call: int | None = _spec(0, 2 ** 31 - 1)


@dataclass(frozen=True)
class PlotsView:
    """The Plots panel: its tab, colour options and the sweep's range and point count
    (the ranges of its spin boxes)."""

    tab: str | None = _spec(choices=("norms", "heatmap", "sweep", "loss"))
    log_colors: bool | None = _spec()
    auto_range: bool | None = _spec()
    lo: float | None = _spec(-1e9, 1e9)
    hi: float | None = _spec(-1e9, 1e9)
    points: int | None = _spec(3, 401)


#: The view's known sections; other keys are kept as they are (plain, finite JSON) but
#: nothing in the window reads them.
VIEW_SECTIONS = {"graph": GraphView, "plots": PlotsView}
CURSOR_RANGE = (0, MAX_BYTES)


def _check_value(value, kind, meta, where: str):
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ProjectError(f"\"{where}\" must be {_KIND_NAMES[kind]}, not {quote(value)}.")
    if kind is float:
        try:
            value = float(value)
        except OverflowError:
            raise ProjectError(f"\"{where}\" is out of range ({quote(value)}).") from None
        if not math.isfinite(value):
            raise ProjectError(f"\"{where}\" must be a finite number, not {value!r}.")
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if choices and value not in choices:
        raise ProjectError(f"\"{where}\" must be one of {', '.join(map(repr, choices))}, "
                           f"not {quote(value)}.")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ProjectError(f"\"{where}\" must be between {lo:g} and {hi:g}, not {quote(value)}.")
    return value


_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
_FIELD_KINDS = {"float | None": float, "int | None": int, "bool | None": bool, "str | None": str}


def _parse_section(cls, data, where: str):
    if not isinstance(data, dict):
        raise ProjectError(f"\"{where}\" must be an object, not {quote(data)}.")
    values = {}
    for spec in dataclasses.fields(cls):
        value = data.get(spec.name)
        if value is not None:
            values[spec.name] = _check_value(value, _FIELD_KINDS[spec.type], spec.metadata,
                                             f"{where}.{spec.name}")
    return cls(**values)


def _section_to_json(section) -> dict:
    """Only the fields that are set (a missing field keeps the panel's default)."""
    return {k: v for k, v in dataclasses.asdict(section).items() if v is not None}


def parse_view(view) -> dict:
    """The view state checked field by field and returned as plain valid values; raises
    :class:`ProjectError` naming the first bad field (``view.plots.points``)."""
    if not isinstance(view, dict):
        raise ProjectError(f"\"view\" must be an object, not {quote(view)}.")
    clean = {}
    for key, value in view.items():
        if key == "cursor":
            if value is not None:
                clean[key] = _check_value(value, int, {"lo": CURSOR_RANGE[0], "hi": CURSOR_RANGE[1]},
                                          "view.cursor")
        elif key in VIEW_SECTIONS:
            clean[key] = _section_to_json(_parse_section(VIEW_SECTIONS[key], value, f"view.{key}"))
        else:
            clean[key] = value
    return clean


def clean_view_section(name: str, state: dict) -> dict:
    """A panel's state as it will be saved (checked like a loaded one: what is written
    can always be read back). Raises :class:`ProjectError` for a bad value."""
    if name not in VIEW_SECTIONS:
        _check_finite(state, f"view.{name}")
        return state
    return _section_to_json(_parse_section(VIEW_SECTIONS[name], state, f"view.{name}"))


def _check_finite(value, where: str):
    """Strict JSON: no NaN/Infinity anywhere in ``value`` (iterative: any nesting)."""
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ProjectError(f"\"{at}\" must be a finite number, not {item!r}.")
        if isinstance(item, dict):
            stack.extend((v, f"{at}.{k}") for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))


# --------------------------------------------------------------------------- the designs section
DESIGNS_VERSION = 1
MAX_DESIGNS = 100
MAX_TITLE = 200


def designs_to_json(designs: list, current: int = 0) -> dict:
    """The ``designs`` section (see the module docstring)."""
    return {"version": DESIGNS_VERSION,
            "documents": [{"title": entry.title, "design": entry.design} for entry in designs],
            "current": current if 0 <= current < len(designs) else 0}


def parse_designs(section, where: str = "designs") -> tuple:
    """``([DesignEntry], current)`` from a ``designs`` section, every design read by the
    design module's own strict reader; :class:`ProjectError` names the first problem
    (a newer section, a design that cannot be read)."""
    if not isinstance(section, dict):
        raise ProjectError(f"\"{where}\" must be an object, not {quote(section)}.")
    version = section.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"\"{where}.version\" is invalid ({quote(version)}).")
    if version > DESIGNS_VERSION:
        raise ProjectError(f"its designs were written by a newer GradStudio (designs version "
                           f"{version}; this one reads version {DESIGNS_VERSION}).")
    documents = section.get("documents")
    if not isinstance(documents, list) or len(documents) > MAX_DESIGNS:
        raise ProjectError(f"\"{where}.documents\" must be a list of at most {MAX_DESIGNS} designs.")
    current = section.get("current", 0)
    if not isinstance(current, int) or isinstance(current, bool):
        raise ProjectError(f"\"{where}.current\" must be a whole number, not {quote(current)}.")
    return [_design_entry(raw, f"{where}.documents[{i}]") for i, raw in enumerate(documents)], current


def _design_entry(raw, where: str) -> DesignEntry:
    # the design module reads the op table (the engine): imported only for a file with designs
    from gradstudio.studio.design import DesignError, from_json as design_from_json
    if not isinstance(raw, dict):
        raise ProjectError(f"\"{where}\" must be an object, not {quote(raw)}.")
    title = raw.get("title", "design")
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise ProjectError(f"\"{where}.title\" must be text of at most {MAX_TITLE} characters.")
    try:
        design = design_from_json(raw.get("design")).to_json()
    except DesignError as error:
        raise ProjectError(f"the design {quote(title)} (\"{where}\") cannot be read: {error}.") from None
    return DesignEntry(title, design)


def _old_designs(view: dict):
    """A file from before the designs section kept them in the editor's view state:
    ``(that section's form, the view without them)``, or ``(None, view)``."""
    editor = view.get("editor")
    if not isinstance(editor, dict) or "designs" not in editor:
        return None, view
    section = {"version": 1, "documents": editor.get("designs"), "current": editor.get("current", 0)}
    rest = {k: v for k, v in editor.items() if k not in ("designs", "current")}
    view = dict(view)
    if rest:
        view["editor"] = rest
    else:
        del view["editor"]
    return section, view


# --------------------------------------------------------------------------- JSON
def to_json(project: Project, extra: dict | None = None) -> str:
    """The project file's text: strict JSON (a non-finite number is a :class:`ProjectError`,
    never ``NaN``/``Infinity`` on disk). The designs section is written only when there
    are designs, so a script-only project's file is what it always was."""
    data = {"format": FORMAT, "version": VERSION, "script": project.script, "view": project.view}
    if project.designs:
        data["designs"] = designs_to_json(project.designs, project.current_design)
    if extra:
        data.update(extra)
    try:
        return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        _check_finite(data, "project")        # names the field
        raise ProjectError("the project holds a value that is not plain JSON.") from None
    except (TypeError, RecursionError) as error:
        raise ProjectError(f"the project holds a value that is not plain JSON ({error}).") from None


def _strict_loads(text: str):
    """``json.loads`` that refuses NaN, Infinity and numbers too large for a float."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {quote(text)} is too large")
    return value


def from_json(text: str, source: str = "the file") -> Project:
    """Parse and validate a whole project; raises :class:`ProjectError` with a clear message."""
    data = _parse_json(text, source)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectError(f"{source} is not a GradStudio project (no \"format\": \"{FORMAT}\").")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{source} has an invalid version ({quote(version)}).")
    if version > VERSION:
        raise ProjectError(f"{source} was made by a newer GradStudio (version {quote(version)}); "
                           f"this one reads version {VERSION}. Nothing was changed.")
    script = data.get("script", "")
    if not isinstance(script, str):
        raise ProjectError(f"{source} is damaged: \"script\" must be text.")
    try:
        view = parse_view(data.get("view", {}))
    except ProjectError as error:
        raise ProjectError(f"{source} is damaged: {error}") from None
    section = data.get("designs")
    if section is None:
        section, view = _old_designs(view)
    designs, current = [], 0
    if section is not None:
        try:
            designs, current = parse_designs(section)
        except ProjectError as error:
            why = str(error)
            lead = f"{source} cannot be opened: " if "newer GradStudio" in why else f"{source} is damaged: "
            raise ProjectError(f"{lead}{why} Nothing was changed.") from None
    return Project(script=script, view=view, designs=designs, current_design=current)


def _parse_json(text: str, source: str):
    try:
        return _strict_loads(text)
    except (json.JSONDecodeError, ValueError) as error:
        raise ProjectError(f"{source} is not a valid GradStudio project: it is damaged or not "
                           f"JSON ({str(error)[:200]}).") from None
    except RecursionError:
        raise ProjectError(f"{source} is not a valid GradStudio project: it is nested too "
                           "deeply.") from None


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


def load(path: str) -> Project:
    """Open a ``.gradstudio`` project, a ``.py`` script or an ``.ipynb`` notebook.
    Never runs anything; raises :class:`ProjectError` with a message for the user."""
    name = os.path.basename(path)
    text = read_text(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == NOTEBOOK_SUFFIX:
        from gradstudio.studio import notebook
        return Project(script=notebook.to_script(text, name))
    if suffix in (PROJECT_SUFFIX, ".json"):
        return from_json(text, name)
    return Project(script=text)


# --------------------------------------------------------------------------- writing
def _temp_pattern(name_pattern: str):
    return re.compile(r"^\.~(?:" + name_pattern + r")\.(\d+)\.[A-Za-z0-9_]+\.tmp$")


def remove_stale_temp_files(path: str, *, name_pattern: str | None = None) -> list:
    """Delete the temp files a killed save of ``path`` left behind: only names of
    :func:`write_atomic`'s own pattern (for ``path``'s name, or any name matching the
    regex ``name_pattern`` in ``path``'s directory), and only those of processes no
    longer running. Returns the names removed."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern, removed = _temp_pattern(name_pattern or re.escape(name)), []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for candidate in names:
        match = pattern.match(candidate)
        if match is None or int(match.group(1)) == os.getpid() or _pid_running(int(match.group(1))):
            continue
        try:
            os.unlink(os.path.join(directory, candidate))
            removed.append(candidate)
        except OSError:
            pass
    return removed


def write_atomic(path: str, data: bytes):
    """Replace ``path`` with ``data`` atomically (temp file in the same directory,
    fsync, ``os.replace``). A symlink is followed: its target is replaced and the link
    stays. On failure the temp file is removed, the original is untouched, and
    :class:`ProjectError` says why."""
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    remove_stale_temp_files(path)
    fd, temp = None, None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".~{os.path.basename(path)}.{os.getpid()}.",
                                    suffix=".tmp", dir=directory)
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


def encode(text: str, what: str = "the script") -> bytes:
    """UTF-8 bytes, or a :class:`ProjectError` saying where a character cannot be saved
    (a lone surrogate, e.g. from a broken paste)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        line = text.count("\n", 0, error.start) + 1
        bad = ord(text[error.start])
        raise ProjectError(f"{what} holds a character that cannot be saved as UTF-8 "
                           f"(U+{bad:04X}, a lone surrogate, on line {line}); delete it "
                           "and save again.") from None


def save(project: Project, path: str):
    """Save atomically: a ``.py`` path gets the script text, an ``.ipynb`` path a notebook
    (outputs of unchanged cells kept, others dropped), anything else the project JSON."""
    suffix = os.path.splitext(path)[1].lower()
    script = encode(project.script)       # names the line of a character UTF-8 cannot hold
    if suffix == ".py":
        write_atomic(path, script)
        return
    if suffix == NOTEBOOK_SUFFIX:
        previous = None
        if os.path.exists(path):
            try:
                previous = read_text(path)
            except ProjectError:
                previous = None
        from gradstudio.studio import notebook
        data = notebook.from_script(project.script, previous)
    else:
        data = to_json(project)
    write_atomic(path, encode(data, "the project"))


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
    write_atomic(path, encode(to_json(project, extra), "the recovery copy"))


PID_RANGE = (1, 2 ** 31 - 1)                  # pid_t
SAVED_AT_RANGE = (0.0, 253402300799.0)        # up to 9999-12-31, what time.localtime can show


def read_recovery(path: str) -> Recovery:
    """One recovery file, checked whole (project and ``"recovery"`` entry); raises
    :class:`ProjectError` naming what is wrong."""
    name = os.path.basename(path)
    text = read_text(path)
    project = from_json(text, name)
    info = _strict_loads(text).get("recovery")
    if not isinstance(info, dict):
        raise ProjectError(f"{name} is damaged: \"recovery\" must be an object, not {quote(info)}.")
    original = info.get("original")
    if original is not None and not (isinstance(original, str) and original):
        raise ProjectError(f"{name} is damaged: \"recovery.original\" must be a path, "
                           f"not {quote(original)}.")
    try:
        pid = info.get("pid")
        if pid is not None:
            pid = _check_value(pid, int, {"lo": PID_RANGE[0], "hi": PID_RANGE[1]}, "recovery.pid")
        saved_at = _check_value(info.get("saved_at"), float,
                                {"lo": SAVED_AT_RANGE[0], "hi": SAVED_AT_RANGE[1]}, "recovery.saved_at")
    except ProjectError as error:
        raise ProjectError(f"{name} is damaged: {error}") from None
    return Recovery(path, original, saved_at, pid, project)


@dataclass
class RecoveryScan:
    """What a look into the recovery directory found: copies to offer (newest first) and
    damaged files set aside, as (new path, reason)."""

    found: list = field(default_factory=list)
    damaged: list = field(default_factory=list)


def scan_recoveries(directory: str, *, include_live: bool = False) -> RecoveryScan:
    """Recovery files left in ``directory`` by processes that are no longer running
    (newest first). Each file is judged alone: a damaged one is renamed
    ``<name>.damaged`` (kept for the user, never offered again) and reported."""
    scan = RecoveryScan()
    # autosaves killed mid-write (each process writes its own recovery name)
    remove_stale_temp_files(os.path.join(directory, RECOVERY_PREFIX),
                            name_pattern=re.escape(RECOVERY_PREFIX) + r"[^/]*" + re.escape(PROJECT_SUFFIX))
    try:
        names = os.listdir(directory)
    except OSError:
        return scan
    for name in names:
        if not (name.startswith(RECOVERY_PREFIX) and name.endswith(PROJECT_SUFFIX)):
            continue
        path = os.path.join(directory, name)
        try:
            recovery = read_recovery(path)
        except ProjectError as error:
            scan.damaged.append((_set_aside(path), str(error)))
            continue
        if recovery.pid is not None and not include_live and \
                (recovery.pid == os.getpid() or _pid_running(recovery.pid)):
            continue
        scan.found.append(recovery)
    scan.found.sort(key=lambda r: r.saved_at, reverse=True)
    return scan


def find_recoveries(directory: str, *, include_live: bool = False) -> list:
    """The copies :func:`scan_recoveries` would offer (newest first)."""
    return scan_recoveries(directory, include_live=include_live).found


def _set_aside(path: str) -> str:
    target = path + DAMAGED_SUFFIX
    try:
        os.replace(path, target)
        return target
    except OSError:
        return path


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
