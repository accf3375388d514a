"""Widgets of the Plots panel: one matplotlib canvas with its toolbar
(:mod:`.view`) and the export dialog (:mod:`.export`). The plots themselves
are drawn by :mod:`gradstudio.studio.figures.plotting`."""
