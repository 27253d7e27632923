"""The one text module: normalising, stemming, stopwords, clinical terms and name matching.

Imported by the case importers, the scripted patient, the judge and the leak guard alike, so
a question, a fact, a diagnosis and a doctor's answer are all compared in the same form.

    normalise("Crohn's  Disease, acute!") == "crohn disease acute"
    stem("smoking") == stem("smoker") == stem("smokes") == "smok"
    canonical("ECG and CXR") == "electrocardiogram and chest x ray"
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_NON_WORD = re.compile(r"[^a-z0-9]+")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any anything are around as at be
    been before being below both but by can could did do does doing done down during each else
    ever few for from further get got had has have having he her here hers him his how i if in
    into is it its itself just like lately me more most much my no nor not now of off on once
    only or other our out over own please recently really right same she should so some
    something such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would yes
    you your yours yourself okay ok
    feel feeling felt noticed notice experienced experience tell let know think thing things
    describe problem problems kind sort anyone take taking took look looking need needs""".split()
)
"""Words that say nothing about which fact a question is after. 'right' is one: in "..., right?"
it is a tag, and a side ("right side") is asked for with 'side' as well."""

IMPORT_STOPWORDS = STOPWORDS | frozenset(
    """patient patients man woman boy girl male female reports reported reportedly presents
    presented noted notes denies denied history well none year years old either""".split()
)
"""Words that never make a cue of an imported fact ('The patient reports...')."""

