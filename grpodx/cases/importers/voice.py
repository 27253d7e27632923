"""The patient's own voice for facts a source wrote about the patient in the third person.

    first_person("The patient reports double vision.")  -> "I have double vision."
    first_person("She smokes ten cigarettes a day.")    -> "I smoke ten cigarettes a day."
    first_person("Denies fever.")                       -> "No fever."
    first_person("Her mother had a stroke.")            -> "My mother had a stroke."

Where the grammar is beyond these rules the sentence is quoted as what the notes say
('My notes say: "..."'), never left as a stranger talking about the patient.
"""

from __future__ import annotations

import re

_SUBJECT = r"(?:the patient|the child|the infant|the baby|patient|pt|he|she)"
_PARENT = r"(?:the mother|the father|the parents|mother|father|parents|his mother|her mother)"
_CHILD = (
    (r"^the (?:baby|infant|newborn)\b", "my baby"),
    (r"^the child\b", "my child"),
    (r"^the boy\b", "my son"),
    (r"^the girl\b", "my daughter"),
    (r"^(?:he|she)\b", "my baby"),
    (r"^(?:her|his|their) (son|daughter|baby|child)\b", r"my \1"),
)
_ADVERB = r"(?:also|still|often|usually|occasionally|frequently|now|recently|sometimes|never|always|regularly|rarely)"
_BARE_VERBS = frozenset(
    """works lives drinks smokes does has is was takes uses exercises eats walks sleeps enjoys
    travels attends plays studies runs feels gets wakes consumes vapes used""".split()
)
_PAST = frozenset(
    """gave got went felt became began came took lost saw left found ate drank fell broke had did
    was were made woke slept ran thought knew""".split()
)
_REPORTING = {
    "reports": "I have",
    "reported": "I had",
    "describes": "I have",
    "described": "I had",
    "complains of": "I have",
    "complained of": "I had",
    "endorses": "I have",
    "experiences": "I have",
    "notes": "I've noticed",
    "noted": "I noticed",
    "notices": "I've noticed",
    "noticed": "I noticed",
    "mentions": "I have",
    "mentioned": "I had",
    "states": "",
    "stated": "",
    "says": "",
    "said": "",
    "presents with": "I have",
    "presented with": "I had",
    "admits to": "I",
    "recalls": "I remember",
}
_IRREGULAR = {
    "has": "have",
    "is": "am",
    "was": "was",
    "does": "do",
    "doesn't": "don't",
    "isn't": "am not",
    "wasn't": "wasn't",
    "hasn't": "haven't",
    "had": "had",
    "did": "did",
    "can": "can",
    "cannot": "cannot",
    "can't": "can't",
    "will": "will",
    "would": "would",
    "could": "could",
    "used": "used",
    "also": "also",
}
_PRONOUNS = (
    (r"\bhimself\b|\bherself\b|\bthemselves\b", "myself"),
    (r"\b(?:his|her|their)\b", "my"),
    (r"\bthe patient's\b|\bpatient's\b", "my"),
    (r"\b(?:him|them)\b", "me"),
    (r"\b(?:he|she|they)\b", "I"),
    (r"\bthe patient\b", "I"),
)
_THIRD = re.compile(r"\b(?:the patient|patient's|he|she|his|her|him|they|their)\b", re.I)


def _pronouns(text: str) -> str:
    for pattern, replacement in _PRONOUNS:
        text = re.sub(pattern, replacement, text, flags=re.I)
    return re.sub(r"\bI (has|is|was|does)\b", lambda m: "I " + _IRREGULAR[m.group(1)], text)


def _verb(word: str) -> str | None:
    """A third-person present verb's first-person form ('smokes' -> 'smoke'); None if not one."""
    low = word.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if re.fullmatch(r"[a-z]+(?:ed)", low) or low in _PAST:
        return low
    if re.fullmatch(r"[a-z]{3,}(?:ches|shes|sses|xes)", low):
        return low[:-2]
    if re.fullmatch(r"[a-z]{2,}ies", low):
        return low[:-3] + "y"
    if re.fullmatch(r"[a-z]{2,}[^s]s", low) and low not in ("this", "was", "has", "is", "always", "sometimes"):
        return low[:-1]
    return None


def first_person(sentence: str, infant: bool = False) -> str:
    """The sentence as the patient would say it (see the module docstring); for a baby, as
    the parent would ('He is feeding well.' -> 'My baby is feeding well.')."""
    text = sentence.strip()
    if infant and not re.match(r"^(?:denies|denied)\b", text, re.I):
        baby = re.sub(rf"^{_SUBJECT}\b(?!')", "My baby", text, flags=re.I)
        if baby != text:
            return baby
        bare = re.match(r"^(\S+)(.*)$", text)
        if bare and bare.group(1).lower() in _BARE_VERBS:
            return f"My baby {bare.group(1).lower()}{bare.group(2)}"
    parent = re.match(rf"^{_PARENT}\s+(?:{'|'.join(map(re.escape, _REPORTING))})\s+(?:that\s+)?(.+)$", text, re.I)
    if parent:  # the parent speaks for a baby: "The mother reports the baby ..." -> "My baby ..."
        rest = parent.group(1)
        for pattern, replacement in _CHILD:
            rest = re.sub(pattern, replacement, rest, flags=re.I)
        return _capital(rest)
    denial = re.match(rf"^(?:{_SUBJECT}\s+)?(?:denies|denied|denying)\s+(?:any\s+)?(.+)$", text, re.I)
    if denial:
        return "No " + _pronouns(denial.group(1))
    reporting = re.match(rf"^(?:{_SUBJECT}\s+)?({'|'.join(map(re.escape, _REPORTING))})\s+(that\s+)?(.+)$", text, re.I)
    if reporting:
        # "reports that <clause>" is the clause itself; "reports <finding>" is "I have <finding>"
        lead = "" if reporting.group(2) else _REPORTING[reporting.group(1).lower()]
        rest = reporting.group(3)
        if re.match(rf"^{_SUBJECT}\b", rest, re.I) or not lead:
            return _capital(first_person(rest)) if re.match(rf"^{_SUBJECT}\b", rest, re.I) else _capital(_pronouns(rest))
        return _capital(f"{lead} {_pronouns(rest)}".replace("I I ", "I "))
    subject = re.match(rf"^{_SUBJECT}\s+((?:{_ADVERB}\s+)?)(\S+)(.*)$", text, re.I)
    if subject:
        verb = _verb(subject.group(2))
        if verb is not None:
            return _capital(f"I {subject.group(1)}{verb}{_pronouns(subject.group(3))}")
        return f'My notes say: "{text}"'
    bare = re.match(r"^(\S+)(.*)$", text)
    if bare and bare.group(1).lower() in _BARE_VERBS:  # note style: "Works as an accountant."
        return _capital(f"I {_verb(bare.group(1))}{_pronouns(bare.group(2))}")
    if re.match(r"^(?:his|her|their|the patient's|patient's)\b", text, re.I):
        return _capital(_pronouns(text))
    if _THIRD.search(text):
        return f'My notes say: "{text}"'
    return text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
