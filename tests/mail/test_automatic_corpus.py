"""Automatic-mail recognition against real bounces (sisimai's set-of-emails).

The corpus lives outside the repository, in ``../shared/corpus/sisimai``
(see its README).  ``expected.json`` holds, per file, the reasons sisimai's own
test tables give for each bounced recipient.  Rows marked
``same_bytes_as_tested: false`` and files without an entry are
classification-unknown: for them we only require that the message is
recognised as automatic (``loop=True``).

The expected kind of a file follows from its rows' reasons: ``vacation`` ->
AUTO_REPLY, ``feedback`` -> FEEDBACK, ``delivered`` -> DELIVERED, anything else
-> BOUNCE.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from helpline.mail.automatic import AutoKind, Classification, classify

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
SISIMAI = CORPUS / "sisimai"
MISSING = "<corpus missing>"

# Files where we deliberately disagree with the expected kind.  Keep it small.
KNOWN_DISAGREEMENTS = {
    "lhost-sendmail-14.eml": (
        "a person ('Fwd: Returned mail: ...' from her own address, no automatic "
        "header) forwards a bounce to a colleague; for a help desk that is a "
        "person's mail asking for help, so it must open or continue a ticket "
        "(kind NONE, loop False), not be swallowed as a bounce"
    ),
}
# sisimai/not/* must be NONE, except where we disagree with the corpus.
NOT_DISAGREEMENTS = {
    "rb-issue-368-bug.eml": (
        "From: postmaster@, Return-Path: <>, Auto-Submitted: auto-replied, subject "
        "'email bounce notification', body 'an email you sent was rejected ... "
        "reject reason: Mailbox full' with the bounced message quoted: it is a "
        "bounce by every signal, and treating it as one lets Helpline attach it "
        "to the ticket whose mail bounced. sisimai keeps it in not/ as the "
        "regression test of rb-sisimai issue #368, a crash (NoMethodError) on a "
        "bounce whose only part quotes the original headers; its reporter calls "
        "it a bounce mail"
    ),
}
# Floors for agreement with sisimai's per-recipient expectations (first
# recipient of each file); measured 99.7 % kind, 96.5 % status, 87.8 % reason.
KIND_FLOOR = 0.95
STATUS_FLOOR = 0.93
REASON_FLOOR = 0.85


def _names(folder: str) -> list[str]:
    directory = SISIMAI / folder
    names = (
        sorted(p.name for p in directory.glob("*.eml")) if directory.is_dir() else []
    )
    return names or [MISSING]


def _require_corpus(name: str) -> None:
    if name == MISSING or not (SISIMAI / "expected.json").is_file():
        pytest.fail(
            f"The shared mail corpus is missing: expected {SISIMAI}/bsd/*.eml, "
            f"{SISIMAI}/not/*.eml and {SISIMAI}/expected.json (see "
            f"{CORPUS}/README.md); these tests must not pass without it."
        )


@cache
def _expected() -> dict[str, Any]:
    data = json.loads((SISIMAI / "expected.json").read_text(encoding="utf-8"))
    return dict(data["expected"])


def _usable(name: str) -> dict[str, Any] | None:
    """The expectation for a file, or None when it is classification-unknown."""
    entry = _expected().get(name)
    if not entry or not entry.get("same_bytes_as_tested"):
        return None
    return entry


def _expected_kind(entry: dict[str, Any]) -> AutoKind:
    reasons = {row["reason"] for row in entry["recipients"]}
    for reason, kind in (
        ("vacation", AutoKind.AUTO_REPLY),
        ("feedback", AutoKind.FEEDBACK),
        ("delivered", AutoKind.DELIVERED),
    ):
        if reason in reasons:
            return kind
    return AutoKind.BOUNCE


@cache
def _classified(folder: str, name: str) -> Classification:
    return classify((SISIMAI / folder / name).read_bytes())


def _status_agrees(expected: str, ours: str) -> bool:
    """Exact match; sisimai's made-up X.0.9NN codes mean "no code in the mail"."""
    parts = expected.split(".")
    made_up = len(parts) == 3 and parts[1] == "0" and len(parts[2]) == 3
    return ours == expected or (made_up and ours == "")


def test_corpus_is_present() -> None:
    _require_corpus(_names("bsd")[0])
    assert len(_names("bsd")) >= 300
    assert len(_names("not")) >= 3


@pytest.mark.parametrize("name", _names("bsd"))
def test_bsd_message_is_recognised_with_the_expected_kind(name: str) -> None:
    _require_corpus(name)
    result = _classified("bsd", name)
    if name in KNOWN_DISAGREEMENTS:
        entry = _usable(name)
        assert entry is not None and result.kind != _expected_kind(entry), (
            f"{name} now agrees with the corpus: drop it from KNOWN_DISAGREEMENTS"
        )
        return
    assert result.loop is True, f"{name} not recognised as automatic: {result}"
    entry = _usable(name)
    if entry is not None:
        assert result.kind == _expected_kind(entry), (name, result.reasons)
        assert result.recipients, f"{name}: no recipient reported"


@pytest.mark.parametrize("name", _names("bsd") + _names("not"))
def test_crlf_variant_classifies_identically(name: str) -> None:
    _require_corpus(name)
    folder = "not" if (SISIMAI / "not" / name).is_file() else "bsd"
    lf = (SISIMAI / folder / name).read_bytes().replace(b"\r\n", b"\n")
    assert classify(lf.replace(b"\n", b"\r\n")) == classify(lf)
    assert classify(lf).kind == _classified(folder, name).kind


@pytest.mark.parametrize("name", _names("not"))
def test_not_a_bounce_is_not_automatic(name: str) -> None:
    _require_corpus(name)
    result = _classified("not", name)
    if name in NOT_DISAGREEMENTS:
        assert result.kind is AutoKind.BOUNCE, NOT_DISAGREEMENTS[name]
        assert result.loop is True
        assert "68e0b7e3615cd_1dc7010592ed@7cf4d87f87-9r5w2.mail" in (
            result.original_message_ids
        )
        return
    assert result.kind is AutoKind.NONE, result.reasons
    assert result.loop is False, result.reasons


def test_agreement_with_sisimai_expectations() -> None:
    """Kind, first recipient's status and reason agree with sisimai's tables."""
    _require_corpus(_names("bsd")[0])
    total = kind = status = reason = 0
    misses: list[str] = []
    for name in _names("bsd"):
        entry = _usable(name)
        if entry is None:
            continue
        total += 1
        result = _classified("bsd", name)
        row = entry["recipients"][0]
        first = result.recipients[0] if result.recipients else None
        kind += result.kind == _expected_kind(entry)
        status += first is not None and _status_agrees(
            row["deliverystatus"], first.status
        )
        if first is not None and first.reason == row["reason"]:
            reason += 1
        else:
            misses.append(f"{name}: {row['reason']} != {first and first.reason}")
    summary = (
        f"kind {kind}/{total} ({kind / total:.1%}), status {status}/{total} "
        f"({status / total:.1%}), reason {reason}/{total} ({reason / total:.1%})"
    )
    print(f"\nagreement with sisimai over {total} files: {summary}")
    assert total >= 300, summary
    assert kind / total >= KIND_FLOOR, summary
    assert status / total >= STATUS_FLOOR, summary
    assert reason / total >= REASON_FLOOR, summary + "\n" + "\n".join(misses)
    assert len(KNOWN_DISAGREEMENTS) <= 3
