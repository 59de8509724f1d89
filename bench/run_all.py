"""Run every benchmark in ``bench/`` one after the other (``make bench``): ``python -m bench.run_all``.

Each script runs in its own process (peak memory and imports of one do not colour the next) with the options
given here passed through (``--update-docs`` rewrites each one's section of ``docs/benchmarks.md``). Each prints its
targets as met or missed; the exit status is 1 if any script failed or reported a missed target.

``--small`` (``make bench BENCH_ARGS=--small``) runs each on a few thousand generated rows and a few sessions: a
check that every benchmark works on this machine (minutes, not the hour the full sizes take). Its figures say
nothing about the targets, so it cannot be combined with ``--update-docs``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ("bench_import", "bench_browse", "bench_served", "bench_scale_out")
# --small: each script's own options for a quick run (2,000 rows; a handful of sessions flipping quickly).
SMALL = {
    "bench_import": ["--rows", "2000", "--no-big", "--runs", "1"],
    "bench_browse": ["--rows", "2000", "--runs", "5"],
    "bench_served": ["--rows", "2000", "--sessions", "5", "--flips", "2", "--first-loads", "2", "--think", "0.2-0.5"],
    "bench_scale_out": ["--rows", "2000", "--sessions", "5,10", "--flips", "2", "--think", "0.2-0.5"],
}


def scripts() -> list[str]:
    """The benchmark modules present, in ``ORDER`` and then any others by name."""
    present = sorted(p.stem for p in BENCH.glob("bench_*.py"))
    return [name for name in ORDER if name in present] + [name for name in present if name not in ORDER]


def main(argv: list[str] | None = None) -> int:
    passthrough = list(sys.argv[1:] if argv is None else argv)
    small = "--small" in passthrough
    if small:
        passthrough.remove("--small")
        if "--update-docs" in passthrough:
            print("--small measures nothing worth documenting: run without it to --update-docs", file=sys.stderr)
            return 2
    failed = []
    for name in scripts():
        args = [*SMALL.get(name, []), *passthrough] if small else passthrough
        print(f"\n=== python -m bench.{name} {' '.join(args)}".rstrip(), flush=True)
        code = subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=BENCH.parent).returncode
        if code:
            failed.append(f"{name} (exit {code})")
    print("\nAll benchmarks ran; " + (f"not all targets met: {', '.join(failed)}" if failed else "all targets met"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
