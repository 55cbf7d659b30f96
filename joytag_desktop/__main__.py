"""Allow ``python -m joytag_desktop``."""

import sys

from joytag_desktop.cli.main import main

sys.exit(main())
