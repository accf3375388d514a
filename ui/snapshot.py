"""``gradstudio snapshot FILE -o out.png [--size WxH]``: a picture of the app with FILE run.

Opens the main window offscreen (its own throw-away settings, no autosave),
opens FILE, runs every cell — going on past a cell whose error is a failed
``backward()``, as ``gradstudio check`` does — waits until the outputs, the
derivations and every panel are done (a panel may define ``is_busy()``), and
saves ``window.grab()``.

Exit 0 when the picture is saved and the script ran to the end; 1 when it is
saved but a cell stopped the script (the picture shows the error); 2 when no
picture could be made (unreadable file, timeout, bad arguments).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time

DEFAULT_SIZE = (1440, 900)


def _size(text: str) -> tuple:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, like 1440x900 (got {text!r})")
    if not (200 <= width <= 10000 and 200 <= height <= 10000):
        raise argparse.ArgumentTypeError("width and height must be between 200 and 10000")
    return width, height


def _parse(argv):
    parser = argparse.ArgumentParser(prog="gradstudio snapshot",
                                     description="Render the GradStudio window with FILE run, to a PNG.")
    parser.add_argument("file", help="a .gradstudio project, .py script or .ipynb notebook")
    parser.add_argument("-o", "--output", required=True, help="the picture to write (.png)")
    parser.add_argument("--size", type=_size, default=DEFAULT_SIZE, help="window size WxH (default 1440x900)")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the script and its derivations (default 180)")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--no-run", action="store_true", help="open FILE without running it")
    parser.add_argument("--show", action="append", default=[], metavar="PANEL",
                        help="bring a tabbed panel to the front (e.g. plots); may be repeated")
    return parser.parse_args(argv)


def script_stopped(model) -> str | None:
    """Why the run stopped early (an error that is not a failed backward()), or None."""
    for run in model.console.runs:
        if run.ok:
            continue
        failed_backward = any(model.calls.call(i) is not None and model.calls.call(i).status == "error"
                              for i in run.backward_calls)
        if not failed_backward:
            line = f", line {run.error_line}" if run.error_line else ""
            return f"cell {run.cell}{line}: {run.error_type}: {run.error}"
    return None


def wait_until(app, condition, timeout: float, poll: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(poll)
    return False


def all_done(window) -> bool:
    """Whether the kernel is idle and no panel is still deriving, drawing or laying out."""
    if not window.runner.is_idle():
        return False
    return not any(getattr(p, "is_busy", lambda: False)() for p in window.panels.values())


def main(argv=None) -> int:
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    if not os.path.exists(args.file):
        print(f"gradstudio snapshot: no such file: {args.file}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication
    if QApplication.instance() is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"     # never flash a window on the user's screen

    from . import theme
    from .app import application
    from .errors import ErrorReporter, install_excepthook

    app = application()
    theme.apply_theme(app, args.theme)
    reporter = ErrorReporter()
    previous_hook = install_excepthook(reporter)
    try:
        with scratch_window(app, theme_name=args.theme, reporter=reporter) as window:
            return _snapshot(app, window, args)
    finally:
        sys.excepthook = previous_hook


@contextlib.contextmanager
def scratch_window(app, *, theme_name: str | None = None, reporter=None):
    """A main window with throw-away settings, no autosave, no recovery files and the
    default layout; shut down (kernel included) and closed afterwards."""
    from PySide6.QtCore import QSettings

    from .main_window import MainWindow
    from .settings import Settings

    with tempfile.TemporaryDirectory(prefix="gradstudio-scratch-") as scratch:
        settings = Settings(QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat))
        if theme_name is not None:
            settings.set_theme(theme_name)
        window = MainWindow(settings, reporter=reporter, recovery_dir=None, autosave=False,
                            restore_layout=False)
        try:
            yield window
        finally:
            window.shutdown()
            window.close()
            window.deleteLater()
            app.processEvents()


def _snapshot(app, window, args) -> int:
    width, height = args.size
    window.resize(width, height)
    window.show()
    if not window.open_path(args.file, interactive=False):
        print(f"gradstudio snapshot: {window.documents.last_error}", file=sys.stderr)
        return 2
    for name in args.show:
        dock = window.docks.get(name)
        if dock is None:
            print(f"gradstudio snapshot: no panel named {name!r} (panels: {', '.join(window.docks)})",
                  file=sys.stderr)
            return 2
        dock.show()
        dock.raise_()
    if not args.no_run:
        window.runner.run_all()

    if not wait_until(app, lambda: all_done(window), args.timeout):
        print(f"gradstudio snapshot: timed out after {args.timeout:g} s ({window.model.kernel.status or 'waiting'})",
              file=sys.stderr)
        return 2
    wait_until(app, lambda: False, 0.3)          # let pending repaints and idle draws land
    picture = window.grab()
    if picture.isNull() or not picture.save(args.output):
        print(f"gradstudio snapshot: could not write {args.output}", file=sys.stderr)
        return 2
    stopped = script_stopped(window.model)
    errors = window.reporter.errors
    print(f"wrote {args.output} ({picture.width()}×{picture.height()})")
    for summary, _ in errors:
        print(f"gradstudio snapshot: error in the app: {summary}", file=sys.stderr)
    if stopped:
        print(f"gradstudio snapshot: the script stopped at {stopped}", file=sys.stderr)
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
