"""``python -m attribution`` runs the command line."""

import sys

from attribution.cli.main import main

sys.exit(main())
