"""Run every benchmark (``make bench``), or the ones named: ``python -m bench [ingest risk ...]``.

Each benchmark runs as its own ``python -m bench.<name>`` process with its default sizes: the
Django benchmarks each configure Django for their own scratch database, which one process
cannot do twice, and a crash in one must not stop the others. Each writes its own section of
``docs/benchmarks.md`` (the load test its region of ``docs/reliability.md``). The exit status
is non-zero if any benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence

from bench.common import REPO_ROOT

#: In the order ``make bench`` runs them. A new benchmark module adds its name here.
#: ``load`` runs last: it starts the whole stack and keeps its database (``vigil_load``) between runs.
BENCHMARKS: tuple[str, ...] = ("ingest", "risk", "pretrade", "surveillance", "tca", "wealth", "load")


def main(argv: Sequence[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"== bench.{name}", flush=True)
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=REPO_ROOT, check=False)
        print(f"== bench.{name}: exit {done.returncode} after {time.monotonic() - began:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
