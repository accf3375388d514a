"""The app's worker process (``worker``) and the records it sends to the window (``records``)."""
