"""Keeping what a process loads once out of the garbage collector's way.

CPython's cycle collector walks every tracked object of the generation it collects, and its
oldest generation holds everything the process has loaded: Django, the URLconf and, in a
served process, litellm (imported at start to warm the compare page) and its price table. A
full collection comes every time enough objects have outlived two younger collections; an OTLP
batch of 500 spans makes thousands. With litellm loaded, one full collection took 229 ms of a
worker's CPU, about one every 10,000 spans ingested: 23 µs a span, and a 229 ms pause for the
request it fell in.

`gc.freeze()` moves every object tracked now to a permanent generation the collector never
walks. Freezing once the loading is done leaves each collection only the objects made since:
a full collection then took 5 ms. Loaded modules, settings and tables live as long as the
process, so freezing them keeps nothing that would otherwise be freed: garbage is collected
first, and a frozen object is still freed when its last reference goes. What is lost is only a
cycle among objects another thread had in hand at that moment (a request being served while
litellm's import ends), which is never collected: once per process, a request's worth.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


def freeze_loaded() -> None:
    """Collect, then freeze every object alive now: call it after loading something large that
    lives as long as the process (the application, litellm)."""
    with _lock:
        gc.collect()
        gc.freeze()
