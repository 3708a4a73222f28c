"""What Znuny changes in an imported article without touching the article's or the
ticket's change time: its body or a header (``ArticleUpdate`` writes
``article_data_mime`` alone), its attachments and its raw mail (deleted and written
anew, as the decryption of a PGP or S/MIME mail does).  The next run reads exactly
those tickets, brings the changes, and ends where a fresh import of the changed
database does, byte for byte (``verify``)."""

from __future__ import annotations

import pytest

from helpline.models import Article, Attachment, HistoryEntry, HistoryType, Ticket
from tests.znuny import sources
from tests.znuny.test_tickets_delta import (
    assert_as_fresh,
    candidates,
    delta_ids,
    opened,
    run_import,
    source_articles,
    target,
    update_article,
)

pytestmark = pytest.mark.django_db

# What Kernel/Output/HTML/ArticleCheck/PGP.pm does when it decrypts a mail: the body
# replaced (ArticleUpdate), the attachments deleted and written again.
DECRYPT = """
my $Backend = $Kernel::OM->Get('Kernel::System::Ticket::Article')
    ->BackendForArticle(TicketID => %d, ArticleID => %d);
my $ArticleID = %d;
$Backend->ArticleUpdate(
    TicketID => %d, ArticleID => $ArticleID, Key => 'Body',
    Value => 'The decrypted text.', UserID => 2,
) or die;
$Backend->ArticleDeleteAttachment(ArticleID => $ArticleID, UserID => 2) or die;
$Backend->ArticleWriteAttachment(
    ArticleID => $ArticleID, UserID => 2, Filename => 'decrypted.txt',
    ContentType => 'text/plain; charset=utf-8', Disposition => 'attachment',
    Content => "decrypted attachment\\n",
) or die;
"""
# Attachments and raw mail written anew, nothing else (a package's repair script).
REWRITE = """
my $Backend = $Kernel::OM->Get('Kernel::System::Ticket::Article')
    ->BackendForArticle(TicketID => %d, ArticleID => %d);
my $ArticleID = %d;
$Backend->ArticleDeleteAttachment(ArticleID => $ArticleID, UserID => 2) or die;
$Backend->ArticleWriteAttachment(
    ArticleID => $ArticleID, UserID => 2, Filename => 'report.pdf',
    ContentType => 'application/pdf', Disposition => 'attachment',
    Content => "%%PDF-1.4 rewritten\\n",
) or die;
$Backend->ArticleDeletePlain(ArticleID => $ArticleID, UserID => 2) or die;
$Backend->ArticleWritePlain(
    ArticleID => $ArticleID, UserID => 2,
    Email => "From: a\\@example.org\\nSubject: rewritten\\n\\nThe raw mail again.\\n",
) or die;
"""


def with_files(z: sources.ZnunySource, count: int) -> list[tuple[int, int]]:
    """(ticket, article) of articles with attachments and a raw mail, one per ticket."""
    with opened(z) as source:
        rows = source.all(
            "SELECT a.ticket_id, MIN(a.id) AS id FROM article a "
            "WHERE EXISTS (SELECT 1 FROM article_data_mime_attachment x "
            "WHERE x.article_id = a.id) AND EXISTS (SELECT 1 FROM "
            "article_data_mime_plain p WHERE p.article_id = a.id) "
            "GROUP BY a.ticket_id ORDER BY a.ticket_id"
        )
    assert len(rows) >= count
    return [(int(r["ticket_id"]), int(r["id"])) for r in rows[:count]]


def test_a_body_changed_in_place_is_brought_by_the_next_run(znuny_copy):
    """ArticleUpdate of the body alone (article_data_mime's change time moves, the
    article's and the ticket's do not): the next run reads that ticket alone and
    sets the body; the run after it reads none."""
    ticket_id = candidates(znuny_copy, 1)[0]
    run_import(znuny_copy)
    article_id = source_articles(znuny_copy, ticket_id)[-1]
    update_article(znuny_copy, ticket_id, article_id, "Body", "Changed in place.")

    assert delta_ids(znuny_copy) == [ticket_id]
    report = run_import(znuny_copy)

    assert report["article"].updated == 1
    assert Article.objects.get(pk=target("article", article_id)).body_text == (
        "Changed in place."
    )
    assert_as_fresh(znuny_copy)
    assert delta_ids(znuny_copy) == []


