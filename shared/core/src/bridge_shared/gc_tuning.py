"""The garbage collector's settings for a long-running Bridge process (a service, a rebuild worker).

CPython's cyclic collector runs a young collection after every 700 net container allocations and,
every so often, a full one that walks every tracked object in the process. A consumer that decodes
a batch of 500-2,000 events allocates hundreds of thousands of short-lived objects (pydantic models,
dicts, rows), so with the defaults it spends a quarter or more of its time in collections that
find little: in ad-hoc runs of the bench/pipeline scripts on 2026-12-01, sessions' pair.formed path
ran about 1.4x faster, and reporting's live path about 1.3x, with the young threshold at 50,000.
Reference counting still frees almost everything at once; only objects in reference cycles wait
longer (until up to 50,000 more container objects have been allocated net).

`tune_gc` is called once start-up is over: it also freezes what start-up allocated (modules,
routers, schemas), so full collections no longer walk those objects at all. It freezes once per
process: a test process that starts many apps would otherwise keep each one's cycles for good.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

_frozen = False

DEFAULT_YOUNG_THRESHOLD = 50_000
"""Net container allocations between young collections (CPython's default is 700)."""


def tune_gc(young_threshold: int = DEFAULT_YOUNG_THRESHOLD, *, freeze: bool = True) -> None:
    """Raise the young generation's threshold (the older two keep CPython's defaults) and, with
    `freeze`, move every object alive now to the permanent generation, which collections skip (the
    first call in a process only)."""
    global _frozen
    if young_threshold < 1:
        raise ValueError("young_threshold must be at least 1")
    _, older, oldest = gc.get_threshold()
    if freeze and not _frozen:
        _frozen = True
        gc.collect()  # what start-up left as garbage goes now, not into the frozen set
        gc.freeze()
    gc.set_threshold(young_threshold, older, oldest)
    log.debug("gc: young threshold %d, %d objects frozen", young_threshold, gc.get_freeze_count())
