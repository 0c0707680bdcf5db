"""Online detection: the scan's signals, state and checks, one request at a time.

:class:`OnlineEngine` turns each enriched request into an
:class:`~distillwatch.enforce.assessment.Assessment` for the enforcement policy;
:mod:`.replay` runs it over logs in timestamp order (``distillwatch replay``).
"""

from distillwatch.online.engine import OnlineEngine, enrich_record

__all__ = ["OnlineEngine", "enrich_record"]
