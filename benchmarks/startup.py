"""Start-up time of the commands a new user runs first: wall seconds (best of N) and the
heaviest top-level imports from `python -X importtime`.

    OMP_NUM_THREADS=1 python benchmarks/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

COMMANDS = [["cases", "stats", "builtin"], ["--help"], ["fit", "--help"], ["fit", "--config", "configs/tiny.yaml", "--print_config"]]


def heaviest(stderr: str, n: int = 3) -> str:
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            _, cumulative, name = line.split("|")
            if not name.startswith("  "):  # top level: imported directly by the command
                rows.append((int(cumulative), name.strip()))
    return ", ".join(f"{name} {us / 1e6:.1f}s" for us, name in sorted(rows, reverse=True)[:n])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    for command in COMMANDS:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grpodx", *command], capture_output=True, check=True)
            times.append(time.perf_counter() - started)
        profile = subprocess.run([sys.executable, "-X", "importtime", "-m", "grpodx", *command], capture_output=True, text=True, check=True)
        print(f"{' '.join(command):55s} best {min(times):6.2f}s  (heaviest imports: {heaviest(profile.stderr)})")


if __name__ == "__main__":
    main()
