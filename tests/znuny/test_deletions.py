"""Tickets and articles that Znuny deletes after they were imported are deleted by the
next run (``tickets_deleted``), through Helpline's removal, as a fresh import of the
changed database would have them: Znuny's own ``TicketDelete`` and ``ArticleDelete``
make the change."""

from __future__ import annotations

import pytest

from helpline.importers.znuny import runner
from helpline.models import (
    Article,
    Attachment,
    Blob,
    HistoryEntry,
    ImportedObject,
    Ticket,
)
from tests.znuny import sources
from tests.znuny.test_tickets_delta import (
    MERGE,
    assert_as_fresh,
    candidates,
    delta_ids,
    opened,
    run_import,
    source_articles,
    target,
)

pytestmark = pytest.mark.django_db

TICKET_DELETE = """
my $TicketObject = $Kernel::OM->Get('Kernel::System::Ticket');
$TicketObject->TicketDelete(TicketID => %d, UserID => 1) or die "TicketDelete failed";
"""
ARTICLE_DELETE = """
my $ArticleObject = $Kernel::OM->Get('Kernel::System::Ticket::Article');
$ArticleObject->BackendForArticle(TicketID => %d, ArticleID => %d)->ArticleDelete(
    TicketID => %d, ArticleID => %d, UserID => 1,
) or die "ArticleDelete failed";
"""


def with_attachments(z: sources.ZnunySource, ticket_ids: list[int]) -> tuple[int, int]:
    """(ticket, article): an article with attachments of one of these tickets, not its
    first."""
    with opened(z) as source:
        row = source.one(
            "SELECT a.ticket_id, a.id FROM article a "
            "WHERE a.ticket_id IN ({}) AND a.id > (SELECT MIN(b.id) FROM article b "
            "WHERE b.ticket_id = a.ticket_id) AND EXISTS (SELECT 1 FROM "
            "article_data_mime_attachment x WHERE x.article_id = a.id) "
            "ORDER BY a.id".format(", ".join(map(str, ticket_ids)))
        )
    assert row is not None
    return int(row["ticket_id"]), int(row["id"])


def test_tickets_and_articles_deleted_in_znuny_are_deleted_by_the_next_run(
    znuny_copy,
):
    """Znuny deletes a ticket, the main ticket of a merge made after the import, and
    one article (with attachments) of a third ticket.  A dry run reports them and
    deletes nothing; the next run deletes the tickets with their articles,
    attachments and records and the article with its attachments and the history
    entries naming it, keeps the merged ticket (unmerged, as Znuny keeps it), and
    ends where a fresh import of the changed database does.  The run after it
    deletes nothing."""
    ids = candidates(znuny_copy, 12)
    doomed, main, merged = ids[0], ids[1], ids[2]
    ticket_id, article_id = with_attachments(znuny_copy, ids[3:])
    run_import(znuny_copy)
    doomed_pk, main_pk = target("ticket", doomed), target("ticket", main)
    doomed_articles = list(Article.objects.filter(ticket_id=doomed_pk))
    article_pk = target("article", article_id)
    article = Article.objects.get(pk=article_pk)
    attachments = list(Attachment.objects.filter(article_id=article_pk))
    assert attachments and HistoryEntry.objects.filter(article_id=article_pk)
    sources.perl(znuny_copy, MERGE % (main, merged))
    run_import(znuny_copy)  # the merge
    assert Ticket.objects.get(pk=target("ticket", merged)).merged_into_id == main_pk
    main_articles = set(
        Article.objects.filter(ticket_id=main_pk).values_list("pk", flat=True)
    )
    sources.perl(znuny_copy, TICKET_DELETE % doomed)
    sources.perl(znuny_copy, TICKET_DELETE % main)
    sources.perl(
        znuny_copy, ARTICLE_DELETE % (ticket_id, article_id, ticket_id, article_id)
    )

    with opened(znuny_copy) as source:
        dry, _ = runner.run(source, dry_run=True)
    assert dry["ticket"].deleted == 2
    assert Ticket.objects.filter(pk__in=[doomed_pk, main_pk]).count() == 2
    assert Article.objects.filter(pk=article_pk).exists()

    report = run_import(znuny_copy)

    assert report["ticket"].deleted == 2
    assert report["article"].deleted == len(doomed_articles) + len(main_articles) + 1
    assert dry["article"].deleted == report["article"].deleted
    assert not Ticket.objects.filter(pk__in=[doomed_pk, main_pk])
    assert not Article.objects.filter(pk__in=[*main_articles, article_pk])
    assert not Attachment.objects.filter(article_id=article_pk)
    assert not HistoryEntry.objects.filter(article_id=article_pk)
    assert not ImportedObject.objects.filter(
        kind="ticket", source_id__in=[str(doomed), str(main)]
    )
    assert not ImportedObject.objects.filter(kind="article", source_id=str(article_id))
    if article.raw_id is not None and not (
        Article.objects.filter(raw_id=article.raw_id).exists()
    ):
        assert not Blob.objects.filter(pk=article.raw_id).exists()
    left = Ticket.objects.get(pk=target("ticket", merged))
    assert left.merged_into_id is None
    assert Article.objects.filter(ticket_id=target("ticket", ticket_id)).count() == (
        len(source_articles(znuny_copy, ticket_id))
    )
    assert_as_fresh(znuny_copy)
    again = run_import(znuny_copy)
    assert again["ticket"].deleted == again["article"].deleted == 0
    assert delta_ids(znuny_copy) == []


def test_a_ticket_under_legal_hold_is_kept_when_znuny_deletes_it(znuny_copy):
    """A ticket put under legal hold in Helpline is not deleted when Znuny deletes
    it, nor its articles: the run reports it, and keeps reporting it."""
    doomed, other = candidates(znuny_copy, 2)
    ticket_id, article_id = with_attachments(znuny_copy, candidates(znuny_copy, 20)[2:])
    run_import(znuny_copy)
    held = [target("ticket", doomed), target("ticket", ticket_id)]
    Ticket.objects.filter(pk__in=held).update(legal_hold=True)
    sources.perl(znuny_copy, TICKET_DELETE % doomed)
    sources.perl(
        znuny_copy, ARTICLE_DELETE % (ticket_id, article_id, ticket_id, article_id)
    )

    report = run_import(znuny_copy)

    assert report["ticket"].deleted == report["article"].deleted == 0
    assert Ticket.objects.filter(pk__in=held).count() == 2
    assert Article.objects.filter(pk=target("article", article_id)).exists()
    reasons = {**report["ticket"].reasons, **report["article"].reasons}
    assert reasons["deleted in Znuny, kept: under legal hold"] == 1
    assert reasons["deleted in Znuny, kept: its ticket is under legal hold"] == 1
    assert (
        run_import(znuny_copy)["ticket"].reasons[
            "deleted in Znuny, kept: under legal hold"
        ]
        == 1
    )
    assert Ticket.objects.filter(pk=target("ticket", other)).exists()
