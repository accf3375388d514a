"""``python -m gradstudio`` is the ``gradstudio`` command."""
from gradstudio.studio.cli import main

raise SystemExit(main())
