"""Settings read once, at import (which is why each function needs its own copy of this module)."""

import os

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "")
TABLE_NAME = os.environ.get("TABLE_NAME", "")
