"""Package discovery with the folder mapping: ``ui/`` is installed as
``gradstudio.ui`` and ``resources/`` as ``gradstudio.resources``. Every package
folder under each root is found, so a new subpackage can never be left out of
the wheel (everything else is in pyproject.toml)."""
from setuptools import find_packages, setup

ROOTS = {"gradstudio": "gradstudio", "gradstudio.ui": "ui", "gradstudio.resources": "resources"}

setup(
    package_dir=ROOTS,
    packages=[f"{name}.{sub}" if sub else name
              for name, folder in ROOTS.items() for sub in ["", *find_packages(folder)]],
)
