"""The receivables API: posting facts one at a time or in batches (posting.py) and reading them
with the customers' receivables (reading.py), both on one router (common.py), mounted at
/api/v1/ by custguard.api."""

from custguard.ledger.api import posting, reading
from custguard.ledger.api.common import router

__all__ = ["posting", "reading", "router"]
