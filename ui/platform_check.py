"""Before the QApplication exists: can Qt's xcb platform plugin load on this Linux machine?

Qt aborts the whole process when its platform plugin fails, with a message that
often names the wrong library ("xcb-cursor0 is needed" although that one is
installed and ``libxcb-icccm4`` is what is missing). This module asks ``ldd`` which
libraries of PySide6's ``libqxcb.so`` are "not found", maps their sonames to the
Debian/Ubuntu packages that provide them, and gives the one apt line that
installs them all, so :func:`gradstudio.ui.app.main` can say so and exit
instead of letting Qt abort. Nothing here imports QtGui or QtWidgets.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# soname -> Debian package, for what Qt's xcb plugin links (Qt's own list of xcb
# requirements plus the GL/EGL/font libraries under them).
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}

# What the README's Quick start installs (the full set, not only what one machine lacks).
QUICK_START_PACKAGES = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0",
                        "libxcb-render-util0", "libxcb-shape0", "libxcb-xkb1", "libxkbcommon-x11-0",
                        "libegl1", "libgl1")

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)


def missing_sonames(ldd_output: str) -> list:
    """The sonames ``ldd`` reports as "not found", each once, in its order."""
    seen = []
    for name in _NOT_FOUND.findall(ldd_output):
        if name not in seen:
            seen.append(name)
    return seen


def debian_package(soname: str) -> str:
    """The Debian package that ships ``soname``: from the table, else by Debian's
    naming rule (``libfoo-bar.so.3`` → ``libfoo-bar3``, ``libfoo2.so.1`` → ``libfoo2-1``)."""
    known = DEBIAN_PACKAGES.get(soname)
    if known:
        return known
    match = re.fullmatch(r"(lib[\w.+-]+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if not match:
        return soname
    name, version = match.group(1).lower(), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def apt_line(packages) -> str:
    return "sudo apt-get install " + " ".join(dict.fromkeys(packages))


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so`` (found without importing QtGui), or None."""
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def wants_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will try the xcb plugin: Linux, and QT_QPA_PLATFORM unset or naming
    xcb (offscreen, wayland, vnc … do not need these libraries)."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if not chosen:
        return not (environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland")
    return "xcb" in [part.split(":")[0].strip() for part in chosen.split(";")]


def run_ldd(plugin: Path) -> str | None:
    """``ldd plugin``'s output, or None when ldd is not there or fails."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout + done.stderr


def missing_libraries_message(ldd_output: str, plugin: str = "libqxcb.so") -> str | None:
    """What to tell the user when ``ldd_output`` has "not found" entries (None if none)."""
    missing = missing_sonames(ldd_output)
    if not missing:
        return None
    packages = [debian_package(name) for name in missing]
    lines = [f"GradStudio cannot open its window: Qt's X11 platform plugin ({plugin}) needs "
             f"system libraries that are not installed:"]
    lines += [f"  {name}  (package {package})" for name, package in zip(missing, packages)]
    lines += ["On Debian or Ubuntu, install them with:", f"  {apt_line(packages)}",
              "(or run without a display: QT_QPA_PLATFORM=offscreen gradstudio snapshot …)"]
    return "\n".join(lines)


def check_xcb(environ=os.environ, platform: str = sys.platform, ldd=run_ldd) -> str | None:
    """The message about missing libraries if Qt would use xcb and cannot, else None."""
    if not wants_xcb(environ, platform):
        return None
    plugin = xcb_plugin()
    if plugin is None:
        return None
    output = ldd(plugin)
    return missing_libraries_message(output, str(plugin)) if output else None
