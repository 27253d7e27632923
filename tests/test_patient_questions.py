"""Quality bar for the scripted patient: real doctor questions get the fact-grounded answer.

Each question is phrased the way a doctor model really asks, and names the fact that should
answer it (a phrase from that fact's text), or NOT_SURE for what the case does not say, or
NO_RESULT for an order the case has no result for. At least 90% must come out right. The cases
are written like bank templates (cues as a bank author writes them); then come imported cases:
one with no cues at all, answered by word overlap, and AgentClinic records (imported from the
fixture in the public file's format) with third-person notes, abbreviations, nested review of
systems and social history, a baby whose parent speaks, and extra OSCE fields.
"""

from __future__ import annotations

import asyncio

import pytest

from grpodx.cases.bank import builtin_templates
from grpodx.cases.importers.agentclinic import import_agentclinic
from grpodx.cases.schema import Case, Fact
from grpodx.cases.sources import load_source
from grpodx.env import PatientConfig, build_patient
from grpodx.env.scripted import NO_RESULT, NOT_SURE, PatientSheet, answer, matching_facts
from tests.case_helpers import FIXTURES

S, N, H, M, SO, FA, E, T = "symptom", "negative", "history", "medication", "social", "family", "exam", "test"


def _case(id: str, dx: str, cc: str, facts: list[tuple[str, str, str]]) -> Case:
    """facts: (kind, text, cues separated by '|'); an empty cue string means no cues."""
    made = tuple(Fact(kind, text, tuple(c for c in cues.split("|") if c)) for kind, text, cues in facts)
    return Case(id, dx, (), "R69", "other", 40, "female", cc, made)


def _bank_case() -> Case:
    t = next(t for t in builtin_templates() if t.diagnosis == "Acute myocardial infarction")
    facts = tuple(Fact(f.kind, f.text[0], f.ask) for f in t.facts)
    return Case("mi", t.diagnosis, t.aliases, t.icd10, t.body_system, 61, "male", t.chief_complaint[0], facts)


CASES = {
    c.id: c
    for c in [
        _bank_case(),
        _case(
            "pneumonia",
            "Community-acquired pneumonia",
            "I've had a bad cough and fever for four days.",
            [
                (S, "I'm coughing up thick yellow-green phlegm.", "phlegm|sputum|mucus|coughing up|productive"),
                (S, "It hurts on the right side of my chest when I breathe in deeply.", "chest pain|breathe in|deep breath|pleurit|hurt"),
                (S, "I get short of breath walking up the stairs.", "short of breath|breathless|breath|dyspn"),
                (N, "No, I haven't coughed up any blood.", "blood|haemoptysis|hemoptysis"),
                (N, "No, I haven't travelled anywhere recently.", "travel|abroad|trip"),
                (H, "I'm usually healthy, nothing major.", "medical history|conditions|health problems|past"),
                (SO, "I smoke about ten cigarettes a day.", "smok|cigarette|tobacco"),
                (
                    E,
                    "Temp 38.9 C, RR 24/min, SpO2 92% on air; bronchial breathing and crackles at the right base.",
                    "examin|vital|listen|chest|lungs|temperature|auscultat",
                ),
                (T, "Chest X-ray: right lower lobe consolidation.", "x ray|xray|chest film|radiograph|imaging"),
                (T, "CRP 180 mg/L, WBC 16 x10^9/L.", "blood test|crp|white cell|wbc|blood count|cbc|inflammatory"),
            ],
        ),
        _case(
            "appendicitis",
            "Acute appendicitis",
            "My tummy has been hurting since last night and it's getting worse.",
            [
                (S, "It started around my belly button and then moved to the lower right side.", "where|locat|move|started|begin|point"),
                (S, "I've lost my appetite and I threw up once.", "appetite|eat|hungry|vomit|throw up|threw up|sick|nause"),
                (S, "It hurts more when I walk or cough.", "walk|cough|move|bump|worse"),
                (N, "No, my bowels have been normal, no diarrhoea.", "diarrh|bowel|stool|poo|constipat"),
                (N, "No, no burning when I pee.", "urin|pee|burning|wee"),
                (N, "No, my period is regular and I'm not pregnant.", "period|menstru|pregnan|lmp"),
                (M, "I took some paracetamol this morning.", "medication|medicine|painkiller|pills|take|taking"),
                (E, "Temp 37.9 C; tender in the right lower quadrant with guarding and rebound.", "examin|vital|abdomen|belly|tummy|press|palpat|temperature"),
                (T, "WBC 14.2 x10^9/L with neutrophilia; urine dipstick negative.", "blood test|wbc|white cell|blood count|cbc|urine|dipstick"),
                (T, "Ultrasound: non-compressible tubular structure, 9 mm, in the right iliac fossa.", "ultrasound|scan|imaging|ct"),
            ],
        ),
        _case(
            "migraine",
            "Migraine with aura",
            "I've got a terrible throbbing headache on one side.",
            [
                (S, "Before it started I saw zigzag flashing lights for about twenty minutes.", "vision|see|visual|lights|aura|eyes|sight"),
                (S, "Light and noise make it much worse.", "light|noise|sound|photophob"),
                (S, "I feel sick with it.", "nause|sick|vomit"),
                (H, "I've had headaches like this a few times a year since I was a teenager.", "before|previous|similar|history|past|used to"),
                (N, "No, I haven't had a fever or a stiff neck.", "fever|stiff neck|neck|temperature"),
                (N, "No, no weakness or numbness.", "weak|numb|tingl|arm|leg"),
                (M, "I take the combined pill.", "medication|medicine|pills|contracept|take"),
                (FA, "My mother gets bad headaches too.", "family|mother|father|parent|relatives|run in"),
                (E, "Neurological examination normal; no neck stiffness; fundi normal.", "examin|neuro|reflex|neck|fundoscop|eyes"),
                (T, "CT head: no abnormality.", "ct|scan|imaging|brain"),
            ],
        ),
        _case(
            "pyelonephritis",
            "Acute pyelonephritis",
            "I've had a high fever and pain in my back on the right.",
            [
                (S, "It burns when I pass urine and I'm going all the time.", "urin|pee|burn|frequen|wee|water"),
                (S, "I've had shaking chills.", "chill|rigor|shiver|shak"),
                (S, "I've vomited twice today.", "vomit|nause|sick|throw"),
                (N, "No, I haven't seen any blood in my urine.", "blood|haematuria|hematuria"),
                (N, "No, no vaginal discharge.", "discharge|vagina"),
                (H, "I had a bladder infection last year.", "before|previous|history|past|infection"),
                (SO, "I don't smoke and I drink only at weekends.", "smok|alcohol|drink"),
                (E, "Temp 39.4 C, HR 112/min; right costovertebral angle tenderness.", "examin|vital|temperature|back|flank|tender|pulse"),
                (T, "Urinalysis: nitrites positive, leukocytes +++.", "urine test|urinalysis|dipstick|urine sample|urine"),
                (T, "Urine culture: E. coli >10^5 CFU/mL.", "culture"),
            ],
        ),
        _case(
            "dka",
            "Diabetic ketoacidosis",
            "I've been vomiting and I feel awful, really weak.",
            [
                (S, "I'm so thirsty and I've been peeing loads.", "thirst|drink|urin|pee|wee"),
                (S, "I've lost weight over the last few weeks without trying.", "weight"),
                (S, "My stomach hurts all over.", "stomach|tummy|abdom|belly"),
                (N, "No, I haven't had diarrhoea.", "diarrh|bowel|stool"),
                (H, "I have type 1 diabetes.", "medical history|conditions|health problems|diabet|sugar"),
                (M, "I use insulin but I ran out three days ago.", "medication|medicine|insulin|take|pills"),
                (SO, "I'm a student, I don't smoke.", "smok|work|job|student"),
                (E, "HR 124/min, RR 30/min deep sighing breaths, dry mucous membranes, fruity breath.", "examin|vital|pulse|breath|hydrat"),
                (T, "Capillary glucose 28 mmol/L; blood ketones 5.8 mmol/L.", "glucose|sugar level|ketone|fingerprick|finger prick"),
                (T, "Venous blood gas: pH 7.08, bicarbonate 8 mmol/L.", "blood gas|vbg|abg|ph|bicarb"),
            ],
        ),
        _case(
            "pe",
            "Pulmonary embolism",
            "I suddenly got short of breath this afternoon.",
            [
                (S, "There's a sharp pain on the left side of my chest when I breathe in.", "chest|pain|breathe in|pleurit"),
                (S, "My left calf has been swollen and sore for a few days.", "leg|calf|swell|swollen"),
                (N, "No, I haven't had a cough or a fever.", "cough|fever|temperature"),
                (H, "I had knee surgery two weeks ago.", "surgery|operation|hospital|recent|immobil|medical history"),
                (M, "I'm on the contraceptive pill.", "medication|medicine|pill|contracept|hormone|take"),
                (SO, "I don't smoke.", "smok|cigarette"),
                (FA, "My sister had a blood clot in her leg.", "family|mother|father|sister|brother|clot"),
                (E, "HR 118/min, RR 26/min, SpO2 89% on air; lungs clear; left calf swollen and tender.", "examin|vital|pulse|oxygen|saturation|listen|lungs"),
                (T, "D-dimer 4,200 ng/mL (raised).", "d dimer|dimer|clotting|blood test"),
                (T, "CT pulmonary angiogram: filling defect in the left lower lobe artery.", "ct|ctpa|angiogra|scan"),
            ],
        ),
        _case(
            "gout",
            "Gout",
            "My big toe suddenly became red, swollen and extremely painful overnight.",
            [
                (S, "Even the bedsheet touching it is unbearable.", "touch|sheet|pain|severe|bad"),
                (N, "No, I haven't injured it.", "injur|trauma|hurt it|knock|fall"),
                (N, "No, no fever.", "fever|temperature|chills"),
                (H, "I had something similar in my ankle last year.", "before|previous|similar|happened"),
                (M, "I take a water pill for my blood pressure.", "medication|medicine|pills|diuretic|water pill|take"),
                (SO, "I drink about four beers most nights.", "alcohol|drink|beer|wine"),
                (E, "First MTP joint of the right foot hot, red, swollen and exquisitely tender.", "examin|look at|foot|toe|joint"),
                (T, "Serum urate 0.58 mmol/L (raised).", "urate|uric|blood test"),
                (T, "Joint aspirate: negatively birefringent needle-shaped crystals.", "aspirat|fluid|joint tap|crystal|needle"),
            ],
        ),
        _case(
            "cholecystitis",
            "Acute cholecystitis",
            "I've got a constant pain under my right ribs since yesterday.",
            [
                (S, "It goes through to my right shoulder blade.", "radiat|spread|go anywhere|shoulder|back|travel"),
                (S, "It started after a big fatty meal.", "eat|meal|food|fatty|trigger"),
                (S, "I feel sick and I've vomited.", "nause|sick|vomit"),
                (N, "No, my skin and eyes haven't gone yellow.", "yellow|jaundic|eyes|skin"),
                (N, "No, my urine and stools look normal.", "urine|stool|poo|dark"),
                (H, "I've had shorter attacks of this pain after meals before.", "before|previous|similar|history|past"),
                (E, "Temp 38.2 C; tender right upper quadrant, Murphy's sign positive.", "examin|vital|abdomen|belly|press|palpat|temperature"),
                (T, "Ultrasound: thick-walled gallbladder with stones and pericholecystic fluid.", "ultrasound|scan|imaging"),
                (T, "WBC 15 x10^9/L; bilirubin and ALP normal.", "blood test|wbc|white cell|liver|lft|bilirubin"),
            ],
        ),
        _case(
            "anaemia",
            "Iron deficiency anaemia",
            "I've been feeling tired all the time for a couple of months.",
            [
                (S, "I get breathless going up stairs.", "breath|stairs|exercise|exert"),
                (S, "My periods have been very heavy lately.", "period|menstru|bleed"),
                (S, "People say I look pale.", "pale|colour|color"),
                (N, "No, my stools are a normal colour, no black stools.", "stool|poo|black|bowel|blood"),
                (N, "No, I haven't lost any weight.", "weight"),
                (SO, "I'm vegetarian.", "diet|eat|food|meat|vegetarian"),
                (M, "I'm not taking any medicines.", "medication|medicine|pills|supplement|take"),
                (E, "Pale conjunctivae; HR 98/min; spoon-shaped nails.", "examin|vital|look at|eyes|nails|pulse"),
                (T, "Hb 86 g/L, MCV 68 fL, ferritin 5 ug/L.", "blood test|blood count|cbc|fbc|haemoglobin|hemoglobin|iron|ferritin"),
            ],
        ),
        _case(
            "meningitis-imported",
            "Bacterial meningitis",
            "I have a really bad headache and I can't stand the light.",
            [
                (S, "My neck is very stiff and hurts to bend.", ""),
                (S, "I have had a high fever since this morning.", ""),
                (S, "I have been vomiting.", ""),
                (N, "I have not noticed any rash.", ""),
                (SO, "I live in a university dormitory.", ""),
                (E, "Temperature 39.5 C, heart rate 120; positive Kernig sign.", ""),
                (T, "Lumbar puncture: turbid CSF, neutrophils 2,400, glucose low.", ""),
            ],
        ),
    ]
}

