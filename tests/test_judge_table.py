"""The judge's table: (candidate, truth, expected credit band) over built-in and imported cases.

Bands: ZERO (exactly 0: every gaming form, and unrelated answers), FULL (1.0: names, synonyms,
abbreviations, misspellings, more specific forms), HALF_UP (>= 0.5: a synonym the code set puts
in the truth's category at least), PARTIAL (strictly between 0 and 1: a more general term or a
near miss, never 1.0), LOW (< 0.5: another disease). Each row names its class, and the test
reports accuracy per class; every row must hold.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import pytest

from grpodx.cases.bank import builtin_templates
from grpodx.cases.importers.agentclinic import import_agentclinic
from grpodx.cases.schema import Case
from grpodx.env.rubric import DiagnosisIndex, judge_grade, truth_of
from tests.case_helpers import FIXTURES

ZERO, FULL, HALF_UP, PARTIAL, LOW = "zero", "full", ">=0.5", "partial", "<0.5"
IMPORTED = FIXTURES / "agentclinic_medqa_extended.jsonl"

AMI, PE, STROKE, CAP, T2DM = "Acute myocardial infarction", "Pulmonary embolism", "Ischaemic stroke", "Community-acquired pneumonia", "Type 2 diabetes mellitus"
APPX, GOUT, CHF, SAH, GERD = "Acute appendicitis", "Gout", "Congestive heart failure", "Subarachnoid haemorrhage", "Gastro-oesophageal reflux disease"
AF, DVT, COPD, DKA, UTI = "Atrial fibrillation", "Deep vein thrombosis", "Acute exacerbation of COPD", "Diabetic ketoacidosis", "Acute cystitis"
MEL, PML, NSTEMI, LEG = (
    "Malignant melanoma",
    "Progressive multifocal leukoencephalopathy (PML)",
    "Non-ST elevation myocardial infarction",
    "Legionnaires' disease",
)
IDA, SLE, PHEO, PBC, IHPS = (
    "Iron deficiency anemia",
    "Systemic lupus erythematosus (SLE)",
    "Pheochromocytoma",
    "Primary biliary cholangitis",
    "Infantile hypertrophic pyloric stenosis",
)
KAWA, HSV, BIPOLAR, ANGINA, MG = "Kawasaki disease", "Herpes simplex encephalitis", "Bipolar disorder", "Stable angina pectoris", "Myasthenia gravis"

GAMING = [  # hedges, lists, negations, past diagnoses: 0 and never correct
    ("Acute appendicitis or sepsis", APPX),
    ("MI or PE", AMI),
    ("MI or PE", PE),
    ("doubt Gout", GOUT),
    ("rule out Sepsis", APPX),
    ("R/O MI", AMI),
    ("?MI", AMI),
    ("Gout?", GOUT),
    ("history of MI", AMI),
    ("old MI", AMI),
    ("MI vs PE", AMI),
    ("MI versus PE", PE),
    ("MI/PE", AMI),
    ("MI, PE, aortic dissection", AMI),
    ("pneumonia; pulmonary embolism", CAP),
    ("possible MI or unstable angina", AMI),
    ("query appendicitis", APPX),
    ("not gout", GOUT),
    ("no MI", AMI),
    ("MI ruled out", AMI),
    ("pulmonary embolism unlikely", PE),
    ("previous stroke", STROKE),
    ("prior DVT", DVT),
    ("h/o pulmonary embolism", PE),
    ("hx of gout", GOUT),
    ("status post appendicitis", APPX),
    ("either pneumonia or PE", CAP),
    ("pneumonia and sepsis", CAP),
    ("MI & PE", AMI),
    ("cannot exclude PE", PE),
    ("differential: MI, PE", AMI),
    ("1. MI 2. PE", AMI),
    ("melanoma?", MEL),
    ("history of melanoma", MEL),
    ("PML or lymphoma", PML),
    ("rule out NSTEMI", NSTEMI),
    ("Legionnaires' disease vs influenza", LEG),
    ("SLE or rheumatoid arthritis", SLE),
    ("old NSTEMI", NSTEMI),
    ("maybe pheochromocytoma", PHEO),
    ("known diabetes", T2DM),
    ("", AMI),
    ("   ", PE),
    ("consider Kawasaki disease", KAWA),
    ("doubtful gout", GOUT),
    ("heart attack?", AMI),
    ("Appendicitis (possible gout)", APPX),  # a second disease in brackets
    ("appendicitis (ruled out)", APPX),  # a negation in brackets
    ("Pneumonia (not MI)", CAP),
    ("Gout (query)", GOUT),
    ("Gout (history)", GOUT),
]
WRONG = [  # another disease: 0 or little ('heat stroke' is no stroke); a sibling in the category is PARTIAL (0.5)
    ("heat stroke", STROKE, ZERO),
    ("pneumonia", PE, ZERO),
    ("gout", AMI, ZERO),
    ("appendicitis", STROKE, ZERO),
    ("migraine", AMI, ZERO),
    ("asthma", T2DM, ZERO),
    ("cellulitis", DVT, ZERO),
    ("depression", GOUT, ZERO),
    ("aortic dissection", AMI, LOW),
    ("unstable angina", AMI, LOW),
    ("pericarditis", AMI, LOW),
    ("heart failure", AMI, LOW),
    ("pneumothorax", PE, LOW),
    ("lung cancer", CAP, LOW),
    ("hypothyroidism", T2DM, LOW),
    ("hyperthyroidism", T2DM, LOW),
    ("viral pneumonia", PE, LOW),
    ("melanoma", PML, ZERO),
    ("type 1 diabetes", T2DM, LOW),  # one character from an alias, but another disease: no misspelling
    ("type I diabetes mellitus", T2DM, LOW),
    ("basal cell carcinoma", MEL, LOW),
    ("HIV", PML, LOW),
    ("STEMI", NSTEMI, PARTIAL),
    ("influenza", LEG, LOW),
    ("rheumatoid arthritis", SLE, LOW),
    ("vitamin B12 deficiency anemia", IDA, LOW),
    ("Cushing syndrome", PHEO, LOW),
    ("hepatitis B", PBC, LOW),
    ("gastroenteritis", IHPS, LOW),
    ("measles", KAWA, LOW),
    ("unstable angina", ANGINA, PARTIAL),
    ("stable angina", "Unstable angina", PARTIAL),
    ("hyperthyroidism", "Hypothyroidism", LOW),
    ("myocardial infarction", PE, LOW),
    ("heart burn", AMI, ZERO),
    ("eczema", "Psoriasis", LOW),
]
SYNONYMS = [  # names, aliases, lay words, abbreviations
    ("myocardial infarct", AMI),
    ("I think appendicitis", APPX),
    ("Heart attack (MI)", AMI),
    ("heart attack", AMI),
    ("MI", AMI),
    ("AMI", AMI),
    ("acute MI", AMI),
    ("pulmonary emboli", PE),
    ("pulmonary embolus", PE),
    ("PE", PE),
    ("DM2", T2DM),
    ("T2D", T2DM),
    ("T2DM", T2DM),
    ("type II diabetes", T2DM),
    ("type 2 diabetes", T2DM),
    ("subarachnoid bleed", SAH),
    ("SAH", SAH),
    ("subarachnoid hemorrhage", SAH),
    ("heartburn", GERD),
    ("GERD", GERD),
    ("GORD", GERD),
    ("acid reflux", GERD),
    ("CHF", CHF),
    ("heart failure", CHF),
    ("AF", AF),
    ("afib", AF),
    ("DVT", DVT),
    ("COPD exacerbation", COPD),
    ("DKA", DKA),
    ("UTI", UTI),
    ("bladder infection", UTI),
    ("CVA", STROKE),
    ("stroke", STROKE),
    ("ischemic stroke", STROKE),
    ("appendicitis", APPX),
    ("Acute Appendicitis", APPX),
    ("the acute appendicitis", APPX),
    ("probable appendicitis", APPX),
    ("gout", GOUT),
    ("GOUT", GOUT),
    ("CAP", CAP),
    ("pneumonia", CAP),
    ("chest infection", CAP),
    ("melanoma", MEL),
    ("malignant melanoma", MEL),
    ("PML", PML),
    ("progressive multifocal leukoencephalopathy", PML),
    ("NSTEMI", NSTEMI),
    ("non-ST elevation MI", NSTEMI),
    ("non ST elevation myocardial infarction", NSTEMI),
    ("Legionella pneumonia", LEG),
    ("Legionnaires disease", LEG),
    ("iron deficiency anaemia", IDA),
    ("IDA", IDA),
    ("SLE", SLE),
    ("lupus", SLE),
    ("systemic lupus erythematosus", SLE),
    ("phaeochromocytoma", PHEO),
    ("pheochromocytoma", PHEO),
    ("pyloric stenosis", IHPS),
    ("Kawasaki", KAWA),
    ("mucocutaneous lymph node syndrome", KAWA),
    ("HSV encephalitis", HSV),
    ("manic depression", BIPOLAR),
    ("MG", MG),
    ("myasthenia", MG),
]
HALF = [  # the code set's synonyms: at least the truth's category
    ("HFpEF", CHF),
    ("heart failure with preserved ejection fraction", CHF),
    ("primary biliary cirrhosis", PBC),
    ("acute myocardial infarction", NSTEMI),
    ("myocardial infarction", NSTEMI),
]
MISSPELLINGS = [
    ("myocardial infraction", AMI),
    ("myocardial infarcion", AMI),
    ("pulmonary embolsim", PE),
    ("pnuemonia", CAP),
    ("appendicitus", APPX),
    ("apendicitis", APPX),
    ("diabetic ketoacidossis", DKA),
    ("atrial fibrilation", AF),
    ("subarachnoid haemorhage", SAH),
    ("melanomma", MEL),
    ("pheochromocytma", PHEO),
    ("myasthenia gravus", MG),
    ("Kawasaki diseas", KAWA),
    ("legionaires disease", LEG),
    ("deep vein thrombossis", DVT),
    ("ischaemic strok", STROKE),
]
SPECIFIC = [  # a more specific form of the truth is the truth
    ("NSTEMI", AMI),
    ("Myocardial infarction (NSTEMI)", AMI),  # a bracket of the same category is no second disease
    ("Pneumonia (right lower lobe)", CAP),
    ("STEMI", AMI),
    ("inferior STEMI", AMI),
    ("anterior wall myocardial infarction", AMI),
    ("right lower lobe pneumonia", CAP),
    ("left lower lobe pneumonia", CAP),
    ("lobar pneumonia", CAP),
    ("acute appendicitis with perforation", APPX),
    ("perforated appendicitis", APPX),
    ("severe acute appendicitis", APPX),
    ("massive pulmonary embolism", PE),
    ("acute pulmonary embolism", PE),
    ("left leg DVT", DVT),
    ("proximal DVT", DVT),
    ("tophaceous gout", GOUT),
    ("acute gout", GOUT),
    ("cerebral infarction due to embolism", STROKE),
    ("superficial spreading malignant melanoma", MEL),
    ("malignant melanoma of the back", MEL),
    ("severe diabetic ketoacidosis", DKA),
    ("right tension pneumothorax", "Tension pneumothorax"),
]
QUALIFIED = [  # a truth name qualified by laterality, site, organism, stage, severity or course is the truth
    ("saddle pulmonary embolism", PE),
    ("left popliteal DVT", DVT),
    ("E. coli cystitis", UTI),
    ("retrocaecal appendicitis", APPX),
    ("AKI stage 3", "Acute kidney injury"),
    ("life-threatening asthma", "Acute asthma"),
    ("ruptured tubal ectopic pregnancy", "Ectopic pregnancy"),
    ("herpes zoster ophthalmicus", "Herpes zoster"),
    ("COPD flare", COPD),
    ("type II diabetes mellitus", T2DM),
    ("status asthmaticus", "Acute asthma"),
    ("Hashimoto's", "Hypothyroidism"),
    ("MRSA septic arthritis", "Septic arthritis"),
    ("Klebsiella cystitis", UTI),
    ("CKD stage 4", "Chronic kidney disease"),
    ("right calf DVT", DVT),
    ("pelvic appendicitis", APPX),
    ("Graves'", "Graves' disease"),
]
CODES = [  # a bare ICD-10-CM code: within the truth's code is the truth, a more general one is partial
    ("K35.80", APPX, FULL),
    ("E11.9", T2DM, FULL),
    ("I21.4", NSTEMI, FULL),
    ("J18.9", CAP, FULL),
    ("K35", APPX, PARTIAL),
    ("I26.92", PE, HALF_UP),
    ("I21.9", PE, LOW),
    ("K35.99", APPX, ZERO),  # no such code
]
QUALIFIER_NAMES_ANOTHER_DISEASE = [  # the qualifier makes it another disease: below 0.5
    ("tuberculous cystitis", UTI),
    ("viral meningitis", "Bacterial meningitis"),
    ("gestational diabetes mellitus", T2DM),
    ("type I diabetes mellitus", T2DM),
    ("chronic pancreatitis", "Acute pancreatitis"),
]
SIBLINGS = [("interstitial cystitis", UTI)]  # another disease of the truth's category: 0.5, never 1.0
HELD_OUT = [  # written before the change and never tuned on: `test_held_out_probe` reports the share
    ("left femoral DVT", DVT),
    ("bilateral pulmonary emboli", PE),
    ("staphylococcal cellulitis", "Cellulitis"),
    ("MRSA cellulitis", "Cellulitis"),
    ("streptococcal cellulitis", "Cellulitis"),
    ("right otitis media", "Acute otitis media"),
    ("CKD stage IV", "Chronic kidney disease"),
    ("stage 2 AKI", "Acute kidney injury"),
    ("near-fatal asthma", "Acute asthma"),
    ("Crohn's flare", "Crohn's disease"),
    ("ulcerative colitis flare", "Ulcerative colitis"),
    ("flare of ulcerative colitis", "Ulcerative colitis"),
    ("acute severe ulcerative colitis", "Ulcerative colitis"),
    ("Graves'", "Graves' disease"),
    ("Addison's", "Addison's disease"),
    ("Parkinson's", "Parkinson's disease"),
    ("Meniere's", "Ménière's disease"),
    ("Sjogren's", "Sjögren syndrome"),
    ("N10", "Acute pyelonephritis"),
    ("I21.4", AMI),
    ("J45.901", "Acute asthma"),
    ("left ovarian torsion", "Ovarian torsion"),
    ("severe falciparum malaria", "Malaria"),
    ("left MCA infarct", STROKE),
    ("herpes zoster oticus", "Herpes zoster"),
    ("disseminated herpes zoster", "Herpes zoster"),
    ("unruptured ectopic pregnancy", "Ectopic pregnancy"),
    ("right tubal pregnancy", "Ectopic pregnancy"),
    ("COPD flare-up", COPD),
    ("acute flare of gout", GOUT),
    ("E. coli pyelonephritis", "Acute pyelonephritis"),
    ("Pseudomonas otitis externa", "Otitis externa"),
    ("type II DM", T2DM),
    ("moderate DKA", DKA),
    ("left lower lobe community-acquired pneumonia", CAP),
    ("sub-massive pulmonary embolism", PE),
    ("right iliofemoral DVT", DVT),
    ("gram-negative sepsis", "Sepsis"),
    ("urosepsis", "Sepsis"),
    ("stage 3 CKD", "Chronic kidney disease"),
]
HELD_OUT_BASELINE, HELD_OUT_FLOOR = 10, 0.85
"""Before the change 10 of the 40 held-out rows earned >= 0.5; after it 37 (`test_held_out_probe`)."""
HELD_OUT_WRONG = [  # held out too: a qualifier or code that names another disease stays below 0.5, every row
    ("tuberculous meningitis", "Bacterial meningitis"),
    ("viral meningitis", "Bacterial meningitis"),
    ("gestational diabetes", T2DM),
    ("septic arthritis", "Rheumatoid arthritis"),
    ("diabetic nephropathy", "Chronic kidney disease"),
    ("allergic asthma exacerbation due to pneumonia", CAP),
    ("type 1 diabetes mellitus", T2DM),
    ("heat stroke", STROKE),
    ("E11.9", "Hypothyroidism"),
    ("hepatitis C", "Hepatitis A"),
]
GENERAL = [  # a more general term: the level it shares, never 1.0
    ("diabetes", T2DM),
    ("diabetes mellitus", T2DM),
    ("angina", ANGINA),
    ("encephalitis", HSV),
    ("ischemic heart disease", AMI),
    ("mania", BIPOLAR),
    ("myocardial infarction", NSTEMI),
    ("anemia", IDA),
    ("heart disease", AMI),
    ("cerebrovascular disease", STROKE),
    ("cardiomyopathy", "Hypertrophic cardiomyopathy"),
]


def _rows() -> list[tuple[str, str, str, str]]:
    rows = [("gaming", c, t, ZERO) for c, t in GAMING]
    rows += [("wrong", c, t, band) for c, t, band in WRONG]
    rows += [("synonym", c, t, FULL) for c, t in SYNONYMS]
    rows += [("synonym", c, t, HALF_UP) for c, t in HALF]
    rows += [("misspelling", c, t, FULL) for c, t in MISSPELLINGS]
    rows += [("specific", c, t, FULL) for c, t in SPECIFIC]
    rows += [("general", c, t, PARTIAL if t not in (HSV,) else LOW) for c, t in GENERAL]
    rows += [("qualified", c, t, FULL) for c, t in QUALIFIED]
    rows += [("code", c, t, band) for c, t, band in CODES]
    rows += [("wrong", c, t, LOW) for c, t in (*QUALIFIER_NAMES_ANOTHER_DISEASE, *HELD_OUT_WRONG)]
    rows += [("wrong", c, t, PARTIAL) for c, t in SIBLINGS]
    return rows


ROWS = _rows()


@lru_cache(maxsize=1)
def _world() -> tuple[DiagnosisIndex, dict[str, Case]]:
    imported, _ = import_agentclinic(IMPORTED)
    bank = {t.diagnosis: Case(f"builtin/{t.diagnosis}", t.diagnosis, t.aliases, t.icd10, t.body_system, 40, None, "...", ()) for t in builtin_templates()}
    return DiagnosisIndex.for_cases(imported), {**bank, **{c.diagnosis: c for c in imported}}


def _holds(band: str, credit: float) -> bool:
    return {ZERO: credit == 0.0, FULL: credit == 1.0, HALF_UP: credit >= 0.5, PARTIAL: 0.0 < credit < 1.0, LOW: credit < 0.5}[band]


def test_the_table_is_big_and_covers_built_in_and_imported_cases() -> None:
    _, cases = _world()
    truths = {t for _, _, t, _ in ROWS}
    assert len(ROWS) >= 150 and not truths - set(cases)
    assert sum(cases[t].source == "agentclinic" for t in truths) >= 10


@pytest.mark.parametrize("kind,candidate,truth,band", ROWS, ids=[f"{k}:{c}->{t}" for k, c, t, _ in ROWS])
def test_row(kind: str, candidate: str, truth: str, band: str) -> None:
    index, cases = _world()
    credit, rationale, _ = judge_grade(truth_of(cases[truth], index), candidate, index)
    assert _holds(band, credit), f"{candidate!r} for {truth!r}: {credit} ({rationale}); expected {band}"


def test_accuracy_per_class_is_printed_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    index, cases = _world()
    right, total = Counter(), Counter()
    for kind, candidate, truth, band in ROWS:
        total[kind] += 1
        right[kind] += _holds(band, judge_grade(truth_of(cases[truth], index), candidate, index)[0])
    with capsys.disabled():
        print("\njudge table accuracy: " + ", ".join(f"{k} {right[k]}/{total[k]}" for k in sorted(total)))
    assert right == total


def test_held_out_probe() -> None:
    """Synonyms and more specific forms the rules were not tuned on: the share earning >= 0.5."""
    index, cases = _world()
    misses = [(c, t) for c, t in HELD_OUT if judge_grade(truth_of(cases[t], index), c, index)[0] < 0.5]
    share = 1 - len(misses) / len(HELD_OUT)
    print(f"\nheld-out probe: {len(HELD_OUT) - len(misses)}/{len(HELD_OUT)} earn >= 0.5 (before: {HELD_OUT_BASELINE}); misses: {misses}")
    assert share >= HELD_OUT_FLOOR, misses
