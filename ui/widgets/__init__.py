"""Reusable widgets of the app (no knowledge of the model)."""
