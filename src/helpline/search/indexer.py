"""Keeping the full-text index in step with the tickets.

After a transaction that changed a ticket commits, ``actions.events`` calls
``enqueue_reindex(ticket_id)``; it queues ``reindex_ticket_job``, which rebuilds that
ticket's index entry from the database as it is then (delete + insert: running it twice,
or late, does no harm).  A merge changes two tickets and both are announced, so the
merged articles are found under the target.  ``reindex_all`` rebuilds everything
(``helpline search reindex``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db import transaction
from django.db.migrations import Migration
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.signals import pre_save
from huey.contrib.djhuey import db_task

from helpline.actions import events
from helpline.models import Article, Attachment, Queue, Ticket, TicketWatcher
from helpline.search.base import (
    ArticleText,
    TicketDocument,
    get_backend,
    mark_index_complete,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH = 1000
# Tickets sampled to learn the common words (``SearchBackend.learn_common_words``).
COMMON_SAMPLE = 5000


def collect_documents(
    ticket_ids: Sequence[int], *, access: bool = False
) -> list[TicketDocument]:
    """The indexed text of these tickets, whatever their size: one query for the
    articles (with their ticket's title), one for the attachments' names when an
    article has any, one for the tickets without articles when there are such.

    ``access``: with who may see each ticket (its queue, owner, responsible and
    watchers; one query more, for the watchers), for a backend that
    ``indexes_access``.
    """
    has_files = Exists(Attachment.objects.filter(article_id=OuterRef("pk")))
    rows = list(
        Article.objects.filter(ticket_id__in=ticket_ids)
        .order_by("ticket_id", "created", "id")
        .values_list(
            "id",
            "ticket_id",
            "ticket__title",
            "ticket__queue_id",
            "ticket__queue__group_id",
            "ticket__owner_id",
            "ticket__responsible_id",
            "subject",
            "body_text",
            "from_addr",
            "to_addr",
            "cc_addr",
        )
        .annotate(has_files=has_files)
    )
    names: dict[int, list[str]] = {}
    with_files = [row[0] for row in rows if row[-1]]
    if with_files:
        for article_id, filename in (
            Attachment.objects.filter(article_id__in=with_files)
            .order_by("id")
            .values_list("article_id", "filename")
        ):
            names.setdefault(article_id, []).append(filename)
    watchers: dict[int, list[int]] = {}
    if access:
        for ticket_id, agent_id in (
            TicketWatcher.objects.filter(ticket_id__in=ticket_ids)
            .order_by("ticket_id", "agent_id")
            .values_list("ticket_id", "agent_id")
        ):
            watchers.setdefault(ticket_id, []).append(agent_id)
    docs: dict[int, TicketDocument] = {}

    def document(
        ticket_id: int,
        title: str,
        queue_id: int,
        group_id: int,
        owner_id: int | None,
        responsible_id: int | None,
    ) -> TicketDocument:
        if not access:
            return TicketDocument(ticket_id=ticket_id, title=title)
        agents = {owner_id, responsible_id, *watchers.get(ticket_id, ())}
        return TicketDocument(
            ticket_id=ticket_id,
            title=title,
            queue_id=queue_id,
            group_id=group_id,
            agent_ids=tuple(sorted(a for a in agents if a is not None)),
        )

    for pk, ticket_id, title, *ticket, subject, body, sender, to, cc, _ in rows:
        doc = docs.get(ticket_id)
        if doc is None:
            doc = docs[ticket_id] = document(ticket_id, title, *ticket)
        doc.articles.append(
            ArticleText(
                subject=subject,
                body=body,
                sender=sender,
                recipients=f"{to}\n{cc}" if cc else to,
                attachments=names.get(pk, []),
            )
        )
    missing = set(ticket_ids) - docs.keys()
    if missing:  # tickets without articles are found by their title
        for pk, title, *ticket in Ticket.objects.filter(pk__in=missing).values_list(
            "pk", "title", "queue_id", "queue__group_id", "owner_id", "responsible_id"
        ):
            docs[pk] = document(pk, title, *ticket)
    return list(docs.values())


def reindex_tickets(ticket_ids: Sequence[int]) -> None:
    """Rebuild the entries of these tickets (removing those of deleted tickets)."""
    backend = get_backend()
    with transaction.atomic():
        backend.hold_access(ticket_ids)
        backend.replace(
            ticket_ids, collect_documents(ticket_ids, access=backend.indexes_access)
        )


def index_now(ticket_ids: Sequence[int]) -> bool:
    """Index these tickets inside the current transaction, and spare them the job
    after the commit (``events.handled``).  For a writer that changed many tickets in
    one transaction (the mail pipeline's batches): one query for all of them and no
    job, with its own transaction, for each.  False, and nothing done, when the index
    is not subscribed to changes (then nobody indexes after commit either)."""
    if not ticket_ids or enqueue_reindex not in events.on_ticket_changed:
        return False
    ids = sorted(set(ticket_ids))
    backend = get_backend()
    with transaction.atomic():
        backend.hold_access(ids)
        backend.replace(ids, collect_documents(ids, access=backend.indexes_access))
    events.handled(ids, enqueue_reindex)
    return True


def index_after_commit(ticket_ids: Sequence[int]) -> bool:
    """Queue ONE job reindexing these tickets, changed in the current transaction,
    after its commit, and spare them the job each (``events.handled``).  For a
    writer that changes many tickets in short transactions whose locks must not
    wait for the index (the automation jobs' batches): the index follows a moment
    later, as after any change.  False, and nothing done, when the index is not
    subscribed to changes."""
    if not ticket_ids or enqueue_reindex not in events.on_ticket_changed:
        return False
    ids = sorted(set(ticket_ids))
    events.handled(ids, enqueue_reindex)

    def enqueue() -> None:
        try:
            reindex_tickets_job(ids)
        except Exception:
            log.exception("could not queue reindexing tickets %s", ids)

    transaction.on_commit(enqueue)
    return True


def flush_pending() -> int:
    """Move what the index buffered into its main structure (PostgreSQL: the GIN
    indexes' pending lists), so that no agent's write has to; run every minute by
    ``helpline.jobs.flush_search_index``.  The amount moved (pages on PostgreSQL)."""
    return get_backend().flush_pending()


@db_task(retries=3, retry_delay=5)
def reindex_ticket_job(ticket_id: int) -> None:
    reindex_tickets([ticket_id])


@db_task(retries=3, retry_delay=5)
def reindex_tickets_job(ticket_ids: list[int]) -> None:
    reindex_tickets(ticket_ids)


@db_task(retries=3, retry_delay=30)
def purge_removed_job() -> None:
    get_backend().purge_removed()


def purge_removed_later() -> None:
    """After a commit that removed words from tickets (a redaction, an erasure):
    have the worker purge what the index keeps of their old entries
    (``SearchBackend.purge_removed``; on SQLite a merge of the whole index, too
    slow for a request).  A failure to queue is logged: the next one purges."""
    try:
        purge_removed_job()
    except Exception:
        log.exception("could not queue purging the search index")


def enqueue_reindex(ticket_id: int) -> None:
    """The ``on_ticket_changed`` subscriber: queue the reindexing of one ticket.

    A failure to queue is logged, not raised: the change is committed already, and
    ``helpline search reindex`` repairs the index.
    """
    try:
        reindex_ticket_job(ticket_id)
    except Exception:
        log.exception("could not queue reindexing ticket %s", ticket_id)


def _batches(tickets: QuerySet[Ticket], size: int) -> Iterator[list[int]]:
    """The ids of ``tickets`` in ascending order, ``size`` at a time (each batch
    read when the previous one is done with: no long-lived cursor)."""
    last = 0
    while True:
        ids = list(
            tickets.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


# --- a queue given to another group ---------------------------------------------------
def reindex_queue(queue_id: int, *, batch: int = DEFAULT_BATCH) -> int:
    """Rebuild the entries of a queue's tickets, which name its group; then record
    that they name its group (``Queue.search_group``), unless it changed group again
    meanwhile (that change queued another rebuild).  The number of tickets."""
    group_id = Queue.objects.filter(pk=queue_id).values_list("group_id", flat=True)
    group = group_id.first()
    if group is None:
        return 0
    done = 0
    for ids in _batches(Ticket.objects.filter(queue_id=queue_id), batch):
        reindex_tickets(ids)
        done += len(ids)
    Queue.objects.filter(pk=queue_id, group_id=group).update(search_group_id=group)
    return done


@db_task(retries=3, retry_delay=5)
def reindex_queue_job(queue_id: int) -> None:
    done = reindex_queue(queue_id)
    log.info("rebuilt the index entries of %d tickets of queue %s", done, queue_id)


def queue_saved(sender: Any, instance: Queue, raw: bool = False, **kwargs: Any) -> None:
    """``pre_save`` receiver: a queue that changes group (the admin site) no longer
    has entries that name one group; its tickets are rebuilt after the commit.
    Meanwhile searches ask the index for the queue itself (``reading_access``).
    A bulk ``update()`` of the group sends no signal and queues no rebuild; on
    PostgreSQL a trigger (migration 0016) clears ``search_group`` all the same, and
    the queue counts as moved until ``helpline search reindex``."""
    if raw or instance._state.adding:
        return
    before = (
        Queue.objects.filter(pk=instance.pk).values_list("group_id", flat=True).first()
    )
    if before is None or before == instance.group_id:
        return
    # No group until a rebuild has finished (saved now, whatever fields are).
    instance.search_group_id = None
    Queue.objects.filter(pk=instance.pk).update(search_group_id=None)
    queue_id = instance.pk

    def rebuild() -> None:
        try:
            reindex_queue_job(queue_id)
        except Exception:
            log.exception(
                "could not queue rebuilding the tickets of queue %s", queue_id
            )

    transaction.on_commit(rebuild)


def register() -> None:
    """Subscribe the index to ticket changes and to queues that change group
    (idempotent; ``HelplineConfig.ready``)."""
    if enqueue_reindex not in events.on_ticket_changed:
        events.on_ticket_changed.append(enqueue_reindex)
    pre_save.connect(queue_saved, sender=Queue, dispatch_uid=QUEUE_RECEIVER)


def unregister() -> None:
    while enqueue_reindex in events.on_ticket_changed:
        events.on_ticket_changed.remove(enqueue_reindex)
    pre_save.disconnect(sender=Queue, dispatch_uid=QUEUE_RECEIVER)


QUEUE_RECEIVER = "helpline.search.indexer.queue_saved"


# The migration that creates the index; applying it to a database that has tickets
# calls for a full build once every migration has run.
INDEX_MIGRATION = ("helpline", "0008_search")


def index_after_migrate(
    plan: list[tuple[Migration, bool]] | None = None, **kwargs: object
) -> None:
    """``post_migrate`` receiver: when this ``migrate`` created the index and there
    are tickets (an upgrade), build their entries now, with the final schema (the
    migration itself cannot: later migrations add columns the code writes)."""
    applied = {
        (migration.app_label, migration.name)
        for migration, backwards in plan or []
        if not backwards
    }
    if INDEX_MIGRATION in applied and Ticket.objects.exists():
        done = reindex_all(fresh=True)
        log.warning("indexed the %d existing tickets for search", done)


def sample_documents(size: int) -> list[TicketDocument]:
    """The documents of up to ``size`` tickets drawn at random."""
    ids = list(Ticket.objects.order_by("?").values_list("pk", flat=True)[:size])
    return collect_documents(ids)


def reindex_all(
    *,
    batch: int = DEFAULT_BATCH,
    fresh: bool = False,
    learn: bool = True,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the entry of every ticket, ``batch`` tickets per transaction.

    Searches keep working meanwhile, each ticket being replaced in place.  ``fresh``
    empties the index first and builds it in bulk (on PostgreSQL without the GIN index,
    created at the end): several times faster, but searches find little until it is
    done.  ``learn``: first learn the common words from a sample of the tickets,
    where the backend does (PostgreSQL); searches use them once the rebuild is
    complete.  Entries of tickets that no longer exist are removed.  Returns the
    number of tickets indexed; ``progress`` is called with the count after each
    batch.
    """
    backend = get_backend()
    groups = list(Queue.objects.values_list("pk", "group_id"))
    learnt: list[str] = []
    if learn and backend.learns_common_words:
        learnt = backend.learn_common_words(sample_documents(COMMON_SAMPLE))
    if fresh:
        backend.clear()
        backend.begin_bulk()
    done = 0
    try:
        for ids in _batches(Ticket.objects.all(), batch):
            reindex_tickets(ids)
            done += len(ids)
            if progress is not None:
                progress(done)
        if not fresh:
            backend.drop_orphans()
    finally:
        if fresh:
            backend.end_bulk()
    if learnt:
        backend.common_words_ready(learnt)
    for queue_id, group_id in groups:  # unless it changed group meanwhile
        Queue.objects.filter(pk=queue_id, group_id=group_id).update(
            search_group_id=group_id
        )
    mark_index_complete()  # every entry is in this code's format now
    return done
