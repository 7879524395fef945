"""The landing area on disk: which folders are ready months, incomplete months or no month at all,
and delivering a folder as a month (new, the same content again, different content, bad input)."""

import shutil

import pytest

from mlops_assets.domain.schema import REQUIRED_FILES
from mlops_assets.generator import write_months
from mlops_assets.landing_files import DeliveryError, DeliveryRefused, deliver_month, folder_signature, scan_landing


@pytest.fixture(scope="module")
def months(tmp_path_factory):
    return write_months(tmp_path_factory.mktemp("months"), n_users=50, scenario=("baseline", "quiet"), seed=3)


def test_scan_sorts_folders_into_ready_incomplete_and_not_a_month(months, tmp_path):
    shutil.copytree(months[0], tmp_path / "2024-01")
    shutil.copytree(months[0], tmp_path / "month_000")
    shutil.copytree(months[0], tmp_path / ".2024-02.partial")  # staging: never reported
    (tmp_path / "2024-03").mkdir()
    shutil.copy2(months[0] / "users.csv", tmp_path / "2024-03" / "users.csv")
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    scan = scan_landing(tmp_path)
    assert scan.ready == {"2024-01": tmp_path / "2024-01"}
    assert list(scan.incomplete) == ["2024-03"] and scan.incomplete["2024-03"].missing == REQUIRED_FILES[1:]
    assert scan.not_months == ("month_000",)
    assert scan_landing(tmp_path / "absent").ready == {}


def test_a_folder_signature_changes_when_a_file_arrives(months, tmp_path):
    folder = tmp_path / "2024-03"
    folder.mkdir()
    before = folder_signature(folder)
    assert folder_signature(folder) == before
    shutil.copy2(months[0] / "users.csv", folder / "users.csv")
    assert folder_signature(folder) != before


def test_deliver_new_then_same_then_different_content(months, tmp_path):
    landing = tmp_path / "landing"
    course = tmp_path / "month_000"
    shutil.copytree(months[0], course)
    first = deliver_month(course, landing, "2024-01")
    assert first.action == "delivered" and first.target == landing / "2024-01"
    assert sorted(p.name for p in first.target.iterdir()) == sorted(REQUIRED_FILES)
    assert sorted(p.name for p in landing.iterdir()) == ["2024-01"]  # no staging folder left behind

    assert deliver_month(course, landing, "2024-01").action == "already there"

    with pytest.raises(DeliveryRefused, match=r"month 2024-01: landing folder .* already holds different content .*--replace"):
        deliver_month(months[1], landing, "2024-01")
    assert (landing / "2024-01" / "users.csv").read_bytes() == (course / "users.csv").read_bytes()  # untouched

    replaced = deliver_month(months[1], landing, "2024-01", replace=True)
    assert replaced.action == "replaced" and replaced.previous == first.fingerprint != replaced.fingerprint
    assert (landing / "2024-01" / "users.csv").read_bytes() == (months[1] / "users.csv").read_bytes()
    assert sorted(p.name for p in landing.iterdir()) == ["2024-01"]


def test_deliver_replaces_a_month_held_under_its_as_of_name_and_an_incomplete_folder(months, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(months[0], landing / "2024-02-29")
    assert deliver_month(months[0], landing, "2024-02").action == "already there"
    replaced = deliver_month(months[1], landing, "2024-02", replace=True)
    assert replaced.target == landing / "2024-02" and sorted(p.name for p in landing.iterdir()) == ["2024-02"]
    half = landing / "2024-03"
    half.mkdir()
    with pytest.raises(DeliveryRefused, match="already holds an incomplete delivery"):
        deliver_month(months[0], landing, "2024-03")


@pytest.mark.parametrize(
    "source, month, message",
    [
        ("missing", "2024-01", "is not a folder"),
        ("partial", "2024-01", "is missing file(s) labels.csv: nothing delivered for month 2024-01"),
        ("good", "2024-13", "month 13 is not in 1..12"),
        ("good", "month_000", "is not a month key"),
    ],
)
def test_deliver_refuses_bad_input_and_delivers_nothing(months, tmp_path, source, month, message):
    folders = {"missing": tmp_path / "absent", "good": months[0], "partial": tmp_path / "partial"}
    shutil.copytree(months[0], folders["partial"], ignore=shutil.ignore_patterns("labels.csv"))
    with pytest.raises(DeliveryError) as error:
        deliver_month(folders[source], tmp_path / "landing", month)
    assert message in str(error.value) and not isinstance(error.value, DeliveryRefused)
    assert not (tmp_path / "landing").exists()