CASES.update({f"ac{c.id.rsplit('/', 1)[1]}": c for c in import_agentclinic(FIXTURES / "agentclinic_medqa_extended.jsonl")[0]})

QUESTIONS: list[tuple[str, str, str]] = [
    ("mi", "Does the pain go anywhere else, like your arm or jaw?", "left arm"),
    ("mi", "Have you had any fevers or chills?", "haven't had a fever"),
    ("mi", "Do you smoke?", "pack a day"),
    ("mi", "What medications are you currently taking?", "amlodipine"),
    ("mi", "Does anyone in your family have heart problems?", "father"),
    ("mi", "Have you been sweating or feeling nauseous?", "sweating"),
    ("mi", "I'd like to get an ECG.", "ST elevation"),
    ("mi", "Have you ever had a cough?", NOT_SURE),
    ("pneumonia", "Are you bringing up any phlegm when you cough?", "yellow-green"),
    ("pneumonia", "Does it hurt when you take a deep breath?", "right side"),
    ("pneumonia", "Have you coughed up any blood?", "any blood"),
    ("pneumonia", "Have you travelled anywhere recently?", "travelled"),
    ("pneumonia", "Let me listen to your chest.", "crackles"),
    ("pneumonia", "I'd like to order a chest X-ray.", "consolidation"),
    ("pneumonia", "Any pets at home?", NOT_SURE),
    ("appendicitis", "Where exactly did the pain start?", "belly button"),
    ("appendicitis", "Have you had any nausea or vomiting?", "threw up"),
    ("appendicitis", "Any diarrhoea or constipation?", "bowels"),
    ("appendicitis", "Any burning when you urinate?", "burning"),
    ("appendicitis", "When was your last menstrual period? Could you be pregnant?", "not pregnant"),
    ("appendicitis", "I'm going to press on your abdomen, tell me where it hurts.", "right lower quadrant"),
    ("appendicitis", "Let's check a full blood count and a urine dipstick.", "neutrophilia"),
    ("migraine", "Did you notice any changes in your vision before the headache?", "zigzag"),
    ("migraine", "Does light or noise bother you?", "noise"),
    ("migraine", "Have you had headaches like this before?", "teenager"),
    ("migraine", "Any fever or neck stiffness?", "stiff neck"),
    ("migraine", "Any weakness or numbness in your arms or legs?", "numbness"),
    ("migraine", "Does anyone in your family get migraines?", "mother"),
    ("migraine", "Let me do a neurological examination.", "Neurological examination normal"),
    ("migraine", "Have you had a head injury recently?", NOT_SURE),
    ("pyelonephritis", "Any pain or burning when you pass urine?", "burns"),
    ("pyelonephritis", "Have you had any chills or shaking?", "shaking chills"),
    ("pyelonephritis", "Have you noticed blood in your urine?", "blood in my urine"),
    ("pyelonephritis", "Have you had any infections like this before?", "bladder infection"),
    ("pyelonephritis", "Do you smoke or drink?", "weekends"),
    ("pyelonephritis", "Can I examine your back and take your temperature?", "costovertebral"),
    ("pyelonephritis", "We'll send a urine sample for urinalysis.", "nitrites"),
    ("dka", "Have you been unusually thirsty or urinating more than usual?", "thirsty"),
    ("dka", "Have you lost any weight recently?", "lost weight"),
    ("dka", "Do you have any medical conditions such as diabetes?", "type 1 diabetes"),
    ("dka", "Are you taking any medication, like insulin?", "ran out"),
    ("dka", "Let me check your blood sugar with a finger prick.", "glucose 28"),
    ("dka", "I'd like a venous blood gas.", "pH 7.08"),
    ("dka", "Do you have a headache?", NOT_SURE),
    ("pe", "Do you have any chest pain?", "sharp pain"),
    ("pe", "Have you noticed any swelling in your legs?", "calf"),
    ("pe", "Have you had any recent surgery or long periods of immobility?", "knee surgery"),
    ("pe", "Are you on any hormonal contraception?", "contraceptive pill"),
    ("pe", "Is there any family history of blood clots?", "sister"),
    ("pe", "Any cough or fever?", "cough or a fever"),
    ("pe", "Let me check your oxygen saturation and pulse.", "SpO2 89%"),
    ("pe", "Let's get a CT pulmonary angiogram.", "filling defect"),
    ("gout", "Did you injure your toe at all?", "injured"),
    ("gout", "Has this ever happened before?", "ankle"),
    ("gout", "How much alcohol do you drink?", "four beers"),
    ("gout", "What medications do you take?", "water pill"),
    ("gout", "Can I take a look at your foot?", "MTP joint"),
    ("gout", "We should check your uric acid level.", "urate"),
    ("cholecystitis", "Does the pain radiate anywhere?", "shoulder blade"),
    ("cholecystitis", "Was it brought on by eating?", "fatty meal"),
    ("cholecystitis", "Have you noticed any yellowing of your skin or eyes?", "yellow"),
    ("cholecystitis", "Any change in the colour of your urine or stools?", "stools look normal"),
    ("cholecystitis", "Let me examine your abdomen.", "Murphy"),
    ("cholecystitis", "I'm going to order an abdominal ultrasound.", "gallbladder"),
    ("anaemia", "Do you get short of breath?", "breathless"),
    ("anaemia", "Are your periods heavy?", "heavy"),
    ("anaemia", "Have you noticed any blood in your stool or black stools?", "black stools"),
    ("anaemia", "What is your diet like? Do you eat meat?", "vegetarian"),
    ("anaemia", "Are you taking any supplements?", "not taking any"),
    ("anaemia", "Let's do a full blood count and iron studies.", "ferritin"),
    ("anaemia", "Have you been feeling anxious or low?", NOT_SURE),
    ("meningitis-imported", "Is your neck stiff?", "neck is very stiff"),
    ("meningitis-imported", "Have you had a fever?", "high fever"),
    ("meningitis-imported", "Have you noticed any rash on your skin?", "rash"),
    ("meningitis-imported", "Have you been vomiting?", "vomiting"),
    ("meningitis-imported", "Where do you live? In a dormitory?", "dormitory"),
    ("meningitis-imported", "Let me check your temperature and heart rate.", "Kernig"),
    ("meningitis-imported", "We need to do a lumbar puncture.", "turbid CSF"),
    ("meningitis-imported", "Do you take any regular medicines?", NOT_SURE),
    # AgentClinic-style imports: third person turned first, nested sections, abbreviations, lay words
    ("ac1", "Do you smoke?", "I smoke half a pack"),
    ("ac1", "Are you a smoker?", "I smoke half a pack"),
    ("ac1", "Any headaches?", "No headache"),
    ("ac1", "Have you lost any weight?", "weight loss of 5 kg"),
    ("ac1", "What do you do for work?", "chef"),
    ("ac1", "Any ear pain?", "No ear pain"),
    ("ac1", "You drink alcohol, right?", "drink socially"),
    ("ac1", "Let me check your BP.", "124/80"),
    ("ac1", "I'd like an MRI of your brain.", "white matter lesions"),
    ("ac1", "Let's check your CD4 count.", "45 cells"),
    ("ac1", "Have you had a fever?", NOT_SURE),
    ("ac2", "Is the baby vomiting after feeds?", "vomiting forcefully"),
    ("ac2", "Does the baby have diarrhoea?", "No diarrhoea"),
    ("ac2", "How was the delivery?", "normal delivery"),
    ("ac2", "Let me examine the tummy.", "Olive-shaped mass"),
    ("ac2", "Let's get an ultrasound of the belly.", "Pyloric muscle"),
    ("ac5", "Has the mole bled?", "bled twice"),
    ("ac5", "Have you had bad sunburns?", "sunburns"),
    ("ac5", "What is your job?", "gardener"),
    ("ac5", "I'd like to take a biopsy.", "Breslow"),
    ("ac6", "Any mouth ulcers?", "Mouth ulcers"),
    ("ac6", "Does the rash get worse in the sun?", "worse in the sun"),
    ("ac6", "What medicines do you take?", "ibuprofen"),
    ("ac6", "Are you tired?", "Fatigue"),
    ("ac6", "We need a urine dipstick.", "Protein 2+"),
    ("ac7", "Does the pain go to your jaw?", "jaw"),
    ("ac7", "Any heart problems in the family?", "father died"),
    ("ac7", "Let's do an electrocardiogram.", "ST depression"),
    ("ac7", "Let me check a troponin.", "2.4 ng/mL"),
    ("ac7", "Are you short of breath?", "Shortness of breath"),
    ("ac8", "Have you travelled recently?", "conference abroad"),
    ("ac8", "Let me get a CXR.", "consolidation"),
    ("ac8", "Any confusion?", "Confusion"),
    ("ac10", "Are your periods heavy?", "very heavy"),
    ("ac10", "Let's do a FBC.", "82 g/L"),
    ("ac10", "Let me look at your nails.", "Spoon-shaped"),
    ("ac12", "Let me listen to your chest.", "Absent breath sounds"),
    ("ac12", "Let's do a CT pulmonary angiogram.", NO_RESULT),
]


