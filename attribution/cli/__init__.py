"""The ``attribution`` command line."""