CLINICAL_TERMS: dict[str, str] = {
    # investigations
    "ecg": "electrocardiogram",
    "ekg": "electrocardiogram",
    "electrocardiograph": "electrocardiogram",
    "cxr": "chest x ray",
    "xray": "x ray",
    "x-ray": "x ray",
    "radiograph": "x ray",
    "cbc": "full blood count",
    "fbc": "full blood count",
    "complete blood count": "full blood count",
    "blood count": "full blood count",
    "u&e": "electrolytes",
    "lfts": "liver function",
    "lft": "liver function",
    "tfts": "thyroid function",
    "tft": "thyroid function",
    "ct scan": "ct",
    "cat scan": "ct",
    "mri scan": "mri",
    "us": "ultrasound",
    "usg": "ultrasound",
    "sonogram": "ultrasound",
    "echo": "echocardiogram",
    "bp": "blood pressure",
    "hr": "heart rate",
    "rr": "respiratory rate",
    "spo2": "oxygen saturation",
    "sats": "oxygen saturation",
    "temp": "temperature",
    "ua": "urinalysis",
    "lp": "lumbar puncture",
    "spinal tap": "lumbar puncture",
    "abg": "arterial blood gas",
    "wbc": "white cell",
    "crp": "c reactive protein",
    # lay words a patient or doctor may use for the same thing
    "belly": "abdomen",
    "tummy": "abdomen",
    "stomach": "abdomen",
    "abdominal": "abdomen",
    "pee": "urine",
    "wee": "urine",
    "urinate": "urine",
    "urinating": "urine",
    "urination": "urine",
    "urinary": "urine",
    "poo": "stool",
    "poop": "stool",
    "faeces": "stool",
    "feces": "stool",
    "gave birth": "delivery",
    "give birth": "delivery",
    "giving birth": "delivery",
    "delivered": "delivery",
    "puke": "vomit",
    "throw up": "vomit",
    "threw up": "vomit",
    "throwing up": "vomit",
    "inspiration": "breathe in",
    "inhale": "breathe in",
    "inhaling": "breathe in",
    "inhalation": "breathe in",
    # clinical terms a doctor model asks in, folded to the words a patient's facts use
    "haematuria": "blood in urine",
    "hematochezia": "blood in stool",
    "haemoptysis": "coughing up blood",
    "melaena": "black stool",
    "polyuria": "large amount of urine",
    "nocturia": "urine at night",
    "dysuria": "burning urine",
    "polydipsia": "thirst",
    "lymphadenopathy": "swollen glands",
    "annular": "ring",
    "steatorrhoea": "pale greasy stool",
    "transient": "come and go",
    "orthopnoea": "breathless lying flat",
    "paroxysmal nocturnal dyspnoea": "breathless at night",
    "symmetrical": "both sides",
    "symmetric": "both sides",
    "migrate": "move",
    "migrated": "moved",
    "right iliac fossa": "lower right abdomen",
    "left iliac fossa": "lower left abdomen",
    "pruritus": "itch",
    "pruritic": "itchy",
    "rigors": "shivering",
    "syncope": "faint",
    "diaphoresis": "sweating",
    "emesis": "vomit",
    "dysphagia": "difficulty swallowing",
    "odynophagia": "painful swallowing",
    "arthralgia": "joint pain",
    "myalgia": "muscle pain",
    "epistaxis": "nosebleed",
    "short of breath": "breathless",
    "shortness of breath": "breathless",
    "dyspnoea": "breathless",
    "dyspnea": "breathless",
    "breathlessness": "breathless",
    "cigarettes": "smoke",
    "cigarette": "smoke",
    "tobacco": "smoke",
    "booze": "alcohol",
    "drinking": "alcohol",
    "drink": "alcohol",
    "pyrexia": "fever",
    "febrile": "fever",
    "pills": "medication",
    "tablets": "medication",
    "medicines": "medication",
    "medicine": "medication",
    "meds": "medication",
    "drugs": "medication",
    "period": "menstrual",
    "periods": "menstrual",
    "menses": "menstrual",
    "lmp": "menstrual",
    "heartbeat": "heart rate",
    "job": "work",
    "occupation": "work",
    "tired": "fatigue",
    "tiredness": "fatigue",
    "exhausted": "fatigue",
    "urine dipstick": "urinalysis",
    "dipstick": "urinalysis",
    "urine test": "urinalysis",
    "pulse": "heart rate",
    "palpitation": "palpitations",
    # "which part hurts?" asks where: location facts carry the cue 'where'
    "which part": "where",
    "what part": "where",
    "which area": "where",
    "what area": "where",
    "which bit": "where",
    "whereabouts": "where",
    # "did anything set it off?" asks for the trigger, however it is phrased
    "set it off": "trigger",
    "sets it off": "trigger",
    "set off": "trigger",
    "sets off": "trigger",
    "bring it on": "trigger",
    "brings it on": "trigger",
    "brought it on": "trigger",
    "bring on": "trigger",
    "brings on": "trigger",
    "brought on": "trigger",
    "provoke": "trigger",
    "provokes": "trigger",
    "provoked": "trigger",
    "precipitated": "trigger",
    # "anywhere apart from your chest?" asks where the pain spreads
    "anywhere apart from": "go anywhere",
    "anywhere other than": "go anywhere",
    "anywhere besides": "go anywhere",
    "anywhere else": "go anywhere",
    "elsewhere": "go anywhere",
    # a stomach upset is a gastrointestinal infection, not a place in the abdomen
    "stomach upset": "gastroenteritis",
    "upset stomach": "gastroenteritis",
    "tummy upset": "gastroenteritis",
    "upset tummy": "gastroenteritis",
    "stomach bug": "gastroenteritis",
    "tummy bug": "gastroenteritis",
    "gastro": "gastroenteritis",
    # travel history, kept apart from pain that 'travels' (radiates): "travelled abroad" is a trip
    "travelled abroad": "abroad trip",
    "traveled abroad": "abroad trip",
    "travelling abroad": "abroad trip",
    "traveling abroad": "abroad trip",
    "travel abroad": "abroad trip",
    "travelled overseas": "abroad trip",
    "traveled overseas": "abroad trip",
    "travel overseas": "abroad trip",
    "been abroad": "abroad trip",
    "gone abroad": "abroad trip",
    "foreign travel": "abroad trip",
    "travel history": "abroad trip",
    "recent travel": "abroad trip",
    "any travel": "abroad trip",
    "travelled recently": "abroad trip",
    "traveled recently": "abroad trip",
    "travelling recently": "abroad trip",
    "traveling recently": "abroad trip",
    "travelled anywhere": "abroad trip",
    "traveled anywhere": "abroad trip",
    "been travelling": "abroad trip",
    "been traveling": "abroad trip",
    # the toilet by its other names, and how often one goes there
    "loo": "toilet",
    "lavatory": "toilet",
    "bathroom": "toilet",
    "go a lot": "go often",
    "going a lot": "go often",
}
"""Abbreviations and lay words folded to one form, for questions and facts alike (both sides
are folded, so a fact written "ECG: ..." answers "any electrocardiogram?" and the reverse)."""