def test_attachments_and_raw_mail_written_anew_are_read_again(znuny_copy):
    """One article decrypted as Znuny does it (body, attachments), another with its
    attachments and raw mail written anew and nothing else: the next run reads
    those two tickets, replaces the attachments and the raw mail (and the HTML body
    with them), leaves the other articles of the tickets alone, and verifies clean;
    the run after it reads none."""
    (first, decrypted), (second, rewritten) = with_files(znuny_copy, 2)
    run_import(znuny_copy)
    others = {
        a.pk: (a.raw_id, sorted(a.attachments.values_list("blob_id", flat=True)))
        for a in Article.objects.filter(
            ticket_id__in=[target("ticket", first), target("ticket", second)]
        ).exclude(pk__in=[target("article", decrypted), target("article", rewritten)])
    }
    before = Article.objects.get(pk=target("article", rewritten)).raw_id
    sources.perl(znuny_copy, DECRYPT % (first, decrypted, decrypted, first))
    sources.perl(znuny_copy, REWRITE % (second, rewritten, rewritten))

    assert delta_ids(znuny_copy) == sorted([first, second])
    report = run_import(znuny_copy)

    assert report["article"].updated == 2
    assert report["raw_mail"].updated == 1
    assert report["attachment"].updated == 2
    names = {
        article_id: list(
            Attachment.objects.filter(
                article_id=target("article", article_id)
            ).values_list("filename", flat=True)
        )
        for article_id in (decrypted, rewritten)
    }
    assert names == {decrypted: ["decrypted.txt"], rewritten: ["report.pdf"]}
    article = Article.objects.get(pk=target("article", decrypted))
    assert article.body_text == "The decrypted text."
    assert article.body_html == ""  # its HTML body went with its attachments
    raw = Article.objects.get(pk=target("article", rewritten)).raw
    assert raw is not None and raw.pk != before
    for pk, (raw_id, blobs) in others.items():
        a = Article.objects.get(pk=pk)
        assert (a.raw_id, sorted(a.attachments.values_list("blob_id", flat=True))) == (
            raw_id,
            blobs,
        )
    assert_as_fresh(znuny_copy)
    assert delta_ids(znuny_copy) == []


def test_an_article_redacted_in_helpline_is_not_read_again(znuny_copy):
    """An article redacted in Helpline (its body, attachments and raw mail removed)
    whose body, attachments and raw mail Znuny writes anew is left as Helpline has
    it: the redaction holds, and the run says so."""
    from helpline.actions.redaction import Removal, do_redact

    (ticket_id, article_id), _ = with_files(znuny_copy, 2)
    run_import(znuny_copy)
    article = Article.objects.get(pk=target("article", article_id))
    files = frozenset(article.attachments.values_list("pk", flat=True))
    do_redact(
        None,
        article.ticket,
        article,
        Removal(body=True, attachment_ids=files, raw=True),
        reason="a customer's passport",
    )
    assert not Attachment.objects.filter(article=article)
    article.refresh_from_db()
    redacted_body = article.body_text
    sources.perl(znuny_copy, REWRITE % (ticket_id, article_id, article_id))
    update_article(znuny_copy, ticket_id, article_id, "Body", "The secret again.")

    report = run_import(znuny_copy)

    assert not Attachment.objects.filter(article=article)
    article.refresh_from_db()
    assert article.raw is None
    assert article.body_text == redacted_body != "The secret again."
    assert report["article"].reasons["redacted in Helpline: not read again"] == 1
    assert HistoryEntry.objects.filter(
        article=article, type=HistoryType.REDACTED
    ).exists()


RETITLE = """
my $TicketObject = $Kernel::OM->Get('Kernel::System::Ticket');
$TicketObject->TicketTitleUpdate(
    Title => 'The customer, by name', TicketID => %d, UserID => 2,
) or die;
"""


def test_a_ticket_anonymised_in_helpline_stays_anonymised(znuny_copy):
    """A ticket anonymised in Helpline (retention) that Znuny then changes — a new
    title, a new note, an article's body — is left as Helpline has it: no title,
    article, body or history entry comes back, and the run says so."""
    from helpline.actions.removal import ANONYMISED_TITLE, anonymise_tickets
    from tests.znuny.test_tickets_delta import ADD_NOTE

    ticket_id = candidates(znuny_copy, 1)[0]
    run_import(znuny_copy)
    pk = target("ticket", ticket_id)
    anonymise_tickets([pk], actor=None, reason="retention")
    before = (
        Article.objects.filter(ticket_id=pk).count(),
        HistoryEntry.objects.filter(ticket_id=pk).count(),
    )
    article_id = source_articles(znuny_copy, ticket_id)[0]
    sources.perl(znuny_copy, RETITLE % ticket_id)
    sources.perl(znuny_copy, ADD_NOTE % (ticket_id, ticket_id))
    update_article(znuny_copy, ticket_id, article_id, "Body", "Words about someone.")

    report = run_import(znuny_copy)

    assert Ticket.objects.get(pk=pk).title == ANONYMISED_TITLE
    assert (
        Article.objects.filter(ticket_id=pk).count(),
        HistoryEntry.objects.filter(ticket_id=pk).count(),
    ) == before
    assert not Article.objects.filter(ticket_id=pk).exclude(body_text="")
    assert report["ticket"].reasons["anonymised in Helpline: not updated"] == 1
