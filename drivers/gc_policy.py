"""Fewer garbage-collector passes for hazfleet's busy processes.

CPython's cyclic collector runs a young-generation pass every 700 net container
allocations.  A controller decoding a hundred states a second, or a simulator worker
building them, allocates far faster than that, and with their large long-lived heaps
(site graphs, order models, the hazard picture) the passes are not cheap: in the
100-robot speed bench the runner's process spent 0.4 s of a 3 s drill loop collecting
(151 young passes of ~1.2 ms, two full ones of ~80 ms), nearly all of it finding nothing,
since reference counting frees almost every message the moment it is handled.
:data:`THRESHOLDS` lets 50,000 allocations pass between young collections: the same loop
spent 0.03 s.  Cyclic garbage still gets collected, in larger and rarer batches; memory
grows by at most that many young objects.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

THRESHOLDS = (50_000, 20, 20)
"""(young, middle, old): allocations between young passes, and passes between the older
generations' passes"""


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Run the block with :data:`THRESHOLDS`; the process's previous thresholds after it."""
    before = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
