"""``python -m portal.jobs.healthcheck``: exit 0 while the worker's heartbeat is fresh.

The worker touches the file every 10 s after the queue answered (``portal.jobs.worker``);
a file older than a minute, or none, means the worker is stuck, dead or cut off from the
queue. No app is built: the check must stay cheap.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

STALE_SECONDS = 60


def heartbeat_path(environ=os.environ) -> Path:
    """Where the worker writes its heartbeat, as ``portal.config`` computes it."""
    if path := environ.get("PORTAL_JOBS_HEARTBEAT"):
        return Path(path)
    root = Path(__file__).resolve().parents[2]
    return Path(environ.get("PORTAL_INSTANCE_PATH", root / "instance")) / "worker.heartbeat"


def main() -> int:
    path = heartbeat_path()
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        print(f"no heartbeat at {path}", file=sys.stderr)
        return 1
    if age > STALE_SECONDS:
        print(f"heartbeat {age:.0f} s old ({path})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
