"""`bench inquiry`: the scripted doctors through the real embedded patient and judge meet the
issue's targets, and a smaller turn budget buys less."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "grpodx", "bench", "inquiry", *args], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout[done.stdout.index("{") :])


def test_ceiling_reaches_90_percent_and_never_asking_stays_at_the_majority_rate():
    result = bench("--variants", "2")
    assert result["cases"] == 2 * 65 and result["questions_asked"] == 4
    assert result["ceiling"] >= 0.90, result["by_cluster"]
    assert abs(result["floor"] - result["majority_rate"]) <= 0.10
    assert all(row["ceiling"] >= 0.8 for row in result["by_cluster"].values()), result["by_cluster"]
    assert result["patient_leaks"] == 0 and result["patient_calls"] == result["cases"] * (1 + 4)


def test_one_question_buys_less_than_four():
    one = bench("--variants", "1", "--max-turns", "2")
    assert one["questions_asked"] == 1 and one["floor"] < one["ceiling"] < 0.9
