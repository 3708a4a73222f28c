"""Znuny's ticket history (``ticket_history``, its type joined BY NAME) as Helpline
history entries.

Each Znuny type maps to the Helpline event it records; a type Helpline has no event
for (ServiceUpdate, TimeAccounting, SendAgentNotification, ...) is kept as
``HistoryType.IMPORTED``.  Every entry keeps Znuny's type name (``znuny``) and, unless
it names other tickets, Znuny's own text (``name``, e.g. ``%%new%%open%%``); entries
that name another ticket (merges, links) keep its number under the key the history
view withholds from agents who may not see that ticket.

Progress is recorded per ticket (the ``ticket`` mapping's ``cursor["history"]``: the
highest history id imported), in the transaction that writes the entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from helpline.importers.znuny.source import Source
from helpline.models import HistoryType

# A time Znuny could not tell (0000-00-00): the epoch, never "now".
NO_TIME = datetime.fromtimestamp(0, UTC)

TYPES: dict[str, HistoryType] = {
    "NewTicket": HistoryType.CREATED,
    "EmailCustomer": HistoryType.ARTICLE,
    "PhoneCallCustomer": HistoryType.ARTICLE,
    "PhoneCallAgent": HistoryType.ARTICLE,
    "WebRequestCustomer": HistoryType.ARTICLE,
    "AddNote": HistoryType.ARTICLE,
    "EmailAgent": HistoryType.EMAIL_SENT,
    "SendAnswer": HistoryType.EMAIL_SENT,
    "Forward": HistoryType.EMAIL_SENT,
    "Bounce": HistoryType.EMAIL_SENT,
    "SendCustomerNotification": HistoryType.EMAIL_SENT,
    "FollowUp": HistoryType.FOLLOW_UP,
    "SendAutoReply": HistoryType.AUTO_RESPONSE,
    "SendAutoFollowUp": HistoryType.AUTO_RESPONSE,
    "SendAutoReject": HistoryType.AUTO_RESPONSE,
    "Move": HistoryType.MOVED,
    "Lock": HistoryType.LOCKED,
    "Unlock": HistoryType.UNLOCKED,
    "OwnerUpdate": HistoryType.OWNER,
    "ResponsibleUpdate": HistoryType.RESPONSIBLE,
    "PriorityUpdate": HistoryType.PRIORITY,
    "StateUpdate": HistoryType.STATE,
    "SetPendingTime": HistoryType.PENDING_TIME,
    "TitleUpdate": HistoryType.TITLE,
    "CustomerUpdate": HistoryType.CUSTOMER,
    "Merged": HistoryType.MERGED,
    "TicketLinkAdd": HistoryType.LINK_ADDED,
    "TicketLinkDelete": HistoryType.LINK_REMOVED,
    "Subscribe": HistoryType.WATCH,
    "Unsubscribe": HistoryType.UNWATCH,
}

HISTORY_SQL = """
SELECT h.id, h.name, ht.name AS type, h.ticket_id, h.article_id, h.create_time,
       h.create_by
FROM ticket_history h
JOIN ticket_history_type ht ON ht.id = h.history_type_id
WHERE h.ticket_id IN ({})
ORDER BY h.id
"""


def read_history(source: Source, ticket_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every history row of these tickets, by id (``unimported`` picks the new ones)."""
    if not ticket_ids:
        return []
    sql = HISTORY_SQL.format(", ".join(["%s"] * len(ticket_ids)))
    return list(source.rows(sql, ticket_ids))


def unimported(
    rows: Sequence[dict[str, Any]],
    after: Callable[[int], int],
    held: dict[int, int],
) -> list[dict[str, Any]]:
    """The rows (a batch's tickets' whole history, by id) not imported yet: those
    past their ticket's cursor (``after``), less those a merge brought along.

    Znuny's ``TicketMerge`` moves the merged ticket's articles to the main ticket with
    every history row that names one of them, ids unchanged: such a row may lie past
    the main ticket's cursor though it was imported under the merged ticket (the
    batch has moved that entry along with its article by now).  ``held``: for each
    article imported before this batch that a row past its cursor names, how many
    imported entries Helpline holds for it.  The rows at or below the cursor account
    for some of them; the others are the ones imported under the ticket the article
    came from, which imported its rows in id order: the lowest ids past the cursor.
    """
    below: dict[int, int] = {}
    for row in rows:
        article = int(row["article_id"] or 0)
        if article in held and int(row["id"]) <= after(int(row["ticket_id"])):
            below[article] = below.get(article, 0) + 1
    skip = {article: count - below.get(article, 0) for article, count in held.items()}
    new = []
    for row in sorted(rows, key=lambda r: int(r["id"])):
        if int(row["id"]) <= after(int(row["ticket_id"])):
            continue
        article = int(row["article_id"] or 0)
        if skip.get(article, 0) > 0:
            skip[article] -= 1
            continue
        new.append(row)
    return new


def _fields(name: str) -> list[str]:
    return [part for part in name.split("%%") if part != ""]


def entry_data(type_name: str, name: str) -> tuple[HistoryType, dict[str, Any]]:
    """The Helpline type and data of one Znuny history row."""
    kind = TYPES.get(type_name, HistoryType.IMPORTED)
    parts = _fields(name)
    if type_name == "ArchiveFlagUpdate":
        kind = HistoryType.ARCHIVED if parts[:1] == ["y"] else HistoryType.UNARCHIVED
    if kind == HistoryType.MERGED and len(parts) >= 4:
        # %%MergedTN%%MergedID%%MainTN%%MainID
        return kind, {"znuny": type_name, "source": parts[0], "into": parts[2]}
    if kind in (HistoryType.LINK_ADDED, HistoryType.LINK_REMOVED) and parts:
        # %%OtherTN%%OtherID%%ThisID
        return kind, {"znuny": type_name, "other": parts[0]}
    return kind, {"znuny": type_name, "name": name}


# A history entry's ticket_id, type, actor_id, created, article_id and data.
EntryRow = tuple[int, HistoryType, int | None, datetime, int | None, dict[str, Any]]


def history_rows(
    source: Source,
    rows: Sequence[dict[str, Any]],
    *,
    ticket_of: Callable[[int], int | None],
    article_of: Callable[[int], int | None],
    agent_of: Callable[[int], int | None],
    problem: Callable[[str, object, str], None] = lambda _kind, _key, _reason: None,
) -> list[EntryRow]:
    """Unsaved entries for these rows (rows of tickets not imported are left out), as
    ``EntryRow`` tuples (``tickets_copy.insert_history`` writes them)."""
    entries = []
    for row in rows:
        ticket_id = ticket_of(int(row["ticket_id"]))
        if ticket_id is None:
            continue
        kind, data = entry_data(str(row["type"]), source.text(row["name"]))
        article_id = row["article_id"]
        try:
            created = source.when(row["create_time"]) or NO_TIME
        except ValueError:
            problem("history", row["id"], "unreadable time: left out")
            created = NO_TIME
        entries.append(
            (
                ticket_id,
                kind,
                agent_of(int(row["create_by"])),
                created,
                article_of(int(article_id)) if article_id else None,
                data,
            )
        )
    return entries
