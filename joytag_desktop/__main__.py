"""Allow ``python -m joytag_desktop``."""

import sys

from joytag_desktop.launch import main

sys.exit(main())
