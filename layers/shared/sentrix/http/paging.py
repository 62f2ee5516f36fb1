"""Bounds of every page parameter (limit, offset) a route takes, so a huge integer is a 422, never a SQL overflow.

A number past PostgreSQL's bigint (e.g. `offset=10000000000000000000`) made `OFFSET`/`LIMIT` fail in the
database: a 500. Every offset is at most MAX_OFFSET (deeper pages are for exports' cursors), and a limit that
the logic caps (heatmap, exports) is still bounded here, at MAX_CAPPED_LIMIT, before the cap applies.
"""

from __future__ import annotations

MAX_OFFSET = 1_000_000
MAX_CAPPED_LIMIT = 1_000_000
