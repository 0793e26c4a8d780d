"""``python -m attribution`` runs the command line."""

import sys

from attribution.cli.main import main

# Guarded: the worker processes of a local Dask cluster (--engine dask) are spawned, and
# a spawned process imports the parent's main module.
if __name__ == "__main__":
    sys.exit(main())
