"""``python -m gradstudio`` is the ``gradstudio`` command (:mod:`gradstudio.ui.cli`)."""
from gradstudio.ui.cli import main

raise SystemExit(main())
