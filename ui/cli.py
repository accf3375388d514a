"""The ``gradstudio`` command (console entry point ``gradstudio.ui.cli:main``).

``gradstudio [FILE]`` opens the app; ``gradstudio check SCRIPT`` checks a
script's gradients three ways; ``gradstudio snapshot FILE -o out.png`` renders
the app offscreen. The dispatcher lives in the app's layer because it starts
the app; the studio layer never imports ``gradstudio.ui``. Subcommands import
what they need when they run: ``check`` is :mod:`gradstudio.studio.check` and
none of the app's widgets, and the app starts without sympy.
"""
from __future__ import annotations

import sys
import time

USAGE = """usage: gradstudio [FILE]                      open the app (optionally with a file)
       gradstudio check SCRIPT [--json] [--timeout S] [--memory GB] [--no-torch]
                                              run SCRIPT and check every backward() call
       gradstudio snapshot FILE -o OUT.png [--size WxH]
                                              render the window with FILE, all cells run
       gradstudio --version"""


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv and argv[0] == "--version":
        from gradstudio import __version__
        print(f"gradstudio {__version__}")
        return 0
    if argv and argv[0] == "check":
        try:  # Ctrl+C while Python is still importing: before check installs its handlers
            from gradstudio.studio.check import main as check_main
        except KeyboardInterrupt:
            print("gradstudio check: interrupted", file=sys.stderr)
            return 130
        from gradstudio.studio import lifeline
        return check_main(argv[1:], started=time.monotonic() - lifeline.seconds_since_start())
    if argv and argv[0] == "snapshot":
        from gradstudio.ui.snapshot import main as snapshot_main
        return snapshot_main(argv[1:])
    try:
        from gradstudio.ui.app import main as app_main
    except ImportError as error:
        print(f"gradstudio: the desktop app is not available ({error}).\n{USAGE}", file=sys.stderr)
        return 2
    return app_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
