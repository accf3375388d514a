"""The explorer: what GradStudio adds on top of the torch-shaped engine.

``session`` runs cells and records backward calls, ``trace`` holds a recorded
graph as data, ``symbolic`` derives closed forms, ``compare`` and ``check``
put engine, symbolic, finite differences and torch side by side, ``kernel``
is the worker process and the records it sends, ``project`` the files and
``figures`` the layout and plots. Numpy, sympy and ``matplotlib.figure`` —
never Qt; the engine (:mod:`gradstudio` outside this package) never imports
anything from here.
"""
