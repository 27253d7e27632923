"""Patient and judge calls per second through LiteLLM (the embedded backends), and the share
of each call the backend itself takes.

    OMP_NUM_THREADS=1 python benchmarks/env_calls.py [--calls 200] [--concurrency 16]

Prints one line per component; compare ratios, not absolute numbers, on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from grpodx.cases.bank import builtin_templates
from grpodx.cases.variation import instantiate
from grpodx.env import DiagnosisIndex, JudgeConfig, PatientConfig, build_judge, build_patient
from grpodx.env.rubric import judge_grade, truth_of
from grpodx.env.scripted import PatientSheet, answer

QUESTIONS = ("Do you smoke?", "Any fever?", "Let me examine you.", "What medications do you take?", "Any family history?")
ANSWERS = ("pneumonia", "MI or PE", "myocardial infraction", "right lower lobe pneumonia", "diabetes", "heat stroke")


async def _timed(calls: list, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(call) -> None:
        async with gate:
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in calls))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    cases = [instantiate(t, 0) for t in builtin_templates()]
    start = time.perf_counter()
    index = DiagnosisIndex.for_cases(cases)
    print(f"index: {len(index)} names over ICD-10-CM, built in {time.perf_counter() - start:.1f}s")
    patient, judge = build_patient(PatientConfig()), build_judge(JudgeConfig(), index)
    picks = [(cases[i % len(cases)], QUESTIONS[i % len(QUESTIONS)], ANSWERS[i % len(ANSWERS)]) for i in range(args.calls)]
    dialogue = lambda q: [{"role": "patient", "content": "Hello."}, {"role": "doctor", "content": q}]  # noqa: E731
    asyncio.run(patient.reply(picks[0][0], dialogue("warm up"), 0))
    asyncio.run(judge.score(picks[0][0], "warm up", []))
    for name, calls, direct in (
        ("patient", [lambda c=c, q=q: patient.reply(c, dialogue(q), 0) for c, q, _ in picks], lambda c, q, a: answer(PatientSheet.from_case(c), q, 0)),
        ("judge", [lambda c=c, a=a: judge.score(c, a, []) for c, _, a in picks], lambda c, q, a: judge_grade(truth_of(c, index), a, index)),
    ):
        seconds = asyncio.run(_timed(calls, args.concurrency))
        start = time.perf_counter()
        for case, question, reply in picks:
            direct(case, question, reply)
        backend = (time.perf_counter() - start) / len(picks)
        print(
            f"{name}: {len(picks) / seconds:.0f} calls/s through LiteLLM ({args.concurrency} concurrent); "
            f"backend alone {backend * 1000:.2f} ms/call ({backend * len(picks) / seconds:.0%} of the time)"
        )


if __name__ == "__main__":
    main()
