"""Security-relevant events (logins, imports, exports, bulk actions) go to one logger.

Operators route ``backoffice.audit`` wherever they keep audit trails; the admin
history (LogEntry) still records object changes where one fits.
"""

from __future__ import annotations

import logging
from typing import Any

audit_logger = logging.getLogger("backoffice.audit")


def audit_event(event: str, *, user: Any = None, **details: Any) -> None:
    """Log one audit event, e.g. ``audit_event("import.completed", user=u, job_id=3)``."""
    who = getattr(user, "get_username", lambda: None)() if user is not None else None
    extra = " ".join(f"{key}={value!r}" for key, value in sorted(details.items()))
    audit_logger.info("%s user=%s %s", event, who or "-", extra, extra={"audit_event": event, **details})