DIAGNOSIS_TERMS: dict[str, str] = {
    "mi": "myocardial infarction",
    "ami": "acute myocardial infarction",
    "heart attack": "myocardial infarction",
    "myocardial infarct": "myocardial infarction",
    "stemi": "st elevation myocardial infarction",
    "nstemi": "non st elevation myocardial infarction",
    "acs": "acute coronary syndrome",
    "pe": "pulmonary embolism",
    "pulmonary emboli": "pulmonary embolism",
    "dvt": "deep vein thrombosis",
    "uti": "urinary tract infection",
    "af": "atrial fibrillation",
    "afib": "atrial fibrillation",
    "copd": "chronic obstructive pulmonary disease",
    "t2dm": "type 2 diabetes mellitus",
    "t2d": "type 2 diabetes mellitus",
    "dm2": "type 2 diabetes mellitus",
    "dm 2": "type 2 diabetes mellitus",
    "niddm": "type 2 diabetes mellitus",
    "t1dm": "type 1 diabetes mellitus",
    "t1d": "type 1 diabetes mellitus",
    "dm1": "type 1 diabetes mellitus",
    "iddm": "type 1 diabetes mellitus",
    "dm": "diabetes mellitus",
    "dka": "diabetic ketoacidosis",
    "hhs": "hyperosmolar hyperglycemic state",
    "sah": "subarachnoid hemorrhage",
    "subarachnoid bleed": "subarachnoid hemorrhage",
    "chf": "congestive heart failure",
    "ccf": "congestive heart failure",
    "hfpef": "heart failure with preserved ejection fraction",
    "hfref": "heart failure with reduced ejection fraction",
    "cva": "cerebral infarction",
    "tia": "transient ischemic attack",
    "gerd": "gastro esophageal reflux disease",
    "gord": "gastro esophageal reflux disease",
    "ibs": "irritable bowel syndrome",
    "ibd": "inflammatory bowel disease",
    "uc": "ulcerative colitis",
    "cap": "community acquired pneumonia",
    "tb": "tuberculosis",
    "ckd": "chronic kidney disease",
    "aki": "acute kidney injury",
    "arf": "acute kidney injury",
    "sle": "systemic lupus erythematosus",
    "ra": "rheumatoid arthritis",
    "oa": "osteoarthritis",
    "ms": "multiple sclerosis",
    "als": "amyotrophic lateral sclerosis",
    "gbs": "guillain barre syndrome",
    "mg": "myasthenia gravis",
    "pml": "progressive multifocal leukoencephalopathy",
    "ptsd": "post traumatic stress disorder",
    "ocd": "obsessive compulsive disorder",
    "adhd": "attention deficit hyperactivity disorder",
    "mdd": "major depressive disorder",
    "gad": "generalized anxiety disorder",
    "bph": "benign prostatic hyperplasia",
    "pid": "pelvic inflammatory disease",
    "hiv": "human immunodeficiency virus disease",
    "aids": "human immunodeficiency virus disease",
    "ards": "acute respiratory distress syndrome",
    "osa": "obstructive sleep apnea",
    "htn": "hypertension",
    "ida": "iron deficiency anemia",
    "itp": "immune thrombocytopenic purpura",
    "ttp": "thrombotic thrombocytopenic purpura",
    "dic": "disseminated intravascular coagulation",
    "sids": "sudden infant death syndrome",
    "rds": "respiratory distress syndrome",
    "nec": "necrotizing enterocolitis",
    "heat stroke": "heatstroke",
    "legionella pneumonia": "legionnaires disease",
    "strep throat": "streptococcal pharyngitis",
    "chicken pox": "chickenpox",
}
"""Diagnosis abbreviations and lay names, folded wherever they occur in a diagnosis before it is
coded (judge only: 'PE' in a doctor's question is a physical examination)."""

