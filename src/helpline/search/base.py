"""The interface between the search and a full-text index, and what gets indexed.

A backend keeps one index entry per ticket, built from a ``TicketDocument`` (the
ticket's title and the subjects, bodies, addresses and attachment names of all its
articles, merged ones included).  It answers with an SQL condition on the ticket row,
never with a list of ids: ``search_tickets`` puts it into the one query that also
applies the permission filter, the field filters and the order, so a search costs
the same number of queries whatever it finds.

Backends: ``sqlite_fts.SqliteFts`` (an FTS5 table) and ``postgres.PostgresFts`` (a
tsvector column of the ticket with a GIN index), chosen by the database vendor in
``get_backend``.  Another engine (OpenSearch, past one database) would implement the
same methods with a terms lookup.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from helpline.search.query import TextTerm

# The format of the index entries this code writes (``models.IndexState``); 2 added
# who may see each ticket, for backends that ``indexes_access``.
ENTRY_FORMAT = 2
ACCESS_FORMAT = 2

# Text of one ticket beyond this is not indexed (a pasted log, a mail loop): the index
# row must stay small enough for the engine (PostgreSQL's tsvector stops at 1 MB).
MAX_FIELD_CHARS = 200_000


@dataclass
class ArticleText:
    subject: str = ""
    body: str = ""
    sender: str = ""
    # To and Cc.
    recipients: str = ""
    attachments: list[str] = field(default_factory=list)


@dataclass
class TicketDocument:
    """Everything of one ticket that the full text covers."""

    ticket_id: int
    title: str
    articles: list[ArticleText] = field(default_factory=list)
    # Who may see the ticket, for backends that index it (``indexes_access``): its
    # queue and that queue's group, and the agents whose own ticket it is (owner,
    # responsible, watchers).
    queue_id: int | None = None
    group_id: int | None = None
    agent_ids: tuple[int, ...] = ()

    def joined(self, part: str, separator: str = "\n") -> str:
        """One part of all articles as one text (``subject``, ``body``, ...)."""
        if part == "attachments":
            texts: Iterable[str] = (n for a in self.articles for n in a.attachments)
        else:
            texts = (getattr(a, part) for a in self.articles)
        return separator.join(t for t in texts if t)[:MAX_FIELD_CHARS]


@dataclass(frozen=True)
class Sql:
    """An SQL fragment with its parameters."""

    sql: str
    params: tuple[object, ...]

    def condition(self) -> RawSQL:
        """As a boolean expression for ``QuerySet.filter`` / ``exclude``."""
        # A backend's SQL is constant text; the user's words are its parameters.
        return RawSQL(self.sql, self.params, output_field=BooleanField())  # noqa: S611


class SearchBackend(ABC):
    """A full-text index of tickets inside the application's database."""

    vendor: str

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    # Whether entries record who may see the ticket (``TicketDocument.queue_id``,
    # ``group_id`` and ``agent_ids``), so that ``narrow_to`` narrows index lookups.
    indexes_access = False

    # --- querying -----------------------------------------------------------------
    def narrow_to(  # noqa: B027 - optional
        self, agent: Any, positive: Sequence[TextTerm]
    ) -> None:
        """From now on, look up only entries of tickets ``agent`` may see, where
        that pays for a query of the ``positive`` terms.

        A lookup of the index then skips the tickets of other queues instead of
        reading each from the table to find it invisible.  Only an optimisation:
        the query's own permission filter (``visible_tickets_q``) still decides,
        so an entry that is late to follow a change of queue or owner can hide a
        ticket from a search for that long, never show one.
        """

    @abstractmethod
    def condition(
        self, positive: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> Sql:
        """A boolean SQL condition on the ticket row of the outer query (table
        ``helpline_ticket``, not aliased): its text has every positive term and none
        of the negative ones.  Without positive terms: it has none of the negative
        ones (an unindexed ticket has none)."""

    def capped_count(
        self,
        tickets: QuerySet[Any],
        positive: Sequence[TextTerm],
        negative: Sequence[TextTerm],
        cap: int,
    ) -> tuple[int, bool]:
        """How many of ``tickets`` (filtered, not yet by text) match the terms,
        counting up to ``cap``; and whether there may be more (the count stopped
        at the cap, or before it, when a backend bounds the work of counting)."""
        if positive or negative:
            tickets = tickets.filter(self.condition(positive, negative).condition())
        counted = tickets.order_by().values("pk")[:cap].count()
        return counted, counted >= cap

    def page(
        self,
        tickets: QuerySet[Any],
        positive: Sequence[TextTerm],
        negative: Sequence[TextTerm],
        offset: int,
        limit: int,
    ) -> list[int]:
        """The ids of one page of ``tickets`` (filtered and ordered, not yet by
        text) that match the terms, in that order."""
        if positive or negative:
            tickets = tickets.filter(self.condition(positive, negative).condition())
        return list(tickets.values_list("pk", flat=True)[offset : offset + limit])

    def lists_cheaply(
        self, positive: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> bool:
        """Whether listing every match (up to the cap) costs about what counting
        them does: not when a phrase's positions would be read for each match."""
        return not any(len(t.tokens) > 1 for t in (*positive, *negative))

    def order_for_words(self, ordering: Sequence[str]) -> Sequence[Any]:
        """The ``order_by`` arguments for ``ordering`` when the query has words."""
        return ordering

    def title_condition(
        self, in_title: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> Sql | None:
        """A condition for "the title has every term of ``in_title`` (all of them
        ``title:`` terms) and the text none of ``negative``" that is cheap to test on
        a row, so that a page of it newest first may walk the date index; None when
        the backend has none (``condition`` then serves, sorted by the matches)."""
        return None

    # --- writing ------------------------------------------------------------------
    def hold_access(self, ticket_ids: Sequence[int]) -> None:  # noqa: B027
        """Before collecting these tickets' documents, in the transaction that
        writes their entries: keep who may see them (their queues' groups) from
        changing until the entries are written, for a backend that
        ``indexes_access``."""

    @abstractmethod
    def replace(
        self, ticket_ids: Sequence[int], docs: Sequence[TicketDocument]
    ) -> None:
        """Drop the entries of ``ticket_ids`` and write ``docs`` (idempotent)."""

    @abstractmethod
    def clear(self) -> None:
        """Empty the index."""

    @abstractmethod
    def indexed_count(self) -> int:
        """Number of tickets in the index."""

    @abstractmethod
    def drop_orphans(self) -> int:
        """Remove entries of tickets that no longer exist; how many."""

    # Columns of the ticket row that hold the index entry, for bulk loaders that
    # write tickets and their entries in one go (none: the entries live elsewhere).
    ticket_columns: tuple[str, ...] = ()

    def column_values(self, doc: TicketDocument) -> dict[str, object]:
        """The values of ``ticket_columns`` for ``doc``."""
        raise NotImplementedError

    # Whether the backend learns common words from the data (``learn_common_words``).
    learns_common_words = False

    def learn_common_words(self, docs: Sequence[TicketDocument]) -> list[str]:
        """Learn which words are common from a sample of the tickets, before a
        rebuild of the whole index; the words learnt (none by default).  Entries
        written from now on are built with them; ``common_words_ready`` says every
        entry is."""
        return []

    def common_words_ready(self, learnt: Sequence[str]) -> None:  # noqa: B027
        """After a rebuild of every entry since ``learn_common_words`` returned
        ``learnt``: searches may rely on those words."""

    def begin_bulk(self) -> None:  # noqa: B027 - optional hook
        """Before writing the whole index into an empty one (may drop indexes)."""

    def end_bulk(self) -> None:  # noqa: B027 - optional hook
        """After a bulk build (recreate indexes, optimise)."""

    def flush_pending(self) -> int:
        """Move what the index buffered for later into its main structure (the
        periodic job ``flush_search_index``); the amount moved.  Optional."""
        return 0

    def purge_removed(self) -> None:  # noqa: B027 - optional hook
        """Drop what the index still keeps of entries it has replaced or deleted
        (the words of a redacted article, of tickets removed by retention or an
        erasure), so that they are in no dump of the database either.  It may
        rewrite the whole index: call it after the commit that removed them, once
        per run, not per ticket (``indexer.purge_removed_later``).  Nothing to do
        where the old entry is unreadable already (PostgreSQL: a dead row version,
        invisible to queries and to pg_dump, until VACUUM reclaims its space)."""


# Databases (alias, name) whose index is known complete in ACCESS_FORMAT: a
# database's complete format only rises, so once seen it holds for the process.
_access_complete: set[tuple[str, object]] = set()


def access_indexed(connection: BaseDatabaseWrapper) -> bool:
    """Whether every index entry of the database records who may see its ticket
    (complete in ``ACCESS_FORMAT`` or later)."""
    from helpline.models import IndexState

    key = (connection.alias, connection.settings_dict.get("NAME"))
    if key in _access_complete:
        return True
    complete = (
        IndexState.objects.using(connection.alias)
        .filter(pk=1)
        .values_list("complete_format", flat=True)
        .first()
    )
    if complete is None or complete < ACCESS_FORMAT:
        return False
    _access_complete.add(key)
    return True


def mark_index_complete(connection: BaseDatabaseWrapper | None = None) -> None:
    """After a rebuild of every entry: all are in ``ENTRY_FORMAT``."""
    from django.db import connection as default

    from helpline.models import IndexState

    conn = connection or default
    state, created = IndexState.objects.using(conn.alias).get_or_create(
        pk=1, defaults={"complete_format": ENTRY_FORMAT}
    )
    if not created and state.complete_format < ENTRY_FORMAT:
        state.complete_format = ENTRY_FORMAT
        state.save(update_fields=["complete_format"])


def forget_index_state() -> None:
    """Drop what this process knows of the databases' index formats (tests)."""
    _access_complete.clear()


def get_backend(connection: BaseDatabaseWrapper | None = None) -> SearchBackend:
    """The backend for the database (default: Django's default connection)."""
    from django.db import connection as default

    conn = connection or default
    if conn.vendor == "sqlite":
        from helpline.search.sqlite_fts import SqliteFts

        return SqliteFts(conn)
    if conn.vendor == "postgresql":
        from helpline.search.postgres import PostgresFts

        return PostgresFts(conn)
    raise NotImplementedError(f"No search backend for the {conn.vendor} database.")