def _grounded(case: Case, question: str, expected: str) -> bool:
    reply = answer(PatientSheet.from_case(case), question, seed=0)
    if expected is NOT_SURE:
        return reply in NOT_SURE
    if expected is NO_RESULT:
        return reply in NO_RESULT
    return expected.lower() in reply.lower()


def test_question_set_is_big_and_varied_enough() -> None:
    assert len(QUESTIONS) >= 60
    assert len({case_id for case_id, _, _ in QUESTIONS}) >= 10
    assert sum(case_id.startswith("ac") for case_id, _, _ in QUESTIONS) >= 30  # imported-style


def test_imported_questions_alone_reach_90_percent(capsys: pytest.CaptureFixture[str]) -> None:
    imported = [(c, q, e) for c, q, e in QUESTIONS if c.startswith("ac")]
    misses = [(c, q) for c, q, e in imported if not _grounded(CASES[c], q, e)]
    rate = 1 - len(misses) / len(imported)
    with capsys.disabled():
        print(f"\npatient: imported-style {rate:.0%} of {len(imported)}; misses {misses}")
    assert rate >= 0.9, misses


def test_at_least_90_percent_of_questions_get_the_grounded_answer() -> None:
    misses = [(c, q, e if isinstance(e, str) else "not sure") for c, q, e in QUESTIONS if not _grounded(CASES[c], q, e)]
    rate = 1 - len(misses) / len(QUESTIONS)
    print(f"patient question set: {rate:.0%} of {len(QUESTIONS)} grounded")
    assert rate >= 0.9, f"{rate:.0%} grounded; misses: {misses}"


def test_exam_and_test_findings_need_an_examination_or_order() -> None:
    case = CASES["pneumonia"]
    sheet = PatientSheet.from_case(case)
    assert "crackles" not in answer(sheet, "How are your lungs?", 0)
    assert "crackles" in answer(sheet, "Let me examine your lungs.", 0)
    assert "CRP" not in answer(sheet, "Have you had any blood problems?", 0)


def test_the_question_set_runs_through_litellm_too() -> None:
    """The same answers come back through build_patient's LiteLLM path (grpodx/scripted-patient)."""
    patient = build_patient(PatientConfig())
    case = CASES["gout"]

    async def ask(question: str) -> str:
        return await patient.reply(case, [{"role": "patient", "content": "..."}, {"role": "doctor", "content": question}], 0)

    assert "four beers" in asyncio.run(ask("How much alcohol do you drink?"))
    assert patient.stats.calls == 1 and patient.stats.failures == 0


ROUTINE = [
    ("medication", "What medications do you take?"),
    ("medication", "Are you on any regular medicines?"),
    ("family", "Does anything run in your family?"),
    ("history", "Do you have any past medical history?"),
    ("history", "Any medical conditions I should know about?"),
    ("exam", "Let me examine you."),
]