WHOLE_DIAGNOSIS_TERMS: dict[str, str] = {
    "diabetes": "diabetes mellitus",
    "reflux": "gastro esophageal reflux disease",
    "acid reflux": "gastro esophageal reflux disease",
    "heartburn": "gastro esophageal reflux disease",
    "lupus": "systemic lupus erythematosus",
    "high blood pressure": "hypertension",
    "sunstroke": "heatstroke",
    "kidney stone": "calculus of kidney",
    "kidney stones": "calculus of kidney",
}
"""Lay names that mean a diagnosis only as the whole answer ('diabetes' alone is diabetes
mellitus; inside 'type 2 diabetes' it must stay as it is)."""

_SPELLING = (
    (re.compile(r"(?<=\w)ae"), "e"),  # haem, anaemia, paediatric, caecum; not 'aeruginosa'
    (re.compile(r"\boe|oea\b"), lambda m: "e" if m.group(0) == "oe" else "ea"),  # oedema, diarrhoea
    (re.compile(r"\bamoeb|\bcoeli|\bfoet"), lambda m: m.group(0).replace("oe", "e")),
    (re.compile(r"\bsulph"), "sulf"),
    (re.compile(r"\btumour"), "tumor"),
)
"""British spellings folded to American, narrowly: 'oe' inside a word is often American too
(leukoencephalopathy, toe)."""
_SUFFIXES = ("ations", "ation", "ingly", "ness", "ings", "ing", "ers", "ies", "ied", "ed", "er", "es", "ly", "s", "e")


