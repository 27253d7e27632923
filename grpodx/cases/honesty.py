"""Does an opening give its diagnosis away? A naive Bayes classifier within each cluster says.

Two figures per presentation cluster, each cross-validated over the seeded variants (train on
every other case seed, test on the held-out seed's cases):
- `opening`: the classifier sees only the opening: its words, the age band and the sex. An
  honest cluster scores near its majority rate (the largest diagnosis's share of its cases).
- `all_facts`: it also sees every fact's words. An answerable cluster scores high.

The classifier is a small multinomial naive Bayes with add-one smoothing, written out here
rather than imported: scikit-learn would be a heavy dependency for forty lines.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from grpodx.cases.schema import Case
from grpodx.clinical.text import content_stems

AGE_BANDS = (18, 40, 65)
"""Band edges a clinician reasons with: child, young adult, middle age, older adult."""


def age_band(age: int | None) -> str:
    if age is None:
        return "age:unknown"
    return f"age:{sum(age >= edge for edge in AGE_BANDS)}"


def opening_features(case: Case) -> list[str]:
    """What the doctor sees before asking: the complaint's words, age band and sex."""
    return [*sorted(content_stems(case.chief_complaint)), age_band(case.age), f"sex:{case.sex or 'unknown'}"]


def all_features(case: Case) -> list[str]:
    """The opening and every fact's words: what a doctor who asked everything would know."""
    return opening_features(case) + [f"fact:{s}" for fact in case.facts for s in sorted(content_stems(fact.text))]


class NaiveBayes:
    """Multinomial naive Bayes over feature lists, add-one smoothing; ties go to the label first
    in sorted order, so an uninformative input always gets the same answer."""

    def __init__(self, examples: Iterable[tuple[list[str], str]]) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.labels: Counter[str] = Counter()
        for features, label in examples:
            self.labels[label] += 1
            self.counts[label].update(features)
        self.vocabulary = {f for counter in self.counts.values() for f in counter}

    def log_posterior(self, features: list[str], label: str) -> float:
        counter, total = self.counts[label], sum(self.counts[label].values())
        prior = math.log(self.labels[label] / sum(self.labels.values()))
        width = len(self.vocabulary) + 1
        return prior + sum(math.log((counter[f] + 1) / (total + width)) for f in features if f in self.vocabulary)

    def predict(self, features: list[str]) -> str:
        return max(sorted(self.labels), key=lambda label: self.log_posterior(features, label))


def _seed(case: Case) -> str:
    return case.id.rsplit("/", 1)[-1]


def cross_validated(cases: list[Case], features: Callable[[Case], list[str]]) -> float:
    """Accuracy of naive Bayes on `cases`, leaving one case seed out at a time."""
    seeds = sorted({_seed(c) for c in cases})
    if len(seeds) < 2:
        raise ValueError("cross-validation over seeded variants needs at least 2 variants per diagnosis")
    right = 0
    for held in seeds:
        model = NaiveBayes((features(c), c.diagnosis) for c in cases if _seed(c) != held)
        right += sum(model.predict(features(c)) == c.diagnosis for c in cases if _seed(c) == held)
    return right / len(cases)


@dataclass(frozen=True)
class ClusterHonesty:
    cluster: str
    diagnoses: int
    cases: int
    majority: float
    """The largest diagnosis's share of the cluster's cases: what always naming it scores."""
    opening: float
    """Cross-validated naive Bayes accuracy from the opening alone."""
    all_facts: float
    """Cross-validated naive Bayes accuracy given every fact."""


def cluster_honesty(cases: list[Case]) -> list[ClusterHonesty]:
    """Both classifier figures for each cluster of `cases` (cases without a cluster are skipped)."""
    by_cluster: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        if case.cluster:
            by_cluster[case.cluster].append(case)
    rows = []
    for name, members in sorted(by_cluster.items()):
        shares = Counter(c.diagnosis for c in members)
        rows.append(
            ClusterHonesty(
                cluster=name,
                diagnoses=len(shares),
                cases=len(members),
                majority=max(shares.values()) / len(members),
                opening=cross_validated(members, opening_features),
                all_facts=cross_validated(members, all_features),
            )
        )
    return rows