def test_routine_questions_reach_their_fact_in_every_bank_template() -> None:
    """Over the whole built-in bank: a routine question finds the fact of its kind when there is one."""
    misses = []
    for template in builtin_templates():
        facts = tuple(Fact(f.kind, f.text[0], f.ask) for f in template.facts)
        sheet = PatientSheet("", template.chief_complaint[0], facts)
        for kind, question in ROUTINE:
            if any(f.kind == kind for f in facts) and not any(f.kind == kind for f in matching_facts(sheet, question)):
                misses.append((template.diagnosis, question))
    assert len(builtin_templates()) >= 10 and not misses, misses[:10]


# --- inquiry clusters: paraphrased questions about the findings that tell a cluster apart ------
# Lay and clinical wording, "Have you noticed...", "Any...", "Does it get worse when...", and
# questions about what the case says is absent. An expected answer may list alternatives 'a|b'
# (a fact has several wordings). INQUIRY_HELD_OUT was written before the patient was tuned on
# INQUIRY_TUNED and is never tuned on: it measures what the tuning generalised to.
INQUIRY = {c.id.split("/")[1]: c for c in load_source("inquiry", seed=0, variants_per_disease=1)[0]}

INQUIRY_HELD_OUT: list[tuple[str, str, str]] = [
    ("acute-myocardial-infarction", "Does the discomfort travel anywhere else in your body?", "jaw"),
    ("acute-myocardial-infarction", "Were you exerting yourself when this began?", "stairs|hill"),
    ("acute-pericarditis", "Is it any different when you sit up and bend forwards?", "lean"),
    ("acute-pericarditis", "Have you been ill with anything recently, like a virus?", "cold"),
    ("aortic-dissection", "Does it go through to your back?", "back"),
    ("pulmonary-embolism", "Any pain or swelling in your calves?", "calf"),
    ("pulmonary-embolism", "Have you had any surgery lately?", "operation"),
    ("gastro-oesophageal-reflux-disease", "Do you get a bitter taste or acid coming up?", "sour"),
    ("gastro-oesophageal-reflux-disease", "Is it related to food?", "meal"),
    ("migraine-with-aura", "Any visual disturbance before the headache?", "zigzag"),
    ("tension-type-headache", "What does the pain feel like?", "band"),
    ("subarachnoid-haemorrhage", "Was it a sudden onset, like a thunderclap?", "worst"),
    ("bacterial-meningitis", "Have you been running a temperature?", "fever"),
    ("bacterial-meningitis", "Does bright light hurt your eyes?", "light"),
    ("cluster-headache", "Does your eye water or your nose run when it comes on?", "nos"),
    ("acute-appendicitis", "Has the pain moved since it started?", "right"),
    ("acute-cholecystitis", "Did it start after eating?", "meal|dinner"),
    ("acute-pancreatitis", "How much alcohol do you drink?", "drinking"),
    ("small-bowel-obstruction", "Have you been able to pass wind?", "wind"),
    ("small-bowel-obstruction", "Any previous operations on your tummy?", "operat|surgery"),
    ("acute-diverticulitis", "Which part of your belly hurts?", "left"),
    ("acute-asthma", "Have you been wheezy?", "wheez"),
    ("congestive-heart-failure", "Are your ankles swollen?", "ankles"),
    ("congestive-heart-failure", "How many pillows do you sleep on?", "pillow"),
    ("primary-spontaneous-pneumothorax", "Was the onset sudden?", "sudden"),
    ("acute-exacerbation-of-copd", "Are you a smoker?", "smok"),
    ("idiopathic-pulmonary-fibrosis", "Is your cough productive?", "dry"),
    ("community-acquired-pneumonia", "What colour is your sputum?", "rust"),
    ("pulmonary-tuberculosis", "Have you been losing weight?", "kilos"),
    ("mycoplasma-pneumonia", "Is anyone else at home sick?", "house"),
    ("aspiration-pneumonia", "Have you had any episodes of choking?", "choking"),
    ("hypothyroidism", "Do you feel the cold more than other people?", "cold"),
    ("type-2-diabetes-mellitus", "Are you more thirsty than usual?", "thirsty"),
    ("major-depressive-disorder", "How has your mood been?", "low|down"),
    ("obstructive-sleep-apnoea", "Do you snore?", "snore"),
    ("gout", "Which joint is it?", "toe"),
    ("rheumatoid-arthritis", "Is there morning stiffness?", "hour"),
    ("septic-arthritis", "Have you had fevers?", "fever"),
    ("reactive-arthritis", "Have you had a stomach upset recently?", "diarrhoea"),
    ("benign-paroxysmal-positional-vertigo", "Does it happen when you turn over in bed?", "bed"),
    ("meniere-s-disease", "Any ringing in your ears?", "ring"),
    ("hypoglycaemia", "Are you diabetic?", "insulin"),
    ("supraventricular-tachycardia", "Have you felt your heart racing?", "heart"),
    ("vestibular-neuritis", "Any problems with your hearing?", "hearing"),
    ("peritonsillar-abscess", "Is it hard to open your mouth?", "open"),
    ("acute-hiv-infection", "Any new sexual partners recently?", "partner"),
    ("infectious-mononucleosis", "Are you feeling tired?", "exhausted|wiped"),
    ("streptococcal-pharyngitis", "Do you have a cough?", "cough"),
    ("scabies", "Is it itchy?", "itch"),
    ("psoriasis", "Have you had this before?", "years"),
    ("tinea-corporis", "Do you have any pets?", "kitten"),
    ("urticaria", "Do the spots come and go?", "hours"),
    ("acute-cystitis", "Does it hurt when you pee?", "sting|burn"),
    ("acute-cystitis", "Have you had a temperature?", "fever"),
    ("ureteric-stone", "Is there blood in your urine?", "pink"),
    ("central-diabetes-insipidus", "How much are you drinking?", "litres"),
    ("iga-nephropathy", "What colour is your urine?", "cola"),
    ("lumbar-disc-herniation", "Does the pain shoot down your leg?", "leg"),
    ("ankylosing-spondylitis", "Is it worse in the mornings?", "morning"),
    ("vertebral-osteomyelitis", "Any fevers or sweats?", "fever"),
    ("osteoporotic-vertebral-compression-fracture", "Did anything set it off?", "sneez"),
    ("norovirus-gastroenteritis", "Have you been vomiting?", "vomit|throwing up"),
    ("clostridioides-difficile-colitis", "Have you been on antibiotics?", "antibiotics"),
    ("ulcerative-colitis", "Have you seen blood in your stool?", "blood"),
    ("coeliac-disease", "Does bread make it worse?", "bread"),
    ("irritable-bowel-syndrome", "Does it get better after you go to the toilet?", "cramps"),
    ("acute-appendicitis", "Have you travelled abroad recently?", NOT_SURE),
    ("gout", "Do you have any allergies?", NOT_SURE),
    ("scabies", "Have you had any headaches?", NOT_SURE),
    ("hypothyroidism", "Any chest pain?", NOT_SURE),
    ("ureteric-stone", "Have you noticed any rash?", NOT_SURE),
    ("migraine-with-aura", "Any problems with your bowels?", NOT_SURE),
]

