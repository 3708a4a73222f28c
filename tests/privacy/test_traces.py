"""The trace finder of tests/privacy/traces.py finds what it must: a test that says
"found nowhere" is only worth as much as the search it relies on."""

from __future__ import annotations

import pytest

from tests.privacy import traces
from tests.privacy.conftest import attachment_bytes, mail, receive

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_finds_words_in_the_database_the_blob_files_and_the_index(org):
    pdf = attachment_bytes("Quuxattached")
    receive(
        mail(
            subject="Zorblaxian permission",
            body="My passport number is Vexlorian4711.",
            attachments={"passport.pdf": pdf},
        )
    )
    found = traces.find(
        ["Vexlorian4711", "Zorblaxian", "Quuxattached", pdf[-40:]], searcher=org.agent
    )
    assert "database: 'Vexlorian4711'" in found
    assert "search: 'Vexlorian4711'" in found
    assert "search: 'Zorblaxian'" in found
    # The attachment is larger than the inline limit: a file of the blob store, and
    # inside the raw mail (base64 there, so not as its own bytes).
    assert any(f.startswith("blob ") and "Quuxattached" in f for f in found)
    assert any(f.startswith("blob ") and repr(pdf[-40:]) in f for f in found)


def test_finds_inline_binary_values(org, settings):
    settings.HELPLINE_INLINE_BLOB_BYTES = 10 * 1024 * 1024
    receive(
        mail(
            body="Nothing.", attachments={"id.pdf": attachment_bytes("Plimbrook", 2048)}
        )
    )
    found = traces.find(["Plimbrook"])
    assert found == ["database: 'Plimbrook'"]


def test_finds_nothing_that_is_not_there(org):
    receive(mail(body="An ordinary question."))
    assert traces.find(["Gnarfwidget"], searcher=org.agent) == []
