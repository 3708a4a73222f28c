"""Full text on SQLite: an FTS5 table with one row per ticket (rowid = ticket id).

A search matches ``helpline_ticket.id IN (SELECT rowid ... MATCH ...)`` in the query
that also filters and orders the tickets.

Columns: title, subject, body, sender, recipients (To and Cc), attachments (file
names), each the text of all the ticket's articles.  One row per ticket makes "every
word must match" a plain FTS5 AND even when the words are in different articles, and a
field term (``title:word``) an FTS5 column filter.  The tokenizer is
``unicode61 remove_diacritics 2``: case and Latin diacritics are folded on both sides.
Runs of Chinese, Japanese, Korean and Thai, which it would keep as one token each,
are written as their pairs of characters separated by spaces (``scripts``), the
tokens ``query.words`` makes of them.

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
from helpline.search.scripts import index_text

# Between the texts of two articles: a private-use character, which FTS5 takes as a
# word (so a phrase cannot span two articles) and ``query.words`` never produces (so no
# search can match it).
SEPARATOR = "\n\ue000\n"
# Pages (4 KiB) one step of ``purge_removed`` merges: ~0.1 s, and at most ~20 GB of
# index in all.
MERGE_PAGES = 500
MAX_MERGE_STEPS = 10_000
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
        # Chinese, Japanese, Korean and Thai go in as their pairs of characters
        # (``scripts.index_text``); unicode61 splits the rest itself.
        rows = [
            (
                doc.ticket_id,
                index_text(doc.title),
                index_text(doc.joined("subject", SEPARATOR)),
                index_text(doc.joined("body", SEPARATOR)),
                index_text(doc.joined("sender", SEPARATOR)),
                index_text(doc.joined("recipients", SEPARATOR)),
                index_text(doc.joined("attachments", SEPARATOR)),
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
        # FTS5 deletes an entry by adding delete markers to a new segment: the old
        # segments keep its words (readable in a dump) until a merge of every
        # segment drops them, which rewrites the whole index (4-5 s at 100,000
        # tickets: bench/redaction.py).  'optimize' would hold the database's one
        # write lock that long; 'merge' with a negative count does the same merge
        # MERGE_PAGES pages at a time, each step a statement of its own, so that
        # other writers get their turn in between.  A step that changed nothing
        # (fewer than two rows) means it is done; with nothing to merge it costs
        # nothing.
        self.connection.ensure_connection()
        raw = self.connection.connection
        with self.connection.cursor() as cursor:
            for _ in range(MAX_MERGE_STEPS):
                before = raw.total_changes
                cursor.execute(
                    "INSERT INTO helpline_search_fts (helpline_search_fts, rank) "
                    "VALUES ('merge', %s)",
                    [-MERGE_PAGES],
                )
                if raw.total_changes - before < 2:
                    return

    def _optimize(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO helpline_search_fts (helpline_search_fts) "
                "VALUES ('optimize')"
            )