INQUIRY_TUNED: list[tuple[str, str, str]] = [
    ("acute-myocardial-infarction", "Does the pain radiate?", "arm"),
    ("acute-myocardial-infarction", "Have you noticed the pain moving into your neck or arms?", "arm"),
    ("acute-myocardial-infarction", "What were you doing when the chest pain started?", "stairs|hill"),
    ("acute-pericarditis", "Does it get worse when you lie down?", "flat"),
    ("acute-pericarditis", "Is the pain pleuritic?", "breath"),
    ("aortic-dissection", "How would you describe the onset, was it abrupt?", "tearing|ripping"),
    ("aortic-dissection", "Any radiation to the back?", "back"),
    ("pulmonary-embolism", "Does it hurt more on inspiration?", "breath"),
    ("pulmonary-embolism", "Have you noticed any swelling in one leg?", "calf"),
    ("gastro-oesophageal-reflux-disease", "Do you get heartburn?", "sour|acid"),
    ("gastro-oesophageal-reflux-disease", "Does it get worse after you eat?", "meal"),
    ("migraine-with-aura", "Did you have any warning signs before it started?", "zigzag"),
    ("migraine-with-aura", "Is the pain on one side?", "side"),
    ("tension-type-headache", "Is it a pressing or squeezing kind of pain?", "band"),
    ("tension-type-headache", "Does stress make it worse?", "stress"),
    ("subarachnoid-haemorrhage", "Did the headache come on suddenly?", "worst"),
    ("subarachnoid-haemorrhage", "Any neck stiffness?", "neck"),
    ("bacterial-meningitis", "Any neck stiffness or fever?", "stiff"),
    ("bacterial-meningitis", "Are you sensitive to light?", "light"),
    ("cluster-headache", "Where is the pain exactly?", "eye"),
    ("cluster-headache", "Any redness or tearing of the eye?", "stream|water"),
    ("acute-appendicitis", "Where did the pain begin?", "navel|belly button"),
    ("acute-appendicitis", "Have you lost your appetite?", "appetite|eat"),
    ("acute-cholecystitis", "Does the pain go to your shoulder?", "shoulder"),
    ("acute-cholecystitis", "Was it brought on by a fatty meal?", "meal|dinner"),
    ("acute-pancreatitis", "Does the pain go through to your back?", "back"),
    ("acute-pancreatitis", "Have you been drinking heavily?", "drinking"),
    ("small-bowel-obstruction", "Have you been throwing up?", "vomit|throwing up"),
    ("small-bowel-obstruction", "When did you last open your bowels?", "bowels|nothing"),
    ("acute-diverticulitis", "Where is the pain worst?", "left"),
    ("acute-diverticulitis", "Have you had a fever?", "fever|temperature"),
    ("acute-asthma", "Is your chest tight?", "tight"),
    ("acute-asthma", "Do you use an inhaler?", "inhaler"),
    ("congestive-heart-failure", "Do you wake up at night short of breath?", "night"),
    ("congestive-heart-failure", "Have you noticed swelling of your legs?", "ankles"),
    ("primary-spontaneous-pneumothorax", "Any chest pain?", "sharp"),
    ("primary-spontaneous-pneumothorax", "How did it start?", "sudden"),
    ("acute-exacerbation-of-copd", "Are you bringing up any phlegm?", "green"),
    ("acute-exacerbation-of-copd", "How long have you smoked for?", "smok"),
    ("idiopathic-pulmonary-fibrosis", "Did this come on gradually?", "slow|gradual"),
    ("idiopathic-pulmonary-fibrosis", "Any cough?", "dry"),
    ("community-acquired-pneumonia", "Are you coughing anything up?", "rust"),
    ("community-acquired-pneumonia", "Have you had chills or rigors?", "chills|shivering"),
    ("pulmonary-tuberculosis", "Any night sweats?", "sweat|sheets"),
    ("pulmonary-tuberculosis", "How long have you had the cough?", "months|weeks"),
    ("acute-bronchitis", "Did you have a cold before this?", "cold"),
    ("acute-bronchitis", "Is the cough dry or productive?", "dry"),
    ("mycoplasma-pneumonia", "Has anyone around you had the same?", "house"),
    ("mycoplasma-pneumonia", "Did you have a sore throat first?", "throat"),
    ("aspiration-pneumonia", "Does your phlegm smell bad?", "smell"),
    ("aspiration-pneumonia", "How much do you drink?", "drank|drunk"),
    ("hypothyroidism", "Have you gained weight?", "kilos"),
    ("hypothyroidism", "Is your skin dry?", "dry"),
    ("iron-deficiency-anaemia", "Do you get out of breath easily?", "stairs"),
    ("iron-deficiency-anaemia", "Have you had any unusual cravings?", "ice"),
    ("type-2-diabetes-mellitus", "Do you need to pass urine at night?", "night"),
    ("type-2-diabetes-mellitus", "Have you been drinking a lot of water?", "thirsty"),
    ("major-depressive-disorder", "Do you still enjoy the things you used to?", "pleasure|interest"),
    ("major-depressive-disorder", "How is your sleep?", "wak"),
    ("obstructive-sleep-apnoea", "Has anyone noticed you stop breathing at night?", "breathing"),
    ("obstructive-sleep-apnoea", "Do you fall asleep during the day?", "nod off|day"),
    ("gout", "Have you had too much to drink recently?", "beer"),
    ("gout", "Is the joint red and swollen?", "red"),
    ("septic-arthritis", "Which joint hurts?", "knee"),
    ("septic-arthritis", "Can you move the joint?", "move|bend"),
    ("rheumatoid-arthritis", "Which joints are involved?", "hands"),
    ("rheumatoid-arthritis", "How long are you stiff in the morning?", "hour"),
    ("osteoarthritis-of-the-knee", "Does it get worse when you walk?", "walk"),
    ("osteoarthritis-of-the-knee", "Are you stiff in the mornings?", "minutes"),
    ("reactive-arthritis", "Have you had diarrhoea recently?", "diarrhoea"),
    ("reactive-arthritis", "Which joints are affected?", "ankle"),
    ("benign-paroxysmal-positional-vertigo", "What triggers it?", "bed|looking up"),
    ("benign-paroxysmal-positional-vertigo", "How long do the spells last?", "minute"),
    ("vestibular-neuritis", "Is it there all the time?", "three days|stopped"),
    ("vestibular-neuritis", "Any tinnitus?", "ringing"),
    ("meniere-s-disease", "Have you noticed any hearing loss?", "hearing"),
    ("meniere-s-disease", "How long do the attacks last?", "hours"),
    ("hypoglycaemia", "Does it happen if you skip meals?", "meal"),
    ("hypoglycaemia", "Do you get sweaty or shaky?", "sweat"),
    ("supraventricular-tachycardia", "Do you get palpitations?", "heart"),
    ("supraventricular-tachycardia", "Does the room spin?", "spin"),
    ("streptococcal-pharyngitis", "Have you had a runny nose?", "cough|cold"),
    ("streptococcal-pharyngitis", "Any swollen glands?", "jaw"),
    ("infectious-mononucleosis", "Any lumps in your neck?", "neck"),
    ("infectious-mononucleosis", "How long have you had a fever?", "week"),
    ("peritonsillar-abscess", "Has your voice changed?", "muffled|potato"),
    ("peritonsillar-abscess", "Is it worse on one side?", "right"),
    ("acute-hiv-infection", "Have you noticed a rash?", "rash"),
    ("acute-hiv-infection", "Have you had unprotected sex?", "partner"),
    ("subacute-thyroiditis", "Where does it hurt?", "neck"),
    ("subacute-thyroiditis", "Have you felt shaky or jittery?", "jittery"),
    ("psoriasis", "What does the rash look like?", "silver"),
    ("psoriasis", "Does anyone in your family have skin problems?", "dad|father"),
    ("scabies", "Is it worse at night?", "night"),
    ("scabies", "Is anyone else at home itchy?", "partner|girlfriend"),
    ("urticaria", "How long does each spot last?", "hours"),
    ("urticaria", "Are the spots raised?", "bumps"),
    ("pityriasis-rosea", "Where did the rash start?", "chest"),
    ("pityriasis-rosea", "Have you been unwell with a cold?", "cold"),
    ("tinea-corporis", "What shape is it?", "ring|circle"),
    ("tinea-corporis", "Have you been around any animals?", "kitten"),
    ("acute-cystitis", "Are you going to the toilet more often?", "half hour"),
    ("acute-cystitis", "Any back pain?", "back"),
    ("acute-pyelonephritis", "Have you had any pain in your side?", "side|loin"),
    ("acute-pyelonephritis", "Have you had fevers or shivers?", "fever"),
    ("ureteric-stone", "Does the pain come in waves?", "waves"),
    ("ureteric-stone", "Does the pain go into your groin?", "groin"),
    ("central-diabetes-insipidus", "Are you passing large amounts of urine?", "litres"),
    ("central-diabetes-insipidus", "Does it burn when you urinate?", "burn|sting"),
    ("iga-nephropathy", "Have you noticed blood in your urine?", "cola"),
    ("iga-nephropathy", "Did you have a sore throat before this?", "throat"),
    ("lumbar-disc-herniation", "Any numbness or pins and needles?", "pins and needles|tingles"),
    ("lumbar-disc-herniation", "Did you lift anything heavy?", "box"),
    ("ankylosing-spondylitis", "Does exercise help?", "exercise"),
    ("ankylosing-spondylitis", "Did you injure your back?", "injury"),
    ("vertebral-osteomyelitis", "Have you had any infections recently?", "infection|abscess"),
    ("vertebral-osteomyelitis", "Is your spine tender?", "touch|press"),
    ("osteoporotic-vertebral-compression-fracture", "How did it start?", "sneez"),
    ("osteoporotic-vertebral-compression-fracture", "Does moving make it worse?", "still"),
    ("multiple-myeloma", "Have you lost any weight?", "kilos"),
    ("multiple-myeloma", "Does the pain go down your legs?", "legs"),
    ("norovirus-gastroenteritis", "When did it start?", "last night"),
    ("norovirus-gastroenteritis", "Has anyone else been ill?", "cruise"),
    ("clostridioides-difficile-colitis", "Any recent antibiotics?", "antibiotics"),
    ("clostridioides-difficile-colitis", "Is there any blood?", "no blood"),
    ("ulcerative-colitis", "Any mucus in your stool?", "mucus|slime"),
    ("ulcerative-colitis", "How long has this been going on?", "two months"),
    ("coeliac-disease", "What do your stools look like?", "pale"),
    ("coeliac-disease", "Are any foods a trigger?", "bread|wheat"),
    ("irritable-bowel-syndrome", "Does stress make it worse?", "stress"),
    ("irritable-bowel-syndrome", "Do you get constipation as well?", "constipation"),
    ("acute-pericarditis", "Do you have any allergies?", NOT_SURE),
    ("gout", "Have you had any headaches?", NOT_SURE),
    ("acute-asthma", "Have you noticed any blood in your urine?", NOT_SURE),
    ("urticaria", "Any chest pain?", NOT_SURE),
    ("coeliac-disease", "Any chest pain?", NOT_SURE),
    ("ureteric-stone", "Have you travelled abroad?", NOT_SURE),
]

