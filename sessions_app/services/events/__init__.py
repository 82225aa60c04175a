"""Writing a session's events: append (with usage pricing and rollups), pop and clear.

One job per module:

- `append`: the `events_append` service and its general path through the ORM;
- `many`: `events_append_many`, the general path for a batch of many sessions at once;
- `store`: inserting the event and usage rows (and the daily aggregate) for either path;
- `statement`: PostgreSQL's one-statement path for a plain batch;
- `rows`: the event, usage, rollup and daily rows, described once for both paths;
- `pricing`: an event's usage and cost; `rollups`: a session's rollups;
- `lookups`: what the general path reads under the session's lock; `removal`: pop and clear.

The input types live in `sessions_app.inputs`; they are importable from here too.
"""

from ...inputs import AppendResult, EventInput, UsageInput
from .append import events_append
from .many import events_append_many
from .pricing import TOOL_TYPES, PricedUsage
from .removal import event_pop_last, events_clear
from .rollups import session_recompute_rollups
from .rows import PREVIEW_LENGTH
from .store import usage_store

__all__ = [
    "PREVIEW_LENGTH",
    "TOOL_TYPES",
    "AppendResult",
    "EventInput",
    "PricedUsage",
    "UsageInput",
    "event_pop_last",
    "events_append",
    "events_append_many",
    "events_clear",
    "session_recompute_rollups",
    "usage_store",
]