def normalise(text: str) -> str:
    """Lower-case, accents stripped, possessive 's dropped, punctuation to single spaces."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"['\u2019]s\b", "", text)
    text = text.replace("'", "")
    return _NON_WORD.sub(" ", text).strip()


def fold_spelling(text: str) -> str:
    """British spellings to American on normalised text (haem/hem, oedema/edema)."""
    for pattern, replacement in _SPELLING:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=1 << 16)  # pure functions of short strings, called per cue per question
def stem(word: str) -> str:
    """A light suffix stemmer: smoke/smoking/smoker/smokes -> 'smok'; breath/breathing -> 'breath'.

    At least four letters stay, so 'fever' and 'fevers' meet but 'fever' is not cut to 'fev'.
    """
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


class _Folder:
    """Replaces whole-word terms (longest first) in normalised text: one compiled pattern."""

    def __init__(self, terms: dict[str, str]) -> None:
        self.terms = {fold_spelling(normalise(k)): v for k, v in terms.items()}
        keys = sorted(self.terms, key=len, reverse=True)
        self.pattern = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + r")\b")

    def __call__(self, text: str) -> str:
        return self.pattern.sub(lambda m: self.terms[m.group(0)], text)


_CLINICAL = _Folder(CLINICAL_TERMS)
_DIAGNOSIS = _Folder(DIAGNOSIS_TERMS)
_WHOLE = {fold_spelling(normalise(k)): v for k, v in WHOLE_DIAGNOSIS_TERMS.items()}


_TRIGGER = re.compile(
    r"\b(?:(?:set|sets|setting) (?:it|this|that|them|the \w+|your \w+) off|(?:bring|brings|bringing|brought) (?:it|this|that|them|the \w+|your \w+) on)\b"
)
"""'set the pain off', 'brought your symptoms on': a trigger question with the object in between."""


@lru_cache(maxsize=1 << 16)  # pure functions of short strings, called per cue per question
def canonical(text: str) -> str:
    """Normalised, spelling-folded text with clinical abbreviations and lay words folded."""
    return _CLINICAL(_TRIGGER.sub("trigger", fold_spelling(normalise(text))))


@lru_cache(maxsize=1 << 16)  # pure functions of short strings, called per cue per question
def diagnosis_key(text: str) -> str:
    """Normalised, spelling-folded diagnosis name with diagnosis abbreviations expanded."""
    key = fold_spelling(normalise(text))
    return _WHOLE.get(key) or _DIAGNOSIS(key)


def content_stems(text: str) -> set[str]:
    """Stems of the words that carry meaning, after `canonical` (no stopwords, nothing under 3 letters)."""
    return {stem(w) for w in canonical(text).split() if len(w) > 2 and w not in STOPWORDS}


COMPOUND_WORDS = ("headache", "backache", "earache", "toothache", "bellyache", "stomachache", "armpit", "eyelid", "eyesight", "eyebrow", "kneecap")
"""Words that begin with another body word: the cue 'head' (the scalp) must not answer
"Any headaches?", nor 'eye' "How is your eyesight?"."""


def _inside_compound(question: str, start: int, key: str) -> bool:
    """Whether a cue matched at `start` is only the first part of a compound word."""
    word = re.match(r"[a-z0-9]+", question[start:])
    return word is not None and any(word.group(0).startswith(c) and len(key) < len(c) and not key.startswith(c) for c in COMPOUND_WORDS)


def cue_spans(question: str, cues: Iterable[str]) -> set[int]:
    """Character positions of the canonical `question` covered by a cue.

    A cue matches at the start of a word ('radiat' matches 'radiating', 'arm' not 'harm');
    a one-word cue also matches any word with the same stem ('smoking' matches 'smoker').
    """
    spans: set[int] = set()
    words = [(m.start(), m.end(), stem(m.group(0))) for m in re.finditer(r"[a-z0-9]+", question)]
    for cue in cues:
        key = canonical(cue)
        if not key:
            continue
        for match in re.finditer(r"\b" + re.escape(key), question):
            if not _inside_compound(question, match.start(), key):
                spans.update(range(match.start(), match.end()))
        if " " not in key and len(key) > 3:
            spans.update(p for start, end, s in words if s == stem(key) for p in range(start, end))
    return spans


def names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Any of `names` as whole words, any case; names may end in punctuation ('(PML)', 'Dx.').

    Word edges are lookarounds, not \\b, which fails after ')' or '.'. Longest names first, so
    'acute myocardial infarction' is found as one, not as 'acute' + 'myocardial infarction'.
    None when there is no name to look for.
    """
    unique = sorted({n.strip() for n in names if n.strip()}, key=len, reverse=True)
    if not unique:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(n) for n in unique) + r")(?![\w])", re.IGNORECASE)


def abbreviations(name: str) -> tuple[str, ...]:
    """Short forms a text may use for `name`: a parenthetical one ('... (PML)' -> 'PML') and the
    initials of a name of three or more words ('Progressive multifocal leukoencephalopathy' -> 'PML')."""
    found = re.findall(r"\(([A-Za-z0-9-]{2,10})\)", name)
    words = re.findall(r"[A-Za-z]+", re.sub(r"\([^)]*\)", " ", name))
    if len(words) >= 3:
        found.append("".join(w[0] for w in words).upper())
    return tuple(dict.fromkeys(found))