INQUIRY_HELD_OUT_2: list[tuple[str, str, str]] = [
    # written after the first tuning, before the dead-cue fix; never tuned on either
    ("acute-myocardial-infarction", "Is the pain felt anywhere apart from your chest?", "arm|jaw"),
    ("aortic-dissection", "Can you describe how the pain began?", "tearing|ripping"),
    ("pulmonary-embolism", "Have you been immobile recently, for example after an operation?", "operation"),
    ("acute-pericarditis", "Is it eased by leaning forwards?", "lean"),
    ("migraine-with-aura", "Do you feel nauseated with the headaches?", "sick"),
    ("cluster-headache", "Does the pain make you restless?", "still|pace"),
    ("bacterial-meningitis", "Have you noticed a stiff neck?", "stiff"),
    ("acute-cholecystitis", "Does the pain move to your right shoulder?", "shoulder"),
    ("small-bowel-obstruction", "Are you constipated?", "bowels|nothing"),
    ("acute-pancreatitis", "Is it in the upper part of your abdomen?", "upper|high up"),
    ("acute-asthma", "Have you had asthma attacks as a child?", "child"),
    ("idiopathic-pulmonary-fibrosis", "Does walking uphill make the breathing worse?", "effort|uphill|walking"),
    ("congestive-heart-failure", "Can you lie flat at night?", "pillows|propped"),
    ("community-acquired-pneumonia", "Did you get the shivers with the fever?", "chills|shivering"),
    ("aspiration-pneumonia", "Does what you cough up have a bad smell?", "smell"),
    ("acute-bronchitis", "Did you have a runny nose beforehand?", "cold"),
    ("hypothyroidism", "Do you feel colder than everyone else?", "cold"),
    ("obstructive-sleep-apnoea", "Does your partner complain about your snoring?", "snore"),
    ("type-2-diabetes-mellitus", "Do you get up at night to urinate?", "night"),
    ("septic-arthritis", "Is the joint hot?", "hot"),
    ("osteoarthritis-of-the-knee", "Does rest help the pain?", "rest"),
    ("rheumatoid-arthritis", "Are both hands affected?", "hands"),
    ("meniere-s-disease", "Does your ear feel blocked?", "full|blocked"),
    ("benign-paroxysmal-positional-vertigo", "Is it set off by looking up?", "looking up|tip my head"),
    ("hypoglycaemia", "Do you get shaky?", "shaky|tremble"),
    ("infectious-mononucleosis", "Have you felt exhausted?", "exhausted|wiped"),
    ("peritonsillar-abscess", "Do you have trouble opening your jaw?", "open"),
    ("subacute-thyroiditis", "Does the pain go up into your ears?", "ears"),
    ("scabies", "Does your partner have an itch?", "partner|girlfriend"),
    ("tinea-corporis", "Is the middle of the patch clear?", "middle|centre"),
    ("pityriasis-rosea", "Was there one large patch first?", "patch"),
    ("ureteric-stone", "Is the pain colicky?", "waves"),
    ("acute-pyelonephritis", "Do you have loin pain?", "loin|side"),
    ("iga-nephropathy", "Is your urine dark?", "cola"),
    ("lumbar-disc-herniation", "Is there any tingling in your foot?", "pins and needles|tingles"),
    ("multiple-myeloma", "Does the pain keep you awake?", "night|awake"),
    ("ulcerative-colitis", "Is there mucus in it?", "mucus|slime"),
    ("norovirus-gastroenteritis", "Were you on a cruise?", "cruise"),
    ("irritable-bowel-syndrome", "Do you alternate between diarrhoea and constipation?", "constipation"),
    ("acute-diverticulitis", "Have you had attacks like this before?", "before|past"),
    ("psoriasis", "Is the rash scaly?", "scale|silver"),
    ("major-depressive-disorder", "Do you wake early in the morning?", "wak"),
    ("tension-type-headache", "Do you notice it more when you're stressed?", "stress"),
    ("gout", "Have you been drinking alcohol?", "beer"),
    ("gout", "Any recent travel?", NOT_SURE),
    ("acute-cystitis", "Any change in your bowels?", NOT_SURE),
    ("rheumatoid-arthritis", "Have you had a cough?", NOT_SURE),
    ("tinea-corporis", "Have you been short of breath?", NOT_SURE),
]

INQUIRY_TUNED += [
    # a second tuning batch in the style doctor models write ("Have you experienced...", "Is
    # there any history of...", "associated symptoms such as..."), written after held-out 2
    ("acute-myocardial-infarction", "Have you experienced any pain radiating to your left arm?", "arm"),
    ("acute-myocardial-infarction", "Was the onset associated with physical exertion?", "stairs|hill"),
    ("aortic-dissection", "Can you characterise the quality of the pain, is it tearing?", "tearing|ripping"),
    ("pulmonary-embolism", "Is there any history of recent surgery or prolonged immobilisation?", "operation"),
    ("gastro-oesophageal-reflux-disease", "Do you experience regurgitation of acid?", "sour|acid"),
    ("migraine-with-aura", "Did you experience any visual aura preceding the headache?", "zigzag"),
    ("subarachnoid-haemorrhage", "Would you describe this as the worst headache of your life?", "worst"),
    ("bacterial-meningitis", "Do you have photophobia?", "light"),
    ("acute-appendicitis", "Did the pain migrate to the right iliac fossa?", "right"),
    ("acute-pancreatitis", "Is there any history of alcohol excess?", "drinking"),
    ("small-bowel-obstruction", "Have you had any prior abdominal surgery?", "operat|surgery"),
    ("acute-asthma", "Do you have a history of asthma or atopy?", "child|attack"),
    ("congestive-heart-failure", "Do you have orthopnoea or paroxysmal nocturnal dyspnoea?", "pillows|night"),
    ("acute-exacerbation-of-copd", "Has there been an increase in sputum volume or purulence?", "phlegm"),
    ("pulmonary-tuberculosis", "Have you experienced night sweats or unintentional weight loss?", "sweat|kilos"),
    ("community-acquired-pneumonia", "Is your cough productive of sputum?", "rust"),
    ("hypothyroidism", "Have you experienced cold intolerance?", "cold"),
    ("type-2-diabetes-mellitus", "Have you experienced polydipsia or polyuria?", "thirsty|night"),
    ("major-depressive-disorder", "Have you experienced anhedonia or low mood?", "pleasure|interest|down|low"),
    ("obstructive-sleep-apnoea", "Has anyone witnessed apnoeas during your sleep?", "breathing"),
    ("gout", "Is the first metatarsophalangeal joint affected?", "toe"),
    ("rheumatoid-arthritis", "Is the joint involvement symmetrical?", "both"),
    ("septic-arthritis", "Have you had any fevers or rigors?", "fever|shiver"),
    ("reactive-arthritis", "Have you had any recent gastrointestinal infection?", "diarrhoea|stomach bug"),
    ("benign-paroxysmal-positional-vertigo", "Is the vertigo positional?", "bed|looking up|turning my head"),
    ("meniere-s-disease", "Have you experienced tinnitus or aural fullness?", "ring"),
    ("supraventricular-tachycardia", "Have you experienced palpitations?", "heart"),
    ("peritonsillar-abscess", "Do you have trismus?", "open"),
    ("infectious-mononucleosis", "Have you noticed any lymphadenopathy?", "lumps|glands"),
    ("acute-hiv-infection", "Any recent high-risk sexual exposure?", "partner|sex"),
    ("scabies", "Is the pruritus worse at night?", "night"),
    ("urticaria", "Are the lesions transient?", "hours"),
    ("tinea-corporis", "Is the lesion annular?", "ring|circle"),
    ("acute-cystitis", "Do you have dysuria or frequency?", "sting|burn"),
    ("ureteric-stone", "Do you have haematuria?", "pink"),
    ("ureteric-stone", "Is the pain colicky, radiating to the groin?", "groin"),
    ("central-diabetes-insipidus", "Have you noticed polyuria?", "litres|all the time"),
    ("lumbar-disc-herniation", "Do you have any sciatica?", "leg"),
    ("ankylosing-spondylitis", "Is there early morning stiffness that improves with exercise?", "exercise|stiff"),
    ("multiple-myeloma", "Any unintentional weight loss?", "kilos"),
    ("clostridioides-difficile-colitis", "Have you had any recent antibiotic use?", "antibiotics"),
    ("ulcerative-colitis", "Is there any rectal bleeding?", "blood"),
    ("coeliac-disease", "Is there any steatorrhoea?", "pale|greasy|oily|float"),
    ("norovirus-gastroenteritis", "Any sick contacts?", "cruise|passengers|around me"),
]

