from collections import Counter

from grpodx.cases.bank import parse_template
from grpodx.cases.variation import instantiate, slug
from tests.case_helpers import template_record

TEMPLATE = parse_template(template_record("Lobar pneumonia"), "test:1")


def test_same_seed_same_case_and_stable_id():
    assert instantiate(TEMPLATE, 7) == instantiate(TEMPLATE, 7)
    assert instantiate(TEMPLATE, 7).id == "builtin/lobar-pneumonia/7"


def test_variation_stays_within_the_template():
    texts = {t: f for f in TEMPLATE.facts for t in f.text}
    for seed in range(50):
        case = instantiate(TEMPLATE, seed)
        assert 20 <= case.age <= 60
        assert case.sex in ("female", "male")
        assert case.chief_complaint in TEMPLATE.chief_complaint
        used = [texts[f.text] for f in case.facts]  # every text is one wording of one template fact
        assert len(set(map(id, used))) == len(used), "a fact appears twice"
        assert all(f in used for f in TEMPLATE.facts if f.core)
        others = [f for f in TEMPLATE.facts if not f.core]
        assert sum(f in used for f in others) >= len(others) / 2
        assert all(f.ask == texts[f.text].ask and f.kind == texts[f.text].kind for f in case.facts)
        assert {"negative", "exam", "test"} <= {f.kind for f in case.facts}


def test_seeds_vary_every_dimension():
    cases = [instantiate(TEMPLATE, seed) for seed in range(40)]
    assert len({c.age for c in cases}) > 5
    assert set(Counter(c.sex for c in cases)) == {"female", "male"}
    assert len({c.chief_complaint for c in cases}) == 2
    assert len({len(c.facts) for c in cases}) > 1
    assert len({tuple(f.text for f in c.facts) for c in cases}) == 40  # subset, order and wording


def test_fixed_sex_is_kept():
    template = parse_template(template_record("Ovarian torsion", sex="female"), "test:1")
    assert {instantiate(template, s).sex for s in range(20)} == {"female"}


def test_slug():
    assert slug("Crohn's disease (ileal)") == "crohn-s-disease-ileal"
