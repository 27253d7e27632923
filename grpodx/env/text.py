"""Small text helpers shared by the scripted patient, the rubric judge and the leak guard."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")

STOPWORDS = frozenset(
    """a about after again all also am an and any anything are around as at be been before being
    but by can could did do does doing done down during each else ever for from get got had has
    have having he her here him his how i if in into is it its just like lately me more most much
    my no not now of off on or other our out over please recently really same she should so some
    something than that the their them then there these they this those to too under up very was
    we were what when where which while who why will with would yes you your yours yourself
    feel feeling felt noticed notice notic experienced experience tell let know think thing things
    describe problem problems any other kind sort anyone take taking took look looking""".split()
)
"""Words that say nothing about which fact a question is after (used by the overlap fallback)."""


def normalise(text: str) -> str:
    """Lower-case, accents stripped, possessive 's dropped, punctuation to single spaces.

    normalise("Crohn's  Disease, acute!") == "crohn disease acute"
    """
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"['\u2019]s\b", "", text)
    text = text.replace("'", "")
    return _NON_WORD.sub(" ", text).strip()


def cue_pattern(cue: str) -> re.Pattern[str]:
    """A cue matches at the start of a word: 'radiat' matches 'radiating', 'arm' not 'harm'."""
    return re.compile(r"\b" + re.escape(normalise(cue)))


def cue_spans(question: str, cues: tuple[str, ...]) -> set[int]:
    """Character positions of the normalised question covered by any matching cue."""
    spans: set[int] = set()
    for cue in cues:
        if not normalise(cue):
            continue
        for match in cue_pattern(cue).finditer(question):
            spans.update(range(match.start(), match.end()))
    return spans


def stem(word: str) -> str:
    """A crude prefix stem so 'fevers'/'feverish' and 'breath'/'breathing' meet."""
    return word[:5]


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry meaning (no stopwords, no one- or two-letter words)."""
    return {stem(w) for w in normalise(text).split() if len(w) > 2 and w not in STOPWORDS}


def mentions(text: str, name: str) -> bool:
    """Whether `name` occurs in `text` as whole words, any letter case."""
    return bool(name.strip()) and re.search(r"\b" + re.escape(name.strip()) + r"\b", text, re.IGNORECASE) is not None
