"""``python -m logdriver``: same as the ``logdriver`` command."""

import sys

from .cli import main

sys.exit(main())
