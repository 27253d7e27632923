"""ICD-10-CM, offline: diagnosis names to codes, and where two codes meet in the hierarchy.

The code set is `simple-icd-10-cm` (the 2025 ICD-10-CM release with titles, inclusion terms
and the chapter > block > category > subcategory tree). `title_index()` maps every title and
inclusion term, normalised by `grpodx.clinical.text.diagnosis_key`, to its code; a title's
"unspecified" part and parenthetical notes are dropped as extra keys ("Pneumonia, unspecified
organism" is also "pneumonia"; "Non-ST elevation (NSTEMI) myocardial infarction" is also
"nstemi"). When two codes share a key the shorter (more general) code wins.

    code_of("myocardial infraction")  -> None (spelling is the judge's job: `grpodx.env.rubric`)
    code_of("NSTEMI")                 -> "I21.4"
    shared_level("I21.4", "I21.9")    -> "category"
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import simple_icd_10_cm as cm  # type: ignore[import-untyped]

from grpodx.clinical.text import diagnosis_key

LEVELS = ("chapter", "block", "category")

_UNSPECIFIED = re.compile(
    r",?\s*\b(unspecified|not elsewhere classified|nos|site not specified|not specified)\b"
    r"( (organism|site|type|cause|side|part|laterality|eye|ear))?"
    r"|,?\s*\bwithout (complications?|mention of [a-z ]+)\b|\bnontraumatic\b"
)


_PUNCTUATION = str.maketrans({c: " " for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"})
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_DEFINED = re.compile(r"[(\[]([A-Za-z][A-Za-z0-9-]{1,9})[)\]]")


def _title_key(text: str) -> str:
    """`diagnosis_key` for a code-set title, fast: titles are plain ASCII in US spelling and
    spell their terms out, so only case and punctuation need folding (5x faster at build)."""
    return " ".join(text.lower().replace("'s ", " ").translate(_PUNCTUATION).split())


def _keys(title: str) -> list[tuple[int, str]]:
    """(priority, key) for one title: the title itself first, then looser variants, then the
    abbreviations it defines; a lower priority wins a key two titles share."""
    bare = _BRACKETED.sub(" ", title)
    short = _UNSPECIFIED.sub(" ", bare.lower())
    keys = [(0, _title_key(title)), (0, _title_key(bare)), (1, _title_key(short))]
    if " and " in short:  # "Encephalitis and encephalomyelitis" is also "encephalitis"
        keys.append((2, _title_key(short.split(" and ")[0])))
    keys += [(3, diagnosis_key(a)) for a in _DEFINED.findall(title)]
    return [(p, k) for p, k in dict.fromkeys(keys) if k]


@lru_cache(maxsize=1)
def title_index() -> dict[str, str]:
    """Normalised title or inclusion term -> code. Built once a process (a few seconds): the
    code set is fixed package data, so this is a cache, not state that grows."""
    best: dict[str, tuple[int, bool, tuple[int, str]]] = {}
    for code in cm.get_all_codes(True):
        # External causes (V-Y) are not diagnoses, and 7-character injury extensions
        # (initial/subsequent encounter) only repeat their subcategory's title.
        if cm.is_chapter(code) or code[0] in "VWXY" or len(code) > 7:
            continue
        titles = [cm.get_description(code)]
        if not cm.is_block(code):
            titles += cm.get_inclusion_term(code)
        for title in titles:
            for priority, key in _keys(title):
                # ICD's convention: the general name is the 'unspecified' code of its kind.
                rank = (priority, "unspecified" not in title.lower() and priority > 1, _generality(code))
                if key not in best or rank < best[key]:
                    best[key] = rank
    return {key: rank[2][1] for key, rank in best.items()}


def _generality(code: str) -> tuple[int, str]:
    """Blocks are the most general, then shorter codes."""
    return (0 if "-" in code else len(code), code)


def code_of(name: str) -> str | None:
    """The ICD-10-CM code whose title (or inclusion term) is exactly `name` after normalising."""
    return title_index().get(diagnosis_key(name))


def valid(code: str) -> str | None:
    """The code itself if ICD-10-CM knows it, else its longest known prefix (a WHO-only 'I64'
    has none; 'K35.8' -> itself), else None."""
    code = code.strip().upper()
    for length in range(len(code), 2, -1):
        candidate = code[:length].rstrip(".")
        if cm.is_valid_item(candidate):
            return candidate
    return None


@lru_cache(maxsize=4096)
def lineage(code: str) -> dict[str, str]:
    """{'chapter': '9', 'block': 'I20-I25', 'category': 'I21'} for a code (a block has no
    category, a chapter only itself); {} for a code ICD-10-CM does not know."""
    known = code if cm.is_valid_item(code) else valid(code)
    if known is None:
        return {}
    chain = [known, *cm.get_ancestors(known)]
    out: dict[str, str] = {}
    for item in chain:
        if cm.is_chapter(item):
            out["chapter"] = item
        elif cm.is_block(item):
            out.setdefault("block", item)  # the innermost block: some blocks nest
        elif cm.is_category(item):
            out["category"] = item
    return out


def is_within(code: str, ancestor: str) -> bool:
    """`code` is `ancestor` or one of its descendants."""
    code, ancestor = valid(code) or code, valid(ancestor) or ancestor
    return code == ancestor or (cm.is_valid_item(code) and cm.is_valid_item(ancestor) and cm.is_descendant(code, ancestor))


def concept_root(code: str, keys: Iterable[str] = ()) -> str:
    """The code a diagnosis stands for: its own code, or the parent of an 'unspecified' code
    when the diagnosis is named by that parent's title (`keys`: the diagnosis's own name keys,
    not its aliases, which may hold a broader word). The truth 'Acute myocardial
    infarction' (I21.9, unspecified; I21 is titled so) covers NSTEMI (I21.4); 'Stable angina
    pectoris' (I20.9; I20 is 'Angina pectoris') does not cover unstable angina (I20.0)."""
    known = valid(code)
    if known is None:
        return code
    parent = cm.get_parent(known)
    if "unspecified" not in cm.get_description(known).lower() or not parent or cm.is_chapter_or_block(parent):
        return known
    titles = [cm.get_description(parent), *cm.get_inclusion_term(parent)]
    parent_keys = {key for title in titles for _, key in _keys(title)}
    return parent if any(key in parent_keys for key in keys) else known


