"""Client CPU per patient and judge call with the embedded backends: grpodx's own path (in-process,
as training runs it) against the same calls through `litellm.acompletion` (the registered
`grpodx/` custom provider), and the backend's own share.

    OMP_NUM_THREADS=1 python benchmarks/env_calls.py [--calls 200] [--concurrency 16]

Prints one line per component and path: calls/s, CPU per call, the backend alone, and the
overhead (CPU per call minus the backend's). Target: at most 1 ms of overhead per embedded call.
CPU time is the process's (time.process_time), so other load on the machine does not count.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from grpodx.cases.bank import builtin_templates
from grpodx.cases.variation import instantiate
from grpodx.env import DiagnosisIndex, JudgeConfig, PatientConfig, build_judge, build_patient
from grpodx.env.prompts import patient_messages
from grpodx.env.rubric import judge_grade, truth_of
from grpodx.env.scripted import PatientSheet, answer

QUESTIONS = ("Do you smoke?", "Any fever?", "Let me examine you.", "What medications do you take?", "Any family history?")
ANSWERS = ("pneumonia", "MI or PE", "myocardial infraction", "right lower lobe pneumonia", "diabetes", "heat stroke")


async def _timed(calls: list, concurrency: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of running every call, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call) -> None:
        async with gate:
            await call()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(c) for c in calls))
    return time.perf_counter() - wall, time.process_time() - cpu


def _through_litellm(config, messages_of, picks) -> list:
    """The same requests through `litellm.acompletion` with the registered `grpodx/` provider."""
    import litellm

    from grpodx.env.providers import register

    register()
    return [lambda m=messages_of(p): litellm.acompletion(model=config.model, messages=m, seed=0, num_retries=0, max_retries=0) for p in picks]


def main() -> None:
    import litellm

    litellm.suppress_debug_info = True
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
    messages_of = lambda p: patient_messages(patient._sheet(p[0])[0], dialogue(p[1]))  # noqa: E731
    for name, calls, via_litellm, direct in (
        (
            "patient",
            [lambda c=c, q=q: patient.reply(c, dialogue(q), 0) for c, q, _ in picks],
            _through_litellm(PatientConfig(), messages_of, picks),
            lambda c, q, a: answer(PatientSheet.from_case(c), q, 0),
        ),
        ("judge", [lambda c=c, a=a: judge.score(c, a, []) for c, _, a in picks], None, lambda c, q, a: judge_grade(truth_of(c, index), a, index)),
    ):
        cpu = time.process_time()
        for case, question, reply in picks:
            direct(case, question, reply)
        backend = (time.process_time() - cpu) / len(picks)
        for path, batch in (("grpodx", calls), ("litellm", via_litellm)):
            if batch is None:
                continue
            asyncio.run(_timed(batch[:4], args.concurrency))  # first calls of a path (imports, clients) are not timed
            wall, used = asyncio.run(_timed(batch, args.concurrency))
            per_call = used / len(picks)
            print(
                f"{name} via {path}: {len(picks) / wall:.0f} calls/s ({args.concurrency} concurrent); CPU {per_call * 1000:.2f} ms/call, "
                f"backend alone {backend * 1000:.2f} ms, overhead {(per_call - backend) * 1000:.2f} ms/call"
            )


if __name__ == "__main__":
    main()
