"""The timed work: import the statement file, then reconcile. Run in a child
process by the benchmark, so that its peak memory is the pipeline's alone:

    python -m bench.reconciliation.pipeline DATABASE_URL FILE

prints one JSON object: seconds per phase and peak memory (this process's
and its PostgreSQL backend's).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any


def backend_peak_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run(path: Path) -> dict[str, Any]:
    """Import and reconcile in this process's Django; seconds per phase."""
    from django.db import connection

    from cash.services.imports import import_statement_file
    from cash.services.matching import reconcile

    started = time.perf_counter()
    data = path.read_bytes()
    read = time.perf_counter() - started
    imported = import_statement_file(data=data, file_name=path.name)
    after_import = time.perf_counter()
    result = reconcile()
    finished = time.perf_counter()
    connection.ensure_connection()
    backend = connection.connection.get_backend_pid()
    core = sum(result.timings.get(k, 0.0) for k in ("scope", "reference", "amount", "groups"))
    return {
        "read": read,
        "parse": imported.timings["parse"],
        "load": imported.timings["load"],
        "import": after_import - started,
        "sync": result.timings.get("sync", 0.0),
        "core": core,
        "tiers": {k: round(v, 3) for k, v in result.timings.items()},
        "suggestions": result.timings.get("suggestions", 0.0),
        "reconcile": finished - after_import,
        "total": finished - started,
        "new_lines": imported.new_lines,
        "matched": result.matched,
        "suggested": result.suggested,
        "unmatched": result.unmatched,
        "backend_pid": backend,
        "backend_peak_kib": backend_peak_kib(backend),
    }


def main() -> None:
    url, file = sys.argv[1], sys.argv[2]
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import django

    django.setup()
    figures = run(Path(file))
    figures["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