INQUIRY_TUNED += [
    # a third tuning batch (issue #22 item 6), for the general rules it added: 'which part' asks
    # where, 'set it off' asks for the trigger, 'anywhere else' asks where the pain spreads, a
    # 'stomach upset' is an infection, travel abroad is not pain that travels, and 'headache'
    # is not the 'head' of a scalp fact
    ("acute-appendicitis", "Which part of your tummy is the worst?", "right"),
    ("acute-pancreatitis", "Whereabouts is the pain?", "upper|back"),
    ("acute-cholecystitis", "What set the pain off?", "fried|dinner"),
    ("gout", "What brought it on, do you think?", "beer"),
    ("lumbar-disc-herniation", "Did something set it off?", "lift|box"),
    ("aortic-dissection", "Do you feel it anywhere else?", "back"),
    ("acute-myocardial-infarction", "Is it anywhere other than your chest?", "arm|jaw"),
    ("reactive-arthritis", "Any tummy bug in the last month?", "diarrhoea"),
    ("ureteric-stone", "Any foreign travel?", NOT_SURE),
    ("acute-pyelonephritis", "Have you been abroad?", NOT_SURE),
    ("scabies", "Do you get headaches?", NOT_SURE),
    ("acute-cystitis", "Do you need to go to the loo a lot?", "toilet|half hour"),
    ("acute-pyelonephritis", "Has it been painful going to the bathroom?", "sting"),
]

