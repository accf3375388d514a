"""Linux: when Qt's xcb plugin cannot load, say which libraries are missing and
the apt line, before the QApplication (Qt would abort the process) — issue 8."""
from __future__ import annotations

from pathlib import Path

from gradstudio.ui import app, platform_check

# ldd of PySide6's libqxcb.so on a fresh Debian machine (trimmed)
LDD = """\
\tlinux-vdso.so.1 (0x00007ffd6c5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007fd64a77f000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007fd649b72000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibEGL.so.1 => not found
\tlibxcb-shape.so.0 => /lib/x86_64-linux-gnu/libxcb-shape.so.0 (0x00007fd6493cb000)
\tlibxcb-icccm.so.4 => not found
\tlibfoo-bar.so.3 => not found
\tlibxcb-keysyms.so.1 => not found
"""


def test_missing_sonames_each_once_and_their_packages():
    missing = platform_check.missing_sonames(LDD)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0",
                       "libEGL.so.1", "libfoo-bar.so.3"]
    assert [platform_check.debian_package(m) for m in missing] == [
        "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0", "libegl1", "libfoo-bar3"]
    assert platform_check.debian_package("libpng16.so.16") == "libpng16-16"


def test_the_message_names_the_libraries_and_the_apt_line():
    message = platform_check.missing_libraries_message(LDD)
    assert "libxcb-icccm.so.4  (package libxcb-icccm4)" in message
    assert "libxcb-cursor" not in message            # installed: not blamed
    assert ("sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libegl1 libfoo-bar3"
            in [line.strip() for line in message.splitlines()])
    assert platform_check.missing_libraries_message(LDD.replace("not found", "/lib/x.so")) is None


def test_only_when_qt_would_use_xcb():
    linux = "linux"
    assert platform_check.wants_xcb({}, linux)
    assert platform_check.wants_xcb({"QT_QPA_PLATFORM": "xcb"}, linux)
    assert platform_check.wants_xcb({"QT_QPA_PLATFORM": "wayland;xcb"}, linux)
    assert not platform_check.wants_xcb({"QT_QPA_PLATFORM": "offscreen"}, linux)
    assert not platform_check.wants_xcb({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, linux)
    assert not platform_check.wants_xcb({}, "darwin")
    calls = []
    assert platform_check.check_xcb({"QT_QPA_PLATFORM": "offscreen"}, linux,
                                    ldd=lambda p: calls.append(p) or LDD) is None
    assert not calls                                  # ldd is not even run
    message = platform_check.check_xcb({}, linux, ldd=lambda p: LDD)
    assert message is None or "libxcb-icccm4" in message    # None only without PySide6's plugin


def test_main_says_so_and_exits_before_creating_the_application(monkeypatch, capsys):
    import gradstudio.ui.platform_check as check

    def no_application(*args):
        raise AssertionError("the QApplication must not be created")

    monkeypatch.setattr(check, "check_xcb", lambda: platform_check.missing_libraries_message(LDD))
    monkeypatch.setattr(app, "application", no_application)
    assert app.main([]) == 1
    assert "sudo apt-get install libxcb-icccm4" in capsys.readouterr().err


def test_the_readme_quick_start_has_the_apt_line():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert platform_check.apt_line(platform_check.QUICK_START_PACKAGES) in quick_start