def diagnosis_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names, each without its parenthetical part too ('X (PML)' -> 'X (PML)', 'X')."""
    out: list[str] = []
    for name in names:
        out.append(name.strip())
        bare = re.sub(r"\s*\([^)]*\)", "", name).strip()
        if bare and bare != name.strip():
            out.append(bare)
    return tuple(dict.fromkeys(n for n in out if n))


def mentions(text: str, name: str) -> bool:
    """Whether `name` occurs in `text` as whole words, any letter case."""
    pattern = names_pattern([name])
    return pattern is not None and pattern.search(text) is not None


def _mention_patterns(names: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """The names in any case; their short forms only as written in capitals ('PML', never
    'pml' inside a sentence), so redacting 'Multiple sclerosis' does not eat every 'ms'."""
    return _patterns_for(tuple(names))


@lru_cache(maxsize=4096)
def _patterns_for(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # cached: the patient redacts each reply and its sheet's facts with the same case's names
    # every call, and building these patterns cost more than a call's matching
    codes = tuple(n.strip().upper() for n in names if ICD_CODE.fullmatch(n.strip()))
    names = diagnosis_names(n for n in names if not ICD_CODE.fullmatch(n.strip()))
    patterns = [p for p in (names_pattern(names),) if p is not None]
    short = sorted({a for n in names for a in abbreviations(n) if a.isupper() or any(c.isdigit() for c in a)}, key=len, reverse=True)
    if short:
        patterns.append(re.compile(r"(?<![\w])(?:" + "|".join(re.escape(a) for a in short) + r")(?![\w])"))
    if codes:  # the code or any code of its category: 'K35.80', 'K35.8', 'K35'
        patterns.append(re.compile(r"(?<![\w.])(?:" + "|".join(sorted({re.escape(c[:3]) for c in codes})) + r")(?:\.[0-9A-Z]{0,4})?(?![\w])", re.IGNORECASE))
    disguised = [_disguised(n) for n in names if len(re.sub(r"[^a-z]", "", n.lower())) >= DISGUISE_MIN_LETTERS]
    if disguised:
        patterns.append(re.compile("|".join(sorted(disguised, key=len, reverse=True)), re.IGNORECASE))
    return tuple(patterns)


ICD_CODE = re.compile(r"[A-Za-z]\d{2}(?:\.[0-9A-Za-z]{1,4})?")
"""An ICD-10 code as a case holds it ('K35.80'): passed among the names, it is matched as a code."""
DISGUISE_MIN_LETTERS = 5
"""Names this long are also found spelled out or in digits ('A-P-P-E-N-D-I-C-I-T-I-S',
'app3ndicitis'); shorter ones would match ordinary words."""
_LOOKALIKE = {"a": "a4@", "e": "e3", "i": "i1!|", "l": "l1|", "o": "o0", "s": "s5$", "t": "t7+", "g": "g9", "b": "b8", "z": "z2"}
_GAP = r"[\s\-_.*\u00b7]{0,2}"


def _disguised(name: str) -> str:
    """A pattern for `name`'s letters with up to two separators between any two of them and
    digits or symbols that look like letters; whole words only."""
    letters = [c for c in name.lower() if c.isalnum()]
    body = _GAP.join(f"[{re.escape(_LOOKALIKE.get(c, c))}]" for c in letters)
    return rf"(?<![a-z0-9]){body}(?![a-z0-9])"


def mentions_in(text: str, names: Iterable[str]) -> list[str]:
    """Every mention of a diagnosis name or of its short forms in `text`, as written."""
    found: list[tuple[int, int, str]] = []
    for pattern in _mention_patterns(names):  # in redaction order: a later pattern's overlap with an earlier find is that find
        found += [(m.start(), m.end(), m.group(0)) for m in pattern.finditer(text) if not any(a < m.end() and m.start() < b for a, b, _ in found)]
    return [mention for _, _, mention in sorted(found)]


def redact(text: str, names: Iterable[str], mask: str = "[redacted]") -> tuple[str, int]:
    """Replace every mention (`mentions_in`) with `mask`; (text, mentions found)."""
    found = 0
    for pattern in _mention_patterns(names):
        text, count = pattern.subn(mask, text)
        found += count
    return text, found
