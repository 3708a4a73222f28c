"""Ticket search: full text and field filters, permission-filtered in the same SQL.

    result = search_tickets(agent, 'refund "bank transfer" queue:info-en state:open')
    result.ticket_ids, result.total, result.total_capped

The query syntax is in ``query`` (docs/search.md for agents), the field filters in
``filters``, the full-text index behind ``base.SearchBackend`` (FTS5 on SQLite, a
tsvector column on PostgreSQL), kept up to date by ``indexer`` after each committed
change.

Every query is one statement over the ticket table: the permission filter
(``visible_tickets_q``), the field filters, the full-text condition and the order.
A page costs at most four of them, whatever the number of matches (two for most): the
page, the capped count when the page does not tell the total, and for relevance the
two tiers below (plus one to check a ``state:`` name).  On PostgreSQL a search with
words also reads which of them are common and the agent's queues, to ask the index
for the tickets the agent may see only (``SearchBackend.narrow_to``).

Relevance puts the tickets whose title has every word of the query first, then the
other matches, each tier by last change (newest first).  Unlike a score computed for
every match (ts_rank, bm25), both tiers are read in index order and stop after one
page, so a word found in half of a million tickets is as quick as a rare one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce

from helpline.errors import InvalidInput
from helpline.models import Ticket
from helpline.monitoring.metrics import observe_search
from helpline.replica import reading_connection
from helpline.search.base import get_backend
from helpline.search.filters import filter_q
from helpline.search.query import ParsedQuery, TextTerm, parse_query

# Totals are exact up to this many matches; beyond, ``total_capped`` says so.  A count
# reads up to this many matching rows (and the invisible ones among them) on every
# page that does not tell the total by itself: the cap bounds that work.
TOTAL_CAP = 1_000
MAX_LIMIT = 1000
RELEVANCE = "relevance"
# Each order ends with a unique column, so pages never overlap or skip.
ORDERS: dict[str, tuple[str, ...]] = {
    "-changed": ("-changed", "-id"),
    "changed": ("changed", "id"),
    "-created": ("-created", "-id"),
    "created": ("created", "id"),
    "-priority": ("-priority", "created", "id"),
    "priority": ("priority", "created", "id"),
    "number": ("number",),
    "-number": ("-number",),
    "id": ("id",),
    "-id": ("-id",),
}
# Within a relevance tier, and without words to rank by: newest change first.
RECENT = ORDERS["-changed"]


@dataclass
class SearchResult:
    ticket_ids: list[int]  # one page, in result order
    total: int  # matching visible tickets, exact up to TOTAL_CAP
    # True when total is a lower bound: more than TOTAL_CAP matched (total is
    # TOTAL_CAP), or counting a phrase stopped early (backend.capped_count).
    total_capped: bool
    # How parts of the query were understood, for the person who typed it
    # (``ParsedQuery.hints``: "File:" is not a field, searched as text).
    hints: list[str] = field(default_factory=list)


def filtered_tickets(
    agent: Any, parsed: ParsedQuery, *, archived: bool | None = False
) -> QuerySet[Ticket]:
    """The visible tickets that pass the field filters of ``parsed`` (not its words).

    ``archived``: False (default) leaves archived tickets out, True finds only them,
    None both; ``archived:`` in the query overrides it.
    """
    archived = parsed.archived_or(archived)
    tickets = Ticket.objects.visible_to(agent)
    if archived is not None:
        # Through COALESCE, which no index answers: "not archived" holds for most
        # tickets, and PostgreSQL would otherwise build a bitmap of hundreds of
        # thousands of them (ticket_arch) to AND with the words' few, or walk that
        # index testing every ticket for the words.  Checked on the rows found.
        tickets = tickets.alias(
            archived_flag=Coalesce(F("archived"), Value(False))
        ).filter(archived_flag=archived)
    for flt in parsed.filters:
        tickets = tickets.filter(filter_q(flt, agent))
    return tickets


def matching_tickets(
    agent: Any, parsed: ParsedQuery, *, archived: bool | None = False
) -> QuerySet[Ticket]:
    """The visible tickets that match ``parsed``, words included; unordered."""
    return _with_words(
        agent, filtered_tickets(agent, parsed, archived=archived), parsed
    )


def _with_words(
    agent: Any, tickets: QuerySet[Ticket], parsed: ParsedQuery
) -> QuerySet[Ticket]:
    if not parsed.terms:
        return tickets
    backend = get_backend(reading_connection())
    backend.narrow_to(agent, parsed.positive_terms)
    text = backend.condition(parsed.positive_terms, parsed.negative_terms)
    return tickets.filter(text.condition())


@observe_search
def search_tickets(
    agent: Any,
    query: str,
    *,
    archived: bool | None = False,
    order: str = RELEVANCE,
    limit: int = 25,
    offset: int = 0,
) -> SearchResult:
    """One page of the tickets ``agent`` may see that match ``query``.

    Raises ``InvalidInput`` for bad syntax, an unknown order or a bad page.
    ``order``: ``relevance`` (see the module docstring; the most recently changed
    first when the query has no words), or one of ``ORDERS``.
    """
    if order != RELEVANCE and order not in ORDERS:
        raise InvalidInput(
            f"Unknown order {order!r}; use {RELEVANCE}, {', '.join(ORDERS)}."
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1 to {MAX_LIMIT}, not {limit}.")
    if offset < 0:
        raise InvalidInput(f"offset must be 0 or more, not {offset}.")
    parsed = parse_query(query)
    filtered = filtered_tickets(agent, parsed, archived=archived)
    backend = get_backend(reading_connection())
    positive, negative = parsed.positive_terms, parsed.negative_terms
    backend.narrow_to(agent, positive)

    def text_page(tickets: QuerySet[Ticket], start: int, count: int) -> list[int]:
        return backend.page(tickets, positive, negative, start, count)

    # Unless a phrase's positions would be read for every match, the matches are
    # first listed, unordered, up to the cap: when that is all of them, the page
    # newest first is cut from the list and the total is exact, in one statement
    # instead of a page and a count; when there are more, only the page is read and
    # the total is known to be capped.
    listed: Callable[[], list[int] | None] | None = None
    if parsed.has_text and backend.lists_cheaply(positive, negative):

        def listed() -> list[int] | None:
            return _newest_if_few(filtered.filter(_text(backend, parsed)))

    in_title = _in_title(parsed) if order == RELEVANCE else None
    in_first: int | None = None  # matches in the title tier, when counted
    known: int | None = None  # the total, when listing the matches told it
    if in_title is None:
        ordering: Sequence[Any] = RECENT if order == RELEVANCE else ORDERS[order]
        everything = listed() if listed is not None and ordering == RECENT else None
        if everything is not None:
            ids, known = everything[offset : offset + limit], len(everything)
        else:
            if listed is not None and ordering == RECENT:
                known = TOTAL_CAP + 1  # listing stopped at the cap
            if parsed.has_text:
                ordering = backend.order_for_words(ordering)
            ids = text_page(filtered.order_by(*ordering), offset, limit)
    else:
        # A word in the title is a word of the ticket: the title condition alone
        # (with the exclusions) selects the first tier.  Repeating the query's own
        # condition would be redundant, and would mislead the planner into taking
        # the two for independent and the tier for rare.
        newest = backend.order_for_words(RECENT)
        cheap = backend.title_condition(in_title, negative)
        title_only = backend.title_condition(in_title, ())
        if cheap is not None and title_only is not None:
            first = filtered.filter(cheap.condition()).order_by(*RECENT)
            in_title_q = title_only.condition()
        else:
            first = filtered.filter(
                backend.condition(in_title, negative).condition()
            ).order_by(*newest)
            in_title_q = backend.condition(in_title, ()).condition()
        ids, in_first, known = _tiered_page(
            first,
            filtered.order_by(*newest),
            text_page,
            listed,
            in_title_q,
            offset,
            limit,
        )
    more = False  # total is a lower bound
    if known is not None:
        total = known
    elif 0 < len(ids) < limit or (offset == 0 and not ids):
        total = offset + len(ids)  # the last page: no need to count
    elif in_first is not None and in_first > TOTAL_CAP:
        total, more = in_first, True
    else:
        total, more = backend.capped_count(filtered, positive, negative, TOTAL_CAP + 1)
        if more:  # what the pages and the title tier showed are matches too
            total = max(total, in_first or 0, offset + len(ids))
    return SearchResult(
        ticket_ids=ids,
        total=min(total, TOTAL_CAP),
        total_capped=more or total > TOTAL_CAP,
        hints=parsed.hints,
    )


def _text(backend: Any, parsed: ParsedQuery) -> Any:
    return backend.condition(parsed.positive_terms, parsed.negative_terms).condition()


def _newest_if_few(tickets: QuerySet[Ticket]) -> list[int] | None:
    """All of ``tickets``, newest change first, if there are at most ``TOTAL_CAP``."""
    rows = list(tickets.order_by().values_list("changed", "pk")[: TOTAL_CAP + 1])
    if len(rows) > TOTAL_CAP:
        return None
    rows.sort(reverse=True)  # as RECENT: -changed, -id
    return [pk for _, pk in rows]


def _page(tickets: QuerySet[Ticket], offset: int, limit: int) -> list[int]:
    return list(tickets.values_list("pk", flat=True)[offset : offset + limit])


def _capped_count(tickets: QuerySet[Ticket], cap: int = TOTAL_CAP + 1) -> int:
    return tickets.order_by().values("pk")[:cap].count()


def _in_title(parsed: ParsedQuery) -> list[TextTerm] | None:
    """The positive terms moved into the title, if that differs from the query."""
    terms = parsed.positive_terms
    if all(t.field is not None for t in terms):  # nothing to move into the title
        return None
    return [t if t.field else replace(t, field="title") for t in terms]


def _tiered_page(
    first: QuerySet[Ticket],
    others: QuerySet[Ticket],
    text_page: Callable[[QuerySet[Ticket], int, int], list[int]],
    listed: Callable[[], list[int] | None] | None,
    in_title: Any,
    offset: int,
    limit: int,
) -> tuple[list[int], int | None, int | None]:
    """A page of ``first`` (the title tier), then the other matches: ``others``
    (filtered and ordered, not by text) paged by ``text_page``, or on the first page
    cut from all matches when ``listed`` gives them; the size of the title tier when
    it was counted (exact up to ``TOTAL_CAP``, or at least past the page asked for);
    and the number of matches when ``listed`` told it.

    The other matches leave out the title tier by its ids when they are known or few
    (as they usually are): excluding it by the title condition instead would test
    that condition on, and read the text of, every other match.
    """
    first_ids: list[int] | None = None
    counted: int | None = None
    known: int | None = None
    if offset == 0:
        ids = _page(first, 0, limit)
        in_first = len(ids)
        if in_first < limit:
            first_ids = ids  # the whole tier
            counted = in_first
    else:
        # Exact unless the page lies within the tier (past the cap on a deep page).
        cap = max(TOTAL_CAP, offset + limit) + 1
        in_first = counted = _capped_count(first, cap)
        ids = _page(first, offset, limit) if offset < in_first else []
    if len(ids) < limit and offset == 0 and listed is not None:
        everything = listed()
        if everything is not None:
            tier = set(ids)
            ids += [i for i in everything if i not in tier][: limit - len(ids)]
            return ids, counted, len(everything)
        known = TOTAL_CAP + 1  # listing stopped at the cap
    if len(ids) < limit:
        if first_ids is None and in_first <= TOTAL_CAP:
            first_ids = _page(first, 0, in_first)
        rest = (
            others.exclude(pk__in=first_ids)
            if first_ids is not None
            else others.exclude(in_title)
        )
        ids += text_page(rest, max(0, offset - in_first), limit - len(ids))
    return ids, counted, known


__all__ = [
    "ORDERS",
    "RELEVANCE",
    "TOTAL_CAP",
    "ParsedQuery",
    "SearchResult",
    "filtered_tickets",
    "matching_tickets",
    "parse_query",
    "search_tickets",
]
