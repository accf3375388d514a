"""The window as a whole: settings that survive a restart, layout, theme, errors
that reach the screen, the command line entry points."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage, QPalette

from gradstudio.ui import errors, theme
from gradstudio.ui.settings import Settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env(tmp_path) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=ROOT)
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / "xdg" / name.lower())
    return env


def test_settings_types_survive_a_fresh_process(tmp_path):
    ini = tmp_path / "s.ini"
    existing = tmp_path / "only.gradstudio"
    existing.write_text("{}")
    settings = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    settings.add_recent(str(existing))           # a one-item list
    settings.set_autosave_seconds(45)
    settings.set_derive_timeout(7.5)
    settings.set_flag("tried", True)
    settings.set_theme("dark")
    from PySide6.QtCore import QByteArray
    settings.set_geometry(QByteArray(b"\x01\x02geometry"))
    settings.sync()
    reader = textwrap.dedent(f"""
        import json
        from PySide6.QtCore import QSettings
        from gradstudio.ui.settings import Settings
        s = Settings(QSettings({str(ini)!r}, QSettings.Format.IniFormat))
        print(json.dumps({{"recent": s.recent_files(), "autosave": s.autosave_seconds(),
                          "timeout": s.derive_timeout(), "flag": s.flag("tried"),
                          "missing_flag": s.flag("never"), "theme": s.theme(),
                          "geometry": bytes(s.geometry().data()).hex(),
                          "types": [type(s.autosave_seconds()).__name__, type(s.flag("tried")).__name__,
                                    type(s.recent_files()).__name__]}}))
    """)
    out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got == {"recent": [str(existing)], "autosave": 45, "timeout": 7.5, "flag": True,
                   "missing_flag": False, "theme": "dark", "geometry": b"\x01\x02geometry".hex(),
                   "types": ["int", "bool", "list"]}


def test_recent_files_are_capped_deduplicated_and_pruned(tmp_path):
    settings = Settings(QSettings(str(tmp_path / "r.ini"), QSettings.Format.IniFormat))
    paths = []
    for i in range(12):
        p = tmp_path / f"f{i}.py"
        p.write_text("")
        paths.append(str(p))
        settings.add_recent(str(p))
    settings.add_recent(paths[5])
    recent = settings.recent_files()
    assert len(recent) == 8 and recent[0] == paths[5] and len(set(recent)) == 8
    os.unlink(paths[5])
    assert paths[5] not in settings.recent_files()


def test_corrupt_settings_fall_back_to_defaults(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("[files]\nautosave_seconds=lots\n[view]\ntheme=purple\n[recent]\nfiles=@Invalid(\n")
    settings = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert settings.theme() == "system"
    assert isinstance(settings.autosave_seconds(), int)
    assert isinstance(settings.recent_files(), list)


def test_layout_persists(qtbot, make_window):
    first = make_window()
    first.docks["inspector"].hide()
    first.resize(1200, 800)
    first.close()
    second = make_window()
    assert second.docks["inspector"].isHidden()
    assert not second.docks["compare"].isHidden()
    assert not second.actions["show_inspector"].isChecked()
    second.actions["show_inspector"].trigger()
    assert not second.docks["inspector"].isHidden()


def test_menus_have_the_commands(window):
    menus = {a.text().replace("&", ""): [x.text().replace("&", "") for x in a.menu().actions() if x.text()]
             for a in window.menuBar().actions()}
    assert menus["File"] == ["New", "Open…", "Open Example", "Open Recent", "Save", "Save As…", "Quit"]
    assert menus["Run"] == ["Run Cell", "Run Cell and Advance", "Run All", "Interrupt", "Restart Kernel",
                            "Clear Console"]
    assert {"Script", "Compare", "Inspector"} <= set(menus["View"])
    assert menus["Help"] == ["Examples…", "Keyboard Shortcuts", "About GradStudio"]
    assert window.actions["run_cell"].shortcut().toString() == "Ctrl+Return"


def test_help_windows_are_not_modal(qtbot, window):
    window.actions["shortcuts"].trigger()
    window.actions["about"].trigger()
    qtbot.wait(100)   # the modal-dialog guard would fail the test


def test_uncaught_errors_reach_the_window(qtbot, window):
    previous = errors.install_excepthook(window.reporter)
    try:
        try:
            raise ValueError("boom in a slot")
        except ValueError as error:
            import sys as _sys
            _sys.excepthook(type(error), error, error.__traceback__)
    finally:
        import sys as _sys
        _sys.excepthook = previous
    assert window.error_button.isVisible()
    assert "boom in a slot" in window.error_button.text()
    window.actions["show_errors"].trigger()
    assert "ValueError: boom in a slot" in window.error_log.text.toPlainText()
    assert not window.error_log.isModal()


def test_slot_exceptions_are_captured_by_qt(qtbot, window):
    def broken(*args):
        raise RuntimeError("broken panel")
    window.model.tensors.tensorsChanged.connect(broken)
    with qtbot.captureExceptions() as caught:
        window.model.tensors.set_tensors([])
    assert len(caught) == 1 and caught[0][0] is RuntimeError


def test_dark_and_light_follow_the_choice(qtbot, window, qapp):
    try:
        window.set_theme("dark")
        assert theme.is_dark(qapp.palette())
        assert qapp.palette().color(QPalette.ColorRole.Base).lightness() < 100
        assert window.settings.theme() == "dark"
        editor = window.panel("script").editor
        qtbot.waitUntil(lambda: theme.is_dark(editor.palette()), timeout=2000)
        keyword = editor.highlighter.formats["keyword"].foreground().color().name()
        assert keyword == theme.colors(editor.palette())["keyword"], "the highlighter follows"
    finally:
        window.set_theme("light")
    assert not theme.is_dark(qapp.palette())


def test_smoke_test_entry_point(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gradstudio.ui.cli", "--smoke-test"], capture_output=True,
                         text=True, env=_env(tmp_path), timeout=90, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_snapshot_command(tmp_path):
    picture = tmp_path / "shot.png"
    out = subprocess.run([sys.executable, "-m", "gradstudio.ui.cli", "snapshot",
                          os.path.join(ROOT, "resources", "examples", "autograd_tutorial.py"),
                          "-o", str(picture), "--size", "1100x700"],
                         capture_output=True, text=True, env=_env(tmp_path), timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    image = QImage(str(picture))
    assert (image.width(), image.height()) == (1100, 700)
    colours = {image.pixel(x, y) for x in range(0, 1100, 50) for y in range(0, 700, 50)}
    assert len(colours) > 5


def test_snapshot_fails_clearly(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gradstudio.ui.cli", "snapshot", str(tmp_path / "nope.py"),
                          "-o", str(tmp_path / "x.png")], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "no such file" in out.stderr
    bad = tmp_path / "bad.gradstudio"
    bad.write_text("{")
    out = subprocess.run([sys.executable, "-m", "gradstudio.ui.cli", "snapshot", str(bad),
                          "-o", str(tmp_path / "x.png")], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "not a valid GradStudio project" in out.stderr
    assert not (tmp_path / "x.png").exists()


def test_many_signal_emits_do_not_crash_the_interpreter(tmp_path):
    """PySide6 6.12 + CPython 3.11 lose a reference to True per emit(); importing
    gradstudio.ui protects against the resulting abort (see ui/qt_workarounds.py)."""
    code = textwrap.dedent("""
        import gradstudio.ui
        from PySide6.QtCore import QObject, Signal
        class O(QObject):
            s = Signal(bool)
        o = O()
        got = []
        o.s.connect(got.append)
        for _ in range(20000):
            o.s.emit(True)
        print(len(got))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "20000"
