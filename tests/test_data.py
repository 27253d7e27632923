import pytest
from lightning.pytorch.cli import LightningCLI

from grpodx.train.data import CaseDataModule
from tests.case_helpers import write_templates

NAMES = [f"Disease {chr(65 + i)}" for i in range(10)]


@pytest.fixture
def bank(tmp_path):
    return f"builtin:{write_templates(tmp_path / 'bank.jsonl', NAMES)}"


def ids(cases):
    return [c.id for c in cases]


def test_split_by_case_is_deterministic_and_disjoint(bank):
    first = CaseDataModule(sources=[bank], variants_per_disease=4, val_fraction=0.2, test_fraction=0.1, seed=3)
    again = CaseDataModule(sources=[bank], variants_per_disease=4, val_fraction=0.2, test_fraction=0.1, seed=3)
    first.setup("fit"), again.setup("fit")
    assert (len(first.train_cases), len(first.val_cases), len(first.test_cases)) == (28, 8, 4)
    assert ids(first.val_cases) == ids(again.val_cases) and ids(first.test_cases) == ids(again.test_cases)
    assert not set(ids(first.train_cases)) & set(ids(first.val_cases) + ids(first.test_cases))
    other = CaseDataModule(sources=[bank], variants_per_disease=4, val_fraction=0.2, test_fraction=0.1, seed=4)
    other.setup("fit")
    assert ids(other.val_cases) != ids(first.val_cases)


def test_split_by_diagnosis_holds_out_whole_diagnoses(bank):
    data = CaseDataModule(sources=[bank], variants_per_disease=3, split_by="diagnosis", val_fraction=0.2, test_fraction=0.2)
    data.setup("fit")
    train, val, test = ({c.diagnosis for c in s} for s in (data.train_cases, data.val_cases, data.test_cases))
    assert (len(train), len(val), len(test)) == (6, 2, 2)
    assert not train & val and not train & test and not val & test
    assert data.diagnoses() == NAMES and len(data.all_cases()) == 30


def test_loaders_yield_lists_of_cases_and_shuffle_with_the_seed(bank):
    def epoch(seed):
        data = CaseDataModule(sources=[bank], variants_per_disease=2, batch_size=4, eval_batch_size=5, seed=seed, val_fraction=0.1, test_fraction=0.1)
        data.setup("fit")
        return data, [ids(batch) for batch in data.train_dataloader()]

    data, batches = epoch(0)
    assert all(isinstance(b, list) for b in data.train_dataloader())
    assert [len(b) for b in batches] == [4, 4, 4, 4]
    assert sorted(sum(batches, [])) == ids(data.train_cases)
    assert sum(batches, []) != ids(data.train_cases)  # shuffled
    assert batches == epoch(0)[1] and batches != epoch(1)[1]
    assert [ids(b) for b in data.val_dataloader()] == [ids(data.val_cases)]


def test_limits_take_a_seeded_subset(bank):
    data = CaseDataModule(sources=[bank], variants_per_disease=3, max_train_cases=5, max_eval_cases=1)
    data.setup("fit")
    assert (len(data.train_cases), len(data.val_cases), len(data.test_cases)) == (5, 1, 1)


def test_import_reports_are_logged_once(bank, caplog):
    data = CaseDataModule(sources=[bank], variants_per_disease=2)
    with caplog.at_level("INFO"):
        data.setup("fit")
        data.setup("validate")
    assert caplog.text.count("read 10, accepted 10, rejected 0, cases 20") == 1


def test_bad_settings_fail_early(bank):
    with pytest.raises(ValueError, match="data.test_fraction must be in .*val_fraction \\+ test_fraction below 1, got 0.5"):
        CaseDataModule(sources=[bank], val_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ValueError, match="data.batch_size must be >= 1, got 0"):
        CaseDataModule(sources=[bank], batch_size=0)


def test_every_argument_is_in_lightning_cli_config(bank, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["grpodx"])
    with pytest.raises(SystemExit):
        LightningCLI(datamodule_class=CaseDataModule, run=False, args=["--print_config"], auto_configure_optimizers=False)
    printed = capsys.readouterr().out
    for name in (
        "sources",
        "variants_per_disease",
        "split_by",
        "val_fraction",
        "test_fraction",
        "seed",
        "batch_size",
        "eval_batch_size",
        "skip_invalid",
        "max_train_cases",
        "max_eval_cases",
    ):
        assert f"  {name}:" in printed


def test_a_diagnosis_subset_keeps_only_those_cases_and_names_unknown_ones():
    import pytest

    from grpodx.train.data import CaseDataModule

    data = CaseDataModule(diagnoses=["Gout", "acute asthma"], variants_per_disease=5, val_fraction=0.2, test_fraction=0.2)
    data.setup()
    kept = {c.diagnosis for c in data.train_cases + data.val_cases + data.test_cases}
    assert kept == {"Gout", "Acute asthma"} and len(data.train_cases + data.val_cases + data.test_cases) == 10
    assert len(data.all_cases()) > 10  # the judge still knows every loaded diagnosis
    with pytest.raises(ValueError, match=r"data.diagnoses: \['Goutt'\]"):  # as the user wrote it
        CaseDataModule(diagnoses=["Goutt"]).setup()
