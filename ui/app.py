"""``gradstudio [FILE]``: start the desktop app.

First checks that Qt's Linux platform plugin can load (:mod:`.platform_check`:
which system libraries are missing, and the apt line), then creates (or reuses) the QApplication, Fusion style with a light or dark
palette following the platform, installs the excepthook that shows uncaught
errors in the window, builds :class:`MainWindow`, opens FILE if given (never
running it) or offers to recover work left by a crash, and runs the event loop.
"""
from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from . import theme
from .errors import ErrorReporter, install_excepthook

ORGANIZATION = "GradStudio"
APPLICATION = "GradStudio"


def application(argv: list | None = None) -> QApplication:
    """The QApplication (the existing one if there is one: Qt allows only one)."""
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "gradstudio", *(argv or [])])
    QGuiApplication.setDesktopFileName("gradstudio")
    return app


def follow_platform_theme(app: QApplication, settings) -> None:
    """Apply the preferred theme now and whenever the platform switches light/dark."""
    theme.apply_theme(app, settings.theme())
    hints = QGuiApplication.styleHints()
    if hints is not None and hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(
            lambda scheme: settings.theme() == "system" and theme.apply_theme(app, "system"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gradstudio", description="The GradStudio desktop app.")
    parser.add_argument("file", nargs="?", help="a .gradstudio project, .py script or .ipynb notebook "
                                                "to open (it is not run until you press Run)")
    parser.add_argument("--smoke-test", action="store_true",
                        help="open the window, wait for the kernel, close, exit 0")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    # before the QApplication: Qt aborts the process when its platform plugin cannot load
    from .platform_check import check_xcb
    problem = check_xcb()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    app = application()
    from .main_window import MainWindow
    from .settings import Settings
    settings = Settings()
    follow_platform_theme(app, settings)
    reporter = ErrorReporter()
    previous_hook = install_excepthook(reporter)
    window = MainWindow(settings, reporter=reporter)
    window.show()
    if args.file:
        if not window.open_path(args.file, interactive=True):
            pass   # the window says why; the app stays open with an empty document
    else:
        QTimer.singleShot(0, window.documents.offer_recovery)
    if args.smoke_test:
        def finish():
            if window.model.kernel.kernel_state == "idle" or finish.tries > 300:
                window.close()
            else:
                finish.tries += 1
                QTimer.singleShot(100, finish)
        finish.tries = 0
        QTimer.singleShot(100, finish)
    try:
        code = app.exec()
    finally:
        window.shutdown()
        sys.excepthook = previous_hook
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
