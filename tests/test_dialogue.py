"""Reasoning splitting, diagnosis parsing and the strict format rule."""

import pytest

from grpodx.rollout.dialogue import parse_diagnosis, read_doctor_turn, resolve_option, split_reasoning


def test_reasoning_is_hidden_and_closed_blocks_are_ok():
    turn = read_doctor_turn("<reason>crushing pain, smoker</reason>Does the pain go anywhere?")
    assert turn.reasoning == "crushing pain, smoker"
    assert turn.visible == "Does the pain go anywhere?"
    assert turn.diagnosis is None and turn.format_ok


def test_unclosed_tag_hides_everything_after_it():
    reasoning, visible, closed = split_reasoning("Any fever? <reason>maybe it is DIAGNOSIS: flu")
    assert visible == "Any fever?"
    assert "DIAGNOSIS" in reasoning and not closed
    assert not read_doctor_turn("Any fever? <reason>maybe").format_ok


def test_diagnosis_only_inside_reasoning_does_not_count():
    turn = read_doctor_turn("<reason>DIAGNOSIS: Pneumonia</reason>How long have you had the cough?")
    assert turn.diagnosis is None
    turn = read_doctor_turn("<reason>\nDIAGNOSIS: Pneumonia")
    assert turn.diagnosis is None and turn.visible == ""


@pytest.mark.parametrize(
    "line", ["DIAGNOSIS: Pneumonia", "diagnosis: Pneumonia", "Final diagnosis: Pneumonia", "FINAL DIAGNOSIS:   Pneumonia.", "**Diagnosis:** Pneumonia"]
)
def test_diagnosis_line_any_case_and_seed_form(line):
    assert parse_diagnosis(f"Thank you.\n{line}")[0] == "Pneumonia"


def test_differential_is_split_on_semicolons():
    turn = read_doctor_turn("<reason>r</reason>DIAGNOSIS: Acute pericarditis\nDIFFERENTIAL: Myocardial infarction; Pulmonary embolism;")
    assert turn.diagnosis == "Acute pericarditis"
    assert turn.differential == ("Myocardial infarction", "Pulmonary embolism")
    assert turn.format_ok


@pytest.mark.parametrize(
    "visible",
    [
        "DIAGNOSIS: Acute appendicitisDIFFERENTIAL: Gout; Migraine",  # the pilot's SmolLM2, no break
        "DIAGNOSIS: Acute appendicitis DIFFERENTIAL: Gout; Migraine",
        "**Diagnosis:** Acute appendicitis. Differential diagnosis: Gout; Migraine",
    ],
)
def test_a_differential_on_the_diagnosis_line_is_split_off(visible):
    turn = read_doctor_turn(f"<reason>r</reason>{visible}")
    assert turn.diagnosis == "Acute appendicitis"
    assert turn.differential == ("Gout", "Migraine")
    assert turn.format_ok


def test_an_empty_diagnosis_before_an_inline_differential_is_no_diagnosis():
    turn = read_doctor_turn("<reason>r</reason>DIAGNOSIS: DIFFERENTIAL: Gout; Migraine")
    assert turn.diagnosis is None and turn.differential == () and not turn.format_ok


def test_several_diagnosis_lines_take_the_first_and_break_format():
    turn = read_doctor_turn("DIAGNOSIS: Asthma\nDIAGNOSIS: Asthma\nDIAGNOSIS: Asthma")
    assert turn.diagnosis == "Asthma"
    assert not turn.format_ok


def test_empty_diagnosis_is_no_diagnosis():
    turn = read_doctor_turn("<reason>unsure</reason>DIAGNOSIS:   ")
    assert turn.diagnosis is None and not turn.format_ok
    assert parse_diagnosis("DIAGNOSIS:\nDIAGNOSIS: Gout")[0] == "Gout"


@pytest.mark.parametrize(
    "text, ok",
    [
        ("Do you smoke?", True),
        ("Do you smoke? Do you drink?", False),  # two questions
        ("Do you smoke? Thanks.", False),  # something after the question
        ("I see.", False),  # neither question nor diagnosis
        ("DIAGNOSIS: Gout\nDIFFERENTIAL: Pseudogout", True),
        ("DIAGNOSIS: Gout\nI hope that helps.", False),
        ("<reason>a</reason><reason>b</reason>Any rash?", True),
        ("</reason>Any rash?", False),  # stray closing tag
    ],
)
def test_strict_format(text, ok):
    assert read_doctor_turn(text).format_ok is ok


def test_multiple_choice_letters_map_to_options():
    options = ("Psoriasis", "Eczema", "Tinea corporis")
    assert resolve_option("B", options) == "Eczema"
    assert resolve_option("(c)", options) == "Tinea corporis"
    assert resolve_option("A. Psoriasis", options) == "Psoriasis"
    assert resolve_option("Eczema", options) == "Eczema"
    assert resolve_option("E", options) == "E"


def test_options_are_shown_only_in_multiple_choice_mode():
    from grpodx.cases.schema import Case
    from grpodx.rollout.dialogue import opening_message

    case = Case("m1", "Psoriasis", (), "L40.0", "dermatology", 30, "male", "My elbows are scaly.", (), options=("Eczema", "Psoriasis"))
    shown = opening_message("My elbows are scaly.", case, show_options=True)
    assert "A. Eczema" in shown and "B. Psoriasis" in shown
    assert opening_message("My elbows are scaly.", case, show_options=False) == "My elbows are scaly."