INQUIRY_HELD_OUT_3: list[tuple[str, str, str]] = [
    # written before the third tuning round (issue #22 item 6) and never tuned on: the patient was
    # improved against INQUIRY_TUNED and the misses listed in docs/inquiry.md, not against these
    ("acute-appendicitis", "Where did the pain start off?", "belly button|middle"),
    ("acute-appendicitis", "Have you been off your food?", "appetite|off my food"),
    ("acute-appendicitis", "Any diarrhoea?", "bowels are normal"),
    ("acute-cholecystitis", "Have you noticed your eyes turning yellow?", "yellow"),
    ("acute-cholecystitis", "Does the pain go up towards your shoulder blade?", "shoulder"),
    ("acute-pancreatitis", "Does the pain go through to your back?", "back"),
    ("acute-pancreatitis", "Are you being sick?", "sick"),
    ("small-bowel-obstruction", "Is your tummy bloated?", "swollen"),
    ("small-bowel-obstruction", "What colour is the vomit?", "green"),
    ("acute-diverticulitis", "Which side of your tummy hurts?", "left"),
    ("acute-diverticulitis", "Have you had a fever?", "temperature|feverish"),
    ("acute-myocardial-infarction", "Have you been sweating with it?", "sweat"),
    ("acute-myocardial-infarction", "Do you smoke?", "pack"),
    ("acute-pericarditis", "Does it hurt more when you take a deep breath?", "breath"),
    ("acute-pericarditis", "Is it worse lying down?", "flat"),
    ("aortic-dissection", "How quickly did the pain come on?", "instant"),
    ("aortic-dissection", "Do you have high blood pressure?", "blood pressure"),
    ("pulmonary-embolism", "Have you been on a long flight recently?", "flight"),
    ("pulmonary-embolism", "Any blood when you cough?", "blood"),
    ("pulmonary-embolism", "Does anyone in your family have blood clots?", "clot"),
    ("gastro-oesophageal-reflux-disease", "Does it feel like heartburn?", "burning"),
    ("gastro-oesophageal-reflux-disease", "Does anything relieve it?", "gaviscon"),
    ("lumbar-disc-herniation", "Does the pain shoot down your leg?", "leg"),
    ("lumbar-disc-herniation", "What were you doing when it started?", "lift"),
    ("lumbar-disc-herniation", "Any problems with your bladder or bowels?", "normal control"),
    ("ankylosing-spondylitis", "Is it stiff in the mornings?", "stiff|first thing"),
    ("ankylosing-spondylitis", "Have you ever had problems with your eyes?", "eye"),
    ("vertebral-osteomyelitis", "Do you use drugs?", "inject"),
    ("vertebral-osteomyelitis", "Have you been having sweats?", "sweat"),
    ("osteoporotic-vertebral-compression-fracture", "Have you taken steroids?", "steroid"),
    ("osteoporotic-vertebral-compression-fracture", "How did the pain begin?", "suddenly"),
    ("multiple-myeloma", "Have you lost any weight?", "kilos"),
    ("multiple-myeloma", "Have you been getting a lot of infections?", "infections"),
    ("acute-asthma", "Do you hear a whistling when you breathe?", "wheez"),
    ("acute-asthma", "Any pets at home?", "kitten"),
    ("congestive-heart-failure", "Have your ankles been swollen?", "ankles"),
    ("congestive-heart-failure", "Have you ever had heart trouble?", "heart attack"),
    ("congestive-heart-failure", "Has your weight changed?", "kilos"),
    ("primary-spontaneous-pneumothorax", "Did it come on suddenly?", "sudden"),
    ("primary-spontaneous-pneumothorax", "Is there any pain in your chest?", "sharp|chest"),
    ("acute-exacerbation-of-copd", "What colour is your phlegm?", "green"),
    ("acute-exacerbation-of-copd", "How long have you smoked?", "forty|45"),
    ("idiopathic-pulmonary-fibrosis", "Are you bringing anything up when you cough?", "dry|anything up"),
    ("idiopathic-pulmonary-fibrosis", "Have you been exposed to asbestos at work?", "asbestos"),
    ("norovirus-gastroenteritis", "Has anyone else been ill?", "cruise|around me"),
    ("norovirus-gastroenteritis", "Have you been vomiting?", "vomiting|throwing up"),
    ("clostridioides-difficile-colitis", "Have you been in hospital lately?", "hospital|hip"),
    ("clostridioides-difficile-colitis", "How often are you going?", "ten times"),
    ("ulcerative-colitis", "Have you seen blood in your stools?", "blood"),
    ("ulcerative-colitis", "How long has this been going on?", "two months"),
    ("coeliac-disease", "Does eating bread make it worse?", "bread|wheat"),
    ("coeliac-disease", "Do your stools float?", "float"),
    ("irritable-bowel-syndrome", "Does going to the toilet ease the pain?", "open my bowels|opened my bowels"),
    ("irritable-bowel-syndrome", "Do you get bloated?", "bloated"),
    ("benign-paroxysmal-positional-vertigo", "How long does each dizzy spell last?", "seconds|minute"),
    ("benign-paroxysmal-positional-vertigo", "Does turning over in bed bring it on?", "bed"),
    ("vestibular-neuritis", "Have you had a cold or flu recently?", "cold|viral"),
    ("vestibular-neuritis", "Any change in your hearing?", "hearing is fine"),
    ("meniere-s-disease", "Do you get ringing in your ears?", "ring"),
    ("hypoglycaemia", "Are you diabetic?", "diabetes|insulin"),
    ("hypoglycaemia", "Did you skip a meal?", "skipped|missed a meal"),
    ("supraventricular-tachycardia", "Does your heart race?", "heartbeat"),
    ("community-acquired-pneumonia", "What colour is the phlegm?", "rust"),
    ("community-acquired-pneumonia", "Any pain in your chest when you breathe?", "sharp"),
    ("pulmonary-tuberculosis", "Have you been sweating at night?", "sheets|drenched|sweat"),
    ("pulmonary-tuberculosis", "Have you been abroad or lived overseas?", "philippines"),
    ("acute-bronchitis", "Did it start with a cold?", "cold"),
    ("mycoplasma-pneumonia", "Has anyone you live with had this?", "flat|shared house"),
    ("aspiration-pneumonia", "Any trouble swallowing?", "choke"),
    ("migraine-with-aura", "Does anyone in your family get migraines?", "mum"),
    ("migraine-with-aura", "Is the headache on one side?", "one side"),
    ("tension-type-headache", "Where in your head is the pain?", "band|both sides"),
    ("subarachnoid-haemorrhage", "Did you pass out?", "blacked out"),
    ("subarachnoid-haemorrhage", "Has anyone in the family had a brain haemorrhage?", "aunt"),
    ("bacterial-meningitis", "Can you touch your chin to your chest?", "neck"),
    ("bacterial-meningitis", "Any problems with your ears lately?", "ear"),
    ("cluster-headache", "Where exactly is the pain?", "behind my eye|behind one eye"),
    ("cluster-headache", "Do the headaches come at the same time each day?", "same time"),
    ("gout", "Which joint is painful?", "toe"),
    ("gout", "Are you on any water tablets?", "water tablet|bendroflumethiazide"),
    ("septic-arthritis", "Has the knee had any injections?", "injected"),
    ("rheumatoid-arthritis", "Which joints are affected?", "hands|wrists|knuckles"),
    ("osteoarthritis-of-the-knee", "Is it worse going up stairs?", "stairs"),
    ("reactive-arthritis", "Any burning when you pee?", "stings"),
    ("reactive-arthritis", "Have your eyes been sore or red?", "eyes"),
    ("psoriasis", "Have you noticed any changes to your nails?", "pitted"),
    ("psoriasis", "Does anyone in your family have skin problems?", "dad|father"),
    ("scabies", "Is it itchier at night?", "night"),
    ("scabies", "Where is the rash?", "fingers|wrists"),
    ("urticaria", "How long does each spot last?", "hours"),
    ("urticaria", "Any swelling of your lips or tongue?", "lips"),
    ("pityriasis-rosea", "Did one spot appear before the others?", "patch"),
    ("tinea-corporis", "Any animals at home?", "kitten"),
    ("streptococcal-pharyngitis", "Do you have a cough?", "no cough"),
    ("streptococcal-pharyngitis", "Are your glands swollen?", "lumps"),
    ("infectious-mononucleosis", "Have you had antibiotics for it?", "amoxicillin"),
    ("peritonsillar-abscess", "Has your voice changed?", "potato|muffled"),
    ("acute-hiv-infection", "Any ulcers in your mouth?", "ulcers"),
    ("acute-hiv-infection", "Have you had a rash?", "rash"),
    ("subacute-thyroiditis", "Does your neck feel tender?", "neck"),
    ("hypothyroidism", "Have you put on weight?", "weight|kilos"),
    ("hypothyroidism", "Any change in your periods?", "heavy"),
    ("iron-deficiency-anaemia", "Are your periods heavy?", "heavy"),
    ("iron-deficiency-anaemia", "Do you eat meat?", "meat"),
    ("type-2-diabetes-mellitus", "Are you more thirsty than usual?", "thirsty|drink"),
    ("type-2-diabetes-mellitus", "Any change in your eyesight?", "blurry"),
    ("major-depressive-disorder", "Have you had any thoughts of harming yourself?", "worth living"),
    ("major-depressive-disorder", "How is your concentration?", "concentrate"),
    ("obstructive-sleep-apnoea", "Do you fall asleep during the day?", "asleep|nod off"),
    ("obstructive-sleep-apnoea", "Any headaches in the mornings?", "headache"),
    ("acute-cystitis", "Does it burn when you pass urine?", "sting|burn"),
    ("acute-cystitis", "Has your urine been cloudy or smelly?", "cloudy"),
    ("acute-pyelonephritis", "Have you had shivers?", "chills|shaking"),
    ("ureteric-stone", "Does the pain go down into your groin?", "groin"),
    ("ureteric-stone", "Can you find a comfortable position?", "writhing|no position"),
    ("central-diabetes-insipidus", "Have you had any head injuries?", "head injury"),
    ("iga-nephropathy", "What colour is your urine?", "cola|brown"),
    # what the case does not mention gets "not sure"
    ("acute-appendicitis", "Any problems with your vision?", NOT_SURE),
    ("migraine-with-aura", "Have you had any diarrhoea?", NOT_SURE),
    ("psoriasis", "Have you been short of breath?", NOT_SURE),
    ("gout", "Do you have a cough?", NOT_SURE),
    ("acute-cystitis", "Have you had headaches?", NOT_SURE),
    ("streptococcal-pharyngitis", "Any back pain?", NOT_SURE),
    ("hypothyroidism", "Have you travelled abroad recently?", NOT_SURE),
    ("benign-paroxysmal-positional-vertigo", "Have you had a rash?", NOT_SURE),
]


def _inquiry_grounded(slug: str, question: str, expected: str) -> bool:
    reply = answer(PatientSheet.from_case(INQUIRY[slug]), question, seed=0)
    if expected is NOT_SURE:
        return reply in NOT_SURE
    return any(e.lower() in reply.lower() for e in expected.split("|"))


def _inquiry_rate(questions: list[tuple[str, str, str]]) -> tuple[float, list[tuple[str, str, str]]]:
    misses = [(s, q, e if e is not NOT_SURE else "not sure") for s, q, e in questions if not _inquiry_grounded(s, q, e)]
    return 1 - len(misses) / len(questions), misses


def test_inquiry_held_out_questions(capsys: pytest.CaptureFixture[str]) -> None:
    rate, misses = _inquiry_rate(INQUIRY_HELD_OUT)
    with capsys.disabled():
        print(f"\npatient: inquiry held-out {rate:.1%} of {len(INQUIRY_HELD_OUT)}; misses {misses}")
    assert rate >= 0.90, misses  # 87.5% before the tuning on INQUIRY_TUNED, 90.3% after


def test_inquiry_tuned_questions_reach_95_percent(capsys: pytest.CaptureFixture[str]) -> None:
    rate, misses = _inquiry_rate(INQUIRY_TUNED)
    with capsys.disabled():
        print(f"\npatient: inquiry tuned {rate:.1%} of {len(INQUIRY_TUNED)}; misses {misses}")
    assert len(INQUIRY_TUNED) >= 100 and len({s for s, _, _ in INQUIRY_TUNED}) >= 60
    assert rate >= 0.95, misses


def test_inquiry_second_held_out_questions(capsys: pytest.CaptureFixture[str]) -> None:
    rate, misses = _inquiry_rate(INQUIRY_HELD_OUT_2)
    with capsys.disabled():
        print(f"\npatient: inquiry held-out 2 {rate:.1%} of {len(INQUIRY_HELD_OUT_2)}; misses {misses}")
    assert rate >= 0.90, misses  # 93.8% when written, before the dead-cue fix


def test_inquiry_third_held_out_questions(capsys: pytest.CaptureFixture[str]) -> None:
    rate, misses = _inquiry_rate(INQUIRY_HELD_OUT_3)
    with capsys.disabled():
        print(f"\npatient: inquiry held-out 3 {rate:.1%} of {len(INQUIRY_HELD_OUT_3)}; misses {misses}")
    assert len(INQUIRY_HELD_OUT_3) >= 80 and len({s for s, _, _ in INQUIRY_HELD_OUT_3}) >= 60
    assert rate >= 0.95, misses  # 97.6% when written, before any change to the patient
