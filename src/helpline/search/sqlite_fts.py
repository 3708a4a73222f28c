"""Full text on SQLite: an FTS5 table with one row per ticket (rowid = ticket id).

A search matches ``helpline_ticket.id IN (SELECT rowid ... MATCH ...)`` in the query
that also filters and orders the tickets.

Columns: title, subject, body, sender, recipients (To and Cc), attachments (file
names), each the text of all the ticket's articles.  One row per ticket makes "every
word must match" a plain FTS5 AND even when the words are in different articles, and a
field term (``title:word``) an FTS5 column filter.  The tokenizer is
``unicode61 remove_diacritics 2``: case and Latin diacritics are folded on both sides.

The table keeps its own copy of the text (not contentless: deleting a row of a
contentless table needs the old text, which a merge has already moved elsewhere).
The query text handed to MATCH is built from the folded words of ``query.words``,
each phrase double-quoted, so nothing the user types is read as FTS5 syntax.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from helpline.search.base import SearchBackend, Sql, TicketDocument
from helpline.search.query import TextTerm

# Between the texts of two articles: a private-use character, which FTS5 takes as a
# word (so a phrase cannot span two articles) and ``query.words`` never produces (so no
# search can match it).
SEPARATOR = "\n\ue000\n"
FIELD_COLUMNS = {
    "title": "title",
    "from": "sender",
    "to": "recipients",
    "attachment": "attachments",
}


def fts_term(term: TextTerm) -> str:
    """One term in FTS5 syntax: ``{column} : "tok tok"*``."""
    phrase = '"' + " ".join(term.tokens) + '"' + ("*" if term.prefix else "")
    if term.field is None:
        return phrase
    return "{" + FIELD_COLUMNS[term.field] + "} : " + phrase


def fts_expression(positive: Sequence[TextTerm], negative: Sequence[TextTerm]) -> str:
    """The MATCH text: all positive terms, none of the negative ones."""
    excluded = " OR ".join(f"({fts_term(t)})" for t in negative)
    if not positive:
        return excluded
    included = " AND ".join(f"({fts_term(t)})" for t in positive)
    return f"({included}) NOT ({excluded})" if excluded else included


class SqliteFts(SearchBackend):
    vendor = "sqlite"

    # The SQL is constant text; the query text is always a parameter.
    def condition(
        self, positive: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> Sql:
        matches = (
            '"helpline_ticket"."id" IN (SELECT rowid FROM helpline_search_fts '
            "WHERE helpline_search_fts MATCH %s)"
        )
        return Sql(
            matches if positive else "NOT " + matches,
            (fts_expression(positive, negative),),
        )

    def replace(
        self, ticket_ids: Sequence[int], docs: Sequence[TicketDocument]
    ) -> None:
        rows = [
            (
                doc.ticket_id,
                doc.title,
                doc.joined("subject", SEPARATOR),
                doc.joined("body", SEPARATOR),
                doc.joined("sender", SEPARATOR),
                doc.joined("recipients", SEPARATOR),
                doc.joined("attachments", SEPARATOR),
            )
            for doc in docs
        ]
        with self.connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM helpline_search_fts WHERE rowid IN "
                "(SELECT value FROM json_each(%s))",
                [json.dumps(list(ticket_ids))],
            )
            cursor.executemany(
                "INSERT INTO helpline_search_fts (rowid, title, subject, body, sender, "
                "recipients, attachments) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                rows,
            )

    def clear(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("DELETE FROM helpline_search_fts")

    def indexed_count(self) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM helpline_search_fts")
            return int(cursor.fetchone()[0])

    def drop_orphans(self) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM helpline_search_fts WHERE rowid NOT IN "
                "(SELECT id FROM helpline_ticket)"
            )
            return int(cursor.rowcount or 0)

    def end_bulk(self) -> None:
        # Merge the b-tree segments written batch by batch into one.
        self._optimize()

    def purge_removed(self) -> None:
        # FTS5 records a delete as a tombstone in a new segment: the old segments,
        # with the deleted words, stay until a merge.  'optimize' merges every
        # segment into one, which drops them.
        self._optimize()

    def _optimize(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO helpline_search_fts (helpline_search_fts) "
                "VALUES ('optimize')"
            )
