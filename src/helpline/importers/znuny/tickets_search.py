"""PostgreSQL: a batch's new tickets written once, with their search entries.

The index entry of a ticket is two columns of its row (``search.postgres``).  Written
after the ticket (``search.indexer.reindex_tickets``: the articles read back, then an
``UPDATE``), every new ticket would be a second row version, with an entry in each of
the ticket table's twenty b-tree indexes.  So a batch draws its new tickets' ids first,
writes their articles and attachments (the foreign keys are checked at the commit),
and then the tickets with their entries, built from what it wrote exactly as
``collect_documents`` reads it back: the articles by creation time and id, each with
its attachments' names in the order of their ids, and who may see the ticket (its
queue, the queue's group, owner, responsible and watchers).  A new ticket that the
batch changes afterwards (an imported article moved into it, files of one replaced)
is indexed again the usual way at the end of the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection

from helpline.importers.znuny.tickets_copy import insert_models
from helpline.models import Article, Attachment, Ticket
from helpline.search.base import ArticleText, TicketDocument
from helpline.search.postgres import PostgresFts


def insert_with_entries(
    tickets: Sequence[Ticket],
    articles: Sequence[Article],
    attachments: Sequence[Attachment],
    watchers: set[tuple[int, int]],
) -> None:
    """Write these tickets (their ids drawn: ``insert_models``), with the search
    entries of these articles, attachments and (ticket, agent) watchers of theirs."""
    if not tickets:
        return
    backend = PostgresFts(connection)
    groups = _hold_queues({t.queue_id for t in tickets})
    names: dict[int, list[str]] = defaultdict(list)
    for attachment in attachments:  # in the order of their ids
        names[attachment.article_id].append(attachment.filename)
    texts: dict[int, list[tuple[Any, int, ArticleText]]] = defaultdict(list)
    for article in articles:
        texts[article.ticket_id].append(
            (
                article.created,
                article.pk,
                ArticleText(
                    subject=article.subject,
                    body=article.body_text,
                    sender=article.from_addr,
                    recipients=f"{article.to_addr}\n{article.cc_addr}"
                    if article.cc_addr
                    else article.to_addr,
                    attachments=names.get(article.pk, []),
                ),
            )
        )
    watching: dict[int, set[int]] = defaultdict(set)
    for ticket_id, agent_id in watchers:
        watching[ticket_id].add(agent_id)
    docs = []
    for ticket in tickets:
        agents = {ticket.owner_id, ticket.responsible_id, *watching[ticket.pk]}
        docs.append(
            TicketDocument(
                ticket_id=ticket.pk,
                title=ticket.title,
                articles=[
                    text
                    for _, _, text in sorted(
                        texts[ticket.pk], key=lambda item: (item[0], item[1])
                    )
                ],
                queue_id=ticket.queue_id,
                group_id=groups.get(ticket.queue_id),
                agent_ids=tuple(sorted(a for a in agents if a is not None)),
            )
        )
    entries = backend.entries(docs)
    insert_models(
        tickets,
        extra={
            "search_document": [document for document, _ in entries],
            "title_words": [title for _, title in entries],
        },
    )


def _hold_queues(queue_ids: set[int]) -> dict[int, int | None]:
    """The tickets' queues' groups, their rows held FOR SHARE to the end of the
    transaction (``PostgresFts.hold_access``: a change of a queue's group waits for
    these entries, then rebuilds them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, group_id FROM helpline_queue WHERE id = ANY(%s) FOR SHARE",
            [sorted(queue_ids)],
        )
        return {int(pk): group for pk, group in cursor.fetchall()}