@lru_cache(maxsize=4096)
def keys_of(code: str) -> frozenset[str]:
    """Every index key of one code's title and inclusion terms."""
    known = valid(code)
    if known is None:
        return frozenset()
    titles = [cm.get_description(known), *([] if cm.is_block(known) else cm.get_inclusion_term(known))]
    return frozenset(key for title in titles for _, key in _keys(title))


def is_unspecified(code: str) -> bool:
    """An 'unspecified' (or NOS) code: the code set's general term of its kind."""
    return bool(code) and bool(re.search(r"\bunspecified\b|\bNOS\b", description(code)))


def shared_level(a: str, b: str) -> str | None:
    """The most specific of category, block, chapter that two codes share; None when none."""
    first, second = lineage(a), lineage(b)
    for level in reversed(LEVELS):
        if level in first and first.get(level) == second.get(level):
            return level
    return None


ORGANISMS_BLOCK = "B95-B97"
"""Bacterial and viral infectious agents 'as the cause of diseases classified elsewhere'."""


@lru_cache(maxsize=1)
def _organisms() -> re.Pattern[str]:
    """The organisms ICD-10-CM names (block B95-B97) as they are written before a disease: full
    names, their abbreviations ('e coli', 'mrsa') and genera with their adjectives
    ('staphylococcal'), longest first."""
    names: set[str] = set()
    for code in cm.get_descendants(ORGANISMS_BLOCK):
        for title in [cm.get_description(code), *cm.get_inclusion_term(code)]:
            agent = re.split(r"\s+as the cause\b", title)[0]
            names.update(_title_key(a) for a in re.findall(r"[(\[]([^)\]]+)[)\]]", agent))
            name = re.sub(r"^(?:other specified|other|unspecified)\s+", "", _title_key(_BRACKETED.sub(" ", agent)))
            names.add(name)
            if len(name.split()[0]) >= 7 and name.split()[0] not in ("bacterial", "specified"):
                names.add(name.split()[0][:7] + r"\w*")  # the genus and its adjective
    phrases = sorted((n for n in names if n and "agents" not in n), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(p if p.endswith(r"\w*") else re.escape(p) for p in phrases) + r")\b")


def without_organisms(key: str) -> str:
    """A normalised name with the organisms the code set names taken out ('e coli cystitis' -> 'cystitis')."""
    return " ".join(_organisms().sub(" ", key).split())


@lru_cache(maxsize=1024)
def site_words(code: str) -> frozenset[str]:
    """Words the code set uses below `code`'s category that name no disease on their own: the
    sites, sides and forms of that disease ('popliteal', 'femoral' for I82; 'saddle' for I26)."""
    category = lineage(code).get("category")
    if not category:
        return frozenset()
    index = title_index()
    words = {w for c in cm.get_descendants(category) for t in [cm.get_description(c), *cm.get_inclusion_term(c)] for w in _title_key(t).split()}
    return frozenset(w for w in words if len(w) > 3 and w not in index and w not in _TITLE_GLUE)


_TITLE_GLUE = frozenset("with without other specified unspecified elsewhere classified than involvement".split())
"""Words of titles' grammar, not of sites."""


def description(code: str) -> str:
    known = valid(code)
    return cm.get_description(known) if known else ""


CHAPTER_SYSTEMS = {
    "1": "infectious",
    "2": "haematology_oncology",
    "3": "haematology_oncology",
    "4": "endocrine",
    "5": "psychiatry",
    "6": "neurological",
    "7": "ent_ophthalmology",
    "8": "ent_ophthalmology",
    "9": "cardiovascular",
    "10": "respiratory",
    "11": "gastrointestinal",
    "12": "dermatology",
    "13": "musculoskeletal",
    "14": "renal",
    "15": "obstetrics_gynaecology",
    "16": "paediatrics",
    "17": "paediatrics",
}
"""ICD-10-CM chapters (1 infectious ... 17 congenital) -> the bank's body systems. Chapters
18-22 (symptoms, injuries, external causes, factors) name no body system: 'other'."""


def body_system(code: str) -> str:
    """The body system of a code's chapter; 'other' for symptom, injury and unknown codes."""
    return CHAPTER_SYSTEMS.get(lineage(code).get("chapter", ""), "other")
