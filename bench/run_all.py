"""Run every benchmark in ``bench/`` one after the other (``make bench``): ``python -m bench.run_all``.

Each script runs in its own process (peak memory and imports of one do not colour the next) with the options
given here passed through (``--update-docs`` rewrites each one's section of ``docs/benchmarks.md``). The exit status
is 1 if any script failed or reported a missed target.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ("bench_import", "bench_browse", "bench_served")


def scripts() -> list[str]:
    """The benchmark modules present, in ``ORDER`` and then any others by name."""
    present = sorted(p.stem for p in BENCH.glob("bench_*.py"))
    return [name for name in ORDER if name in present] + [name for name in present if name not in ORDER]


def main(argv: list[str] | None = None) -> int:
    passthrough = list(sys.argv[1:] if argv is None else argv)
    failed = []
    for name in scripts():
        print(f"\n=== python -m bench.{name} {' '.join(passthrough)}".rstrip(), flush=True)
        code = subprocess.run([sys.executable, "-m", f"bench.{name}", *passthrough], cwd=BENCH.parent).returncode
        if code:
            failed.append(f"{name} (exit {code})")
    print("\nAll benchmarks ran; " + (f"not all targets met: {', '.join(failed)}" if failed else "all targets met"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
