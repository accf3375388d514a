"""``python -m gradstudio`` is the ``gradstudio`` command."""
from .cli import main

raise SystemExit(main())
