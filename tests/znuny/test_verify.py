"""``--verify``: counts and SHA-256 of attachments and raw mail, source vs Helpline."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from helpline.importers.znuny import runner
from helpline.importers.znuny.source import Source
from helpline.importers.znuny.verify import verify
from helpline.models import Article, Attachment, Blob, HistoryEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(znuny_db):
    """The real Znuny database imported (organisation, then tickets)."""
    source = Source(znuny_db.url)
    runner.run(source)
    yield source
    source.close()


def test_a_faithful_import_verifies_clean(imported):
    assert verify(imported) == []


def test_a_tampered_attachment_is_reported(imported):
    attachment = Attachment.objects.filter(size__gt=10).order_by("pk").first()
    assert attachment is not None
    blob = attachment.blob
    Blob.objects.filter(pk=blob.pk).update(data=b"tampered" + bytes(blob.data)[8:])
    found = verify(imported)
    assert [m.kind for m in found] == ["attachment"] * len(found) and found
    assert any(f"attachment {attachment.pk}" in m.what for m in found)


def test_a_tampered_raw_mail_is_reported(imported):
    article = Article.objects.filter(raw__isnull=False).order_by("pk").first()
    assert article is not None and article.raw is not None
    Blob.objects.filter(pk=article.raw_id).update(data=b"not the mail Znuny kept")
    found = verify(imported)
    assert {m.kind for m in found} == {"raw_mail"}


def test_a_missing_article_is_a_count_difference(imported):
    article = Article.objects.filter(attachments__isnull=True, raw__isnull=True).first()
    assert article is not None
    HistoryEntry.objects.filter(article=article).update(article=None)
    article.delete()
    assert "article" in {m.kind for m in verify(imported)}


def test_verify_option_prints_the_differences(imported, znuny_db, capsys):
    Blob.objects.filter(
        pk=Attachment.objects.order_by("pk").values_list("blob_id", flat=True)[:1]
    ).update(data=b"x")
    with pytest.raises(CommandError):
        call_command(
            "import_data",
            "znuny",
            "--source",
            znuny_db.url,
            "--verify-only",
            "--no-progress",
        )
    out = capsys.readouterr().out
    assert "verify:" in out and "differences" in out and "attachment" in out
