from __future__ import annotations

import pytest

from checks import matching
from checks.matching import (
    Index,
    Suggester,
    did_you_mean,
    email_difference,
    fold,
    fold_code,
    fold_email,
    name_difference,
    name_key,
    skeleton,
)


def test_normalisers() -> None:
    assert fold("O'Brien & Co.") == fold("OBRIEN  & co") == "obrienco"
    assert fold("Acme-Ltd") == fold("Acme Ltd") == "acmeltd"
    assert fold(None) == ""
    assert name_key("  ACME   Ltd ") == "acme ltd"
    assert name_key("Acme Ltd.") != name_key("Acme Ltd")
    assert fold_email(" Jane@Acme.COM ") == "jane@acme.com"
    assert fold_code(" prod-001 ") == "prod-001"
    assert fold_code("PROD001") != fold_code("PROD-001")
    assert skeleton("PROD-0O1") == skeleton("prod-001") == "pr0d001"
    assert fold("Ｆｕｌｌ Width") == "fullwidth"  # noqa: RUF001 - NFKC folds full-width letters


@pytest.mark.parametrize(
    ("a", "b", "kinds"),
    [
        ("Acme Ltd", "Acme Ltd", []),
        ("Acme Ltd", "ACME Ltd", ["case"]),
        ("Acme  Ltd", "Acme Ltd", ["spaces"]),
        ("Acme Ltd.", "Acme Ltd", ["punctuation"]),
        ("ACME Ltd.", "Acme  Ltd", ["case", "punctuation", "spaces"]),
        ("Acme Ltd", "Wayne Corp", ["other"]),
    ],
)
def test_name_difference(a: str, b: str, kinds: list[str]) -> None:
    assert name_difference(a, b) == kinds


def test_email_difference() -> None:
    assert email_difference("Jane@x.com", "jane@x.com") == ["case"]
    assert email_difference("jane@x.com ", "jane@x.com") == ["spaces"]
    assert email_difference(" Jane@x.com", "jane@x.com") == ["case", "spaces"]


def test_index_groups_and_skips_empty_keys() -> None:
    index = Index(["a", "B", "b", ""], key=lambda s: s.lower())
    assert index.get("b") == ["B", "b"]
    assert index.get("a") == ["a"]
    assert index.get("") == []
    assert index.get(None) == []
    assert "a" in index and len(index) == 2


def test_suggester_steps() -> None:
    s = Suggester(["PROD-001", "PROD-002", "PROD-010", "WIDGET-9", "Gadget Large"])
    assert s.suggest("PROD-0O1")[0] == "PROD-001"  # look-alike characters
    assert s.suggest("PROD-01")[0] == "PROD-001"  # one edit
    assert s.suggest("prod-003") == ["PROD-001", "PROD-002"]  # one replace, case folded
    assert s.suggest("Gadget-Lrge") == ["Gadget Large"]  # difflib fallback
    assert s.suggest("PROD-001") == ["PROD-002", "PROD-010"]  # never the query itself
    assert s.suggest("zzzzzz") == []
    assert Suggester([]).suggest("x") == []
    assert len(s) == 5


def test_suggester_fallback_budget_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "FALLBACK_BUDGET", 2)
    s = Suggester(["Gadget Large", "Widget Small"])
    assert s.suggest("Gadget-Lrge") == ["Gadget Large"]
    assert s.suggest("Widgt-Smal") == ["Widget Small"]
    assert s.suggest("Gadget-Lrge") == []  # budget spent: the fallback no longer runs
    assert s.suggest("Gadget Larg") == ["Gadget Large"]  # the cheap steps still do


def test_suggester_at_scale_uses_dicts_not_scans() -> None:
    codes = [f"PROD-{i:05d}" for i in range(50_000)]
    s = Suggester(codes)
    assert s.suggest("PROD-0OO42")[0] == "PROD-00042"
    assert "PROD-12345" in s.suggest("PROD-1234S")


def test_did_you_mean() -> None:
    assert did_you_mean([]) == ""
    assert did_you_mean(["A"]) == "did you mean A?"
    assert did_you_mean(["A", "B", "C"]) == "did you mean A, B or C?"
