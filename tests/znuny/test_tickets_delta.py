"""The incremental run follows what Znuny changes in tickets it imported before:
merges (``TicketMerge`` moves the articles and their history rows), articles changed
in place (``ArticleUpdate``) and articles moved to another ticket.

Each test imports a writable copy of the Znuny-written database, has Znuny's own API
change it, runs the importer again and compares Helpline with a fresh import of the
changed database (made inside a savepoint of the same test database, everything the
tickets phases wrote wiped first, then rolled back) and with Znuny's rows
(``verify``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from helpline.importers.znuny import runner, tickets
from helpline.importers.znuny.report import Progress, Report
from helpline.importers.znuny.source import Source
from helpline.importers.znuny.state import Mapping
from helpline.importers.znuny.verify import verify
from helpline.models import (
    Article,
    Attachment,
    HistoryEntry,
    ImportedObject,
    ImportRun,
    Ticket,
    TicketLink,
    TicketState,
    TicketWatcher,
)
from tests.znuny import sources

pytestmark = pytest.mark.django_db


@contextmanager
def opened(z: sources.ZnunySource) -> Iterator[Source]:
    source = Source(z.url, article_dir=z.article_dir)
    try:
        yield source
    finally:
        source.close()


def run_import(z: sources.ZnunySource) -> Report:
    with opened(z) as source:
        report, _ = runner.run(source)
    return report


def delta_ids(z: sources.ZnunySource) -> list[int]:
    """The source tickets the next run would read."""
    with opened(z) as source:
        last = runner.last_finished(source.name)
        assert last is not None
        ctx = runner.Context(
            source=source,
            mapping=Mapping(source.name),
            report=Report(),
            progress=Progress(enabled=False),
            previous=dict(last.marks),
        )
        return tickets.ticket_ids(ctx)


def mapped(kind: str) -> dict[int, int]:
    """Helpline pk -> Znuny id of what the import recorded."""
    return {
        target: int(source_id)
        for source_id, target in ImportedObject.objects.filter(
            kind=kind, target_id__isnull=False
        ).values_list("source_id", "target_id")
    }


def target(kind: str, source_id: int) -> int:
    pk = ImportedObject.objects.get(kind=kind, source_id=str(source_id)).target_id
    assert pk is not None
    return pk


def state() -> dict[str, Any]:
    """What Helpline holds of the imported tickets, named by Znuny's ids and numbers
    (Helpline's own ids differ from one import to another)."""
    ticket_pks, article_ids = mapped("ticket"), mapped("article")
    number = dict(Ticket.objects.values_list("pk", "number"))
    found: dict[str, Any] = {"tickets": {}, "articles": {}}
    for t in Ticket.objects.filter(pk__in=ticket_pks).select_related("state"):
        found["tickets"][ticket_pks[t.pk]] = (
            t.number,
            t.title,
            t.state.name,
            t.state_type,
            number.get(t.merged_into_id),
            t.queue_id,
            t.owner_id,
            t.responsible_id,
            t.customer_id,
            t.priority,
            t.locked,
            t.archived,
            t.pending_until,
            t.created,
            t.changed,
            t.closed_at,
        )
    attachments: dict[int, list[tuple[Any, ...]]] = {}
    for x in Attachment.objects.select_related("blob"):
        attachments.setdefault(x.article_id, []).append(
            (x.filename, x.content_type, x.content_id, x.inline, x.blob.sha256)
        )
    for a in Article.objects.filter(pk__in=article_ids).select_related("raw"):
        found["articles"][article_ids[a.pk]] = (
            number[a.ticket_id],
            a.channel,
            a.sender_type,
            a.visible_to_customer,
            a.incoming,
            a.created_by_id,
            a.created,
            a.from_addr,
            a.to_addr,
            a.cc_addr,
            a.bcc_addr,
            a.reply_to,
            a.subject,
            a.body_text,
            a.body_html,
            a.message_id,
            a.in_reply_to,
            a.references,
            a.raw.sha256 if a.raw else None,
            sorted(attachments.get(a.pk, [])),
        )
    # A list, not a set: an entry imported twice shows.
    found["history"] = sorted(
        (
            number[h.ticket_id],
            h.type,
            h.actor_id or 0,
            h.created.isoformat(),
            article_ids.get(h.article_id or 0, 0),
            json.dumps(h.data, sort_keys=True),
        )
        for h in HistoryEntry.objects.filter(ticket_id__in=ticket_pks)
    )
    found["watchers"] = sorted(
        (number[w.ticket_id], w.agent_id) for w in TicketWatcher.objects.all()
    )
    found["links"] = sorted(
        (number[x.source_id], number[x.target_id], x.type)
        for x in TicketLink.objects.all()
    )
    return found


def fresh_state(z: sources.ZnunySource) -> dict[str, Any]:
    """``state()`` after a fresh import of the source as it is now, into this
    database with every ticket and every record of the tickets phases removed; rolled
    back afterwards."""
    with transaction.atomic():
        HistoryEntry.objects.all().delete()
        Attachment.objects.all().delete()
        Ticket.objects.update(merged_into=None)
        Article.objects.all().delete()
        TicketWatcher.objects.all().delete()
        TicketLink.objects.all().delete()
        Ticket.objects.all().delete()
        ImportedObject.objects.filter(
            kind__in=["ticket", "article", "attachment", "link"]
        ).delete()
        ImportRun.objects.all().delete()
        run_import(z)
        found = state()
        transaction.set_rollback(True)
    return found


def assert_as_fresh(z: sources.ZnunySource) -> None:
    with opened(z) as source:
        assert verify(source) == []
    now, fresh = state(), fresh_state(z)
    for part in ("tickets", "articles", "history", "watchers", "links"):
        assert now[part] == fresh[part], part


def candidates(z: sources.ZnunySource, count: int, articles: int = 2) -> list[int]:
    """Tickets with this many articles or more, neither merged nor removed, by id."""
    with opened(z) as source:
        rows = source.all(
            "SELECT t.id FROM ticket t "
            "JOIN ticket_state s ON s.id = t.ticket_state_id "
            "JOIN ticket_state_type st ON st.id = s.type_id "
            "WHERE st.name NOT IN ('merged', 'removed') "
            "AND (SELECT COUNT(*) FROM article a WHERE a.ticket_id = t.id) >= %s "
            "ORDER BY t.id",
            (articles,),
        )
    assert len(rows) >= count
    return [int(r["id"]) for r in rows[:count]]


def source_articles(z: sources.ZnunySource, ticket_id: int) -> list[int]:
    with opened(z) as source:
        return [
            int(r["id"])
            for r in source.rows(
                "SELECT id FROM article WHERE ticket_id = %s ORDER BY id", (ticket_id,)
            )
        ]


MERGE = """
my $TicketObject = $Kernel::OM->Get('Kernel::System::Ticket');
$TicketObject->TicketMerge(MainTicketID => %d, MergeTicketID => %d, UserID => 2)
    or die "TicketMerge failed";
"""


def test_a_second_run_reads_no_ticket_again(znuny_db):
    """Nothing changed: the next run reads no ticket, though every ticket and article
    of the test database changed within the hour before the last one's newest
    change (its safety margin): their stamps and newest article changes are the
    ones imported."""
    run_import(znuny_db)
    assert delta_ids(znuny_db) == []


def test_merges_made_in_znuny_move_articles_and_history_as_a_fresh_import_would(
    znuny_copy,
):
    """Znuny merges two pairs of imported tickets (a newer one into an older one,
    whose history rows it moves past the main ticket's cursor, and an older one into
    a newer one); the next run moves the articles and the history entries naming
    them to the main tickets, imports no history row twice, marks the merged tickets
    merged into the main ones, and ends where a fresh import of the merged database
    does; attachments and raw mails byte-identical (``verify``)."""
    first, second, third, fourth = candidates(znuny_copy, 4)
    run_import(znuny_copy)
    moved = {
        first: source_articles(znuny_copy, fourth),
        third: source_articles(znuny_copy, second),
    }
    sources.perl(znuny_copy, MERGE % (first, fourth))
    sources.perl(znuny_copy, MERGE % (third, second))

    # (and those linked to a merged ticket: its links move to the main one)
    assert {first, second, third, fourth} <= set(delta_ids(znuny_copy))
    report = run_import(znuny_copy)

    assert report["article"].updated == len(moved[first]) + len(moved[third])
    assert report["history"].updated > 0
    for main, articles in moved.items():
        main_pk = target("ticket", main)
        for article_id in articles:
            assert Article.objects.get(pk=target("article", article_id)).ticket_id == (
                main_pk
            )
            assert not HistoryEntry.objects.filter(
                article_id=target("article", article_id)
            ).exclude(ticket_id=main_pk)
    for merged, main in ((fourth, first), (second, third)):
        ticket = Ticket.objects.get(pk=target("ticket", merged))
        assert ticket.merged_into_id == target("ticket", main)
        assert ticket.state_type == "merged"
    assert_as_fresh(znuny_copy)
    # And the run after it has nothing left to do.
    assert delta_ids(znuny_copy) == []


ARTICLE_UPDATE = """
my $ArticleObject = $Kernel::OM->Get('Kernel::System::Ticket::Article');
my $Backend = $ArticleObject->BackendForArticle(TicketID => %d, ArticleID => %d);
$Backend->ArticleUpdate(
    TicketID => %d, ArticleID => %d, Key => '%s', Value => '%s', UserID => 2,
) or die "ArticleUpdate failed";
"""
ARTICLE_FLAG = """
my $ArticleObject = $Kernel::OM->Get('Kernel::System::Ticket::Article');
$ArticleObject->ArticleFlagSet(
    TicketID => %d, ArticleID => %d, Key => 'Seen', Value => 1, UserID => 2,
) or die "ArticleFlagSet failed";
"""


def update_article(
    z: sources.ZnunySource, ticket_id: int, article_id: int, key: str, value: str
) -> None:
    sources.perl(
        z, ARTICLE_UPDATE % (ticket_id, article_id, ticket_id, article_id, key, value)
    )


def test_an_article_changed_in_place_by_znuny_is_brought_over_by_the_next_run(
    znuny_copy,
):
    """Znuny's ArticleUpdate changes an imported article's visibility to the customer
    and its sender type (the ticket's change time stays): the next run reads that
    ticket alone, and a subject changed on it at the same time comes along.  An
    article marked seen (a flag, which is not imported) makes no ticket read."""
    ticket_id, flagged = candidates(znuny_copy, 2)
    run_import(znuny_copy)
    article_id, other_id = source_articles(znuny_copy, ticket_id)[:2]
    before = Article.objects.get(pk=target("article", article_id))
    visible = "0" if before.visible_to_customer else "1"
    update_article(znuny_copy, ticket_id, article_id, "IsVisibleForCustomer", visible)
    update_article(znuny_copy, ticket_id, other_id, "SenderType", "system")
    update_article(znuny_copy, ticket_id, article_id, "Subject", "Changed in Znuny")
    sources.perl(
        znuny_copy, ARTICLE_FLAG % (flagged, source_articles(znuny_copy, flagged)[0])
    )
    version = Ticket.objects.get(pk=target("ticket", ticket_id)).version

    assert delta_ids(znuny_copy) == [ticket_id]
    report = run_import(znuny_copy)

    assert report["article"].updated == 2
    assert report["article"].imported == 0
    assert report["ticket"].updated == 0
    after = Article.objects.get(pk=target("article", article_id))
    assert after.visible_to_customer is (visible == "1")
    assert after.subject == "Changed in Znuny"
    assert after.body_html == before.body_html
    assert after.raw_id == before.raw_id
    assert Article.objects.get(pk=target("article", other_id)).sender_type == "system"
    ticket = Ticket.objects.get(pk=target("ticket", ticket_id))
    assert ticket.version == version + 1  # what the API's ETag goes by
    assert_as_fresh(znuny_copy)
    assert delta_ids(znuny_copy) == []


MOVE_ARTICLE = """
my $DBObject = $Kernel::OM->Get('Kernel::System::DB');
$DBObject->Do(
    SQL => 'UPDATE article SET ticket_id = ?, change_time = current_timestamp, '
        . 'change_by = 2 WHERE id = ?',
    Bind => [ \\%d, \\%d ],
) or die;
$DBObject->Do(
    SQL => 'UPDATE ticket_history SET ticket_id = ? WHERE article_id = ?',
    Bind => [ \\%d, \\%d ],
) or die;
"""


def test_an_article_moved_to_another_ticket_follows_with_its_history(znuny_copy):
    """An article moved to another ticket with the history rows naming it, as a
    Znuny package would (through Znuny's database object, the way TicketMerge
    writes it: neither ticket's change time moves): the next run moves it and its
    history entries, and ends where a fresh import does."""
    origin, destination = candidates(znuny_copy, 2)[::-1]  # to the older ticket
    run_import(znuny_copy)
    article_id = source_articles(znuny_copy, origin)[-1]
    sources.perl(
        znuny_copy, MOVE_ARTICLE % (destination, article_id, destination, article_id)
    )

    assert destination in delta_ids(znuny_copy)
    report = run_import(znuny_copy)

    assert report["article"].updated == 1
    article = Article.objects.get(pk=target("article", article_id))
    assert article.ticket_id == target("ticket", destination)
    assert HistoryEntry.objects.filter(article=article).exists()
    assert not HistoryEntry.objects.filter(article=article).exclude(
        ticket_id=article.ticket_id
    )
    assert_as_fresh(znuny_copy)


ADD_NOTE = """
my $TicketObject = $Kernel::OM->Get('Kernel::System::Ticket');
my $Backend = $Kernel::OM->Get('Kernel::System::Ticket::Article')
    ->BackendForChannel(ChannelName => 'Internal');
$Backend->ArticleCreate(
    TicketID => %d, SenderType => 'agent', IsVisibleForCustomer => 0, UserID => 2,
    HistoryType => 'AddNote', HistoryComment => 'a note',
    From => 'Alice <alice@example.org>', Subject => 'A note', Body => 'Later.',
    ContentType => 'text/plain; charset=utf8',
) or die;
$TicketObject->TicketStateSet(TicketID => %d, State => 'open', UserID => 2) or die;
"""


def test_a_ticket_without_a_customer_login_keeps_its_first_senders_address(
    znuny_copy,
):
    """A ticket whose customer Znuny does not name (no customer login) has the sender
    of its first article as customer; a note from someone else added after the
    import does not make that someone its customer: the run reads the articles
    imported before too and takes the first, as a fresh import does."""
    with opened(znuny_copy) as source:
        row = source.one(
            "SELECT t.id, m.a_from FROM ticket t "
            "JOIN article a ON a.ticket_id = t.id "
            "JOIN article_data_mime m ON m.article_id = a.id "
            "JOIN ticket_state s ON s.id = t.ticket_state_id "
            "JOIN ticket_state_type st ON st.id = s.type_id "
            "WHERE t.customer_user_id IS NULL AND m.a_from LIKE '%%@%%' "
            "AND st.name NOT IN ('merged', 'removed') ORDER BY t.id"
        )
    assert row is not None
    ticket_id = int(row["id"])
    run_import(znuny_copy)
    customer = Ticket.objects.get(pk=target("ticket", ticket_id)).customer
    assert customer is not None and customer.email in row["a_from"].lower()
    sources.perl(znuny_copy, ADD_NOTE % (ticket_id, ticket_id))

    report = run_import(znuny_copy)

    assert report["ticket"].updated == 1
    assert Ticket.objects.get(pk=target("ticket", ticket_id)).customer == customer
    assert_as_fresh(znuny_copy)


def one_batch(source: Source, ids: list[int]) -> int:
    """How many statements one batch of these (imported) tickets costs."""
    ctx = runner.Context(
        source=source,
        mapping=Mapping(source.name),
        report=Report(),
        progress=Progress(enabled=False),
    )
    states = dict(TicketState.objects.values_list("pk", "type"))
    with CaptureQueriesContext(connection) as queries:
        tickets.Batch(ctx, states).run(ids)
    return len(queries.captured_queries)


HIDE_ALL = """
my $ArticleObject = $Kernel::OM->Get('Kernel::System::Ticket::Article');
for my $TicketID (%s) {
    for my $Article ($ArticleObject->ArticleList(TicketID => $TicketID)) {
        $ArticleObject->BackendForArticle(%%{$Article})->ArticleUpdate(
            TicketID => $TicketID, ArticleID => $Article->{ArticleID},
            Key => 'IsVisibleForCustomer',
            Value => $Article->{IsVisibleForCustomer} ? 0 : 1, UserID => 2,
        ) or die;
    }
}
"""


def test_a_batch_costs_the_same_statements_however_many_tickets_changed(
    znuny_copy,
):
    """Reading imported tickets again, every article of them changed in place and a
    fifth of them merged into others, costs the same statements for thirty tickets
    as for ten: the changes are compared and written a batch at a time."""
    ids = candidates(znuny_copy, 40, articles=1)
    small, large = ids[:10], ids[10:40]
    run_import(znuny_copy)
    sources.perl(znuny_copy, HIDE_ALL % ", ".join(map(str, ids)))
    for group in (small, large):
        half = len(group) // 2
        for main, merged in list(zip(group[:half], group[half:], strict=True))[::5]:
            sources.perl(znuny_copy, MERGE % (main, merged))
    with opened(znuny_copy) as source:
        cost_small = one_batch(source, small)
        cost_large = one_batch(source, large)
    # A statement or two may depend on the content (a chunk of attachments, a
    # customer made from a sender's address).
    assert cost_large <= cost_small + 2, (cost_small, cost_large)
    report = run_import(znuny_copy)  # the merges themselves: the links phase
    assert report["article"].updated == 0  # the batches brought every change
    assert_as_fresh(znuny_copy)
