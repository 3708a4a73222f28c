"""Full text on PostgreSQL: a ``tsvector`` column of the ticket row with a GIN index.

``helpline_ticket.search_document`` (added by migration 0008_search; not a field of
the Django model, which never reads it) holds the words of the whole ticket.  Being on
the ticket row, a search is one bitmap scan of the ticket table that applies the
full-text match, the permission filter and the field filters together: no join, and
counting the matches (up to ``TOTAL_CAP``) stops early.  An unindexed ticket has NULL.

The document is built here, in Python, from the folded words of ``query.words`` and
handed to PostgreSQL as a ``tsvector`` literal; queries are ``tsquery`` literals built
from the same words.  So matching does not depend on the database's locale or on its
text-search parser (which would keep ``jane@example.net`` or ``info-en`` as one
token), and it behaves as the ``simple`` configuration does, language-neutral: German,
Polish, French or Japanese written with spaces are found by their own words, without
stemming or stop words.

Field terms (``title:word``) match extra lexemes stored at the same positions with a
field tag (``t:word``); the tag contains a colon, which no folded word does, so they
never collide with words of the text.  Between parts and articles the position jumps
by one, so a phrase never spans two of them.

A phrase is checked on the positions stored in each candidate's tsvector, which means
reading it (from TOAST): cheap for a page, which stops after 25 matches, but counting
the matches of a phrase of common words would read thousands.  ``capped_count``
therefore counts in two steps: the GIN index finds the visible, filtered tickets that
have all the words, and only those are checked for the phrase.

Common words (``models.CommonWord``, learnt from a sample of the tickets when the
index is rebuilt) make a phrase of them cheap to look up: every two adjacent common
words of a text are stored once more as one lexeme without positions
(``'p:free_licence'``), so the GIN index finds the tickets with the phrase (and a few
with the pair elsewhere) from that lexeme's posting list instead of intersecting the
two long lists of its words, whose length grows with the number of tickets.  For a
phrase of two common words the pair is the phrase (no positions read); a longer
phrase's pairs narrow the candidates and the positions decide.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from helpline.actions.access import reading_access
from helpline.models import CommonWord, StateType
from helpline.search.base import (
    SearchBackend,
    Sql,
    TicketDocument,
    access_indexed,
)
from helpline.search.query import TextTerm, words

FIELD_TAGS = {"title": "t:", "from": "f:", "to": "r:", "attachment": "a:"}
# The GIN indexes of the ticket table, and the size (kB) their pending lists may
# reach before an insert has to move them into the index: far more than a minute of
# writes adds, so the periodic ``flush_pending`` does it (migration 0020; measured in
# docs/search.md).  PostgreSQL's default is 4 MB.
GIN_INDEXES = (
    "helpline_ticket_search",
    "helpline_ticket_search_live",
    "helpline_ticket_search_open",
    "helpline_ticket_title_words",
)
GIN_PENDING_LIST_KB = 32 * 1024
GIN_WITH = f"WITH (fastupdate = on, gin_pending_list_limit = {GIN_PENDING_LIST_KB})"
# Two adjacent words of a title, as one lexeme of ``title_words``: ``p:free_licence``.
PAIR_TAG = "p:"
MAX_POSITION = 16383  # PostgreSQL's limit; larger positions are stored as this one
MAX_POSITIONS_PER_WORD = 255
MAX_WORD_BYTES = 200  # longer "words" are base64 or hashes: not worth indexing
# Estimated tsvector bytes per ticket, well under PostgreSQL's 1 MB limit; words past
# it are left out (a pasted log, a mail loop), the first ones are all in.
MAX_DOCUMENT_BYTES = 600_000
# A phrase count checks the positions of at most this many tickets that have all its
# words (each read from TOAST); past them the total is a lower bound.
PHRASE_CANDIDATES = 1_000
# Pairs of common words stored per ticket; a ticket with more distinct ones (a long
# text) gets OVERFLOW instead of the rest, and phrase lookups accept it as a
# candidate, so that no ticket with a phrase is missed.
MAX_COMMON_PAIRS = 4_000
# ... and at most this many bytes of them, so that a ticket's tsvector stays under
# PostgreSQL's 1 MB with MAX_DOCUMENT_BYTES of words (common words may be long
# runs of CJK characters).
MAX_COMMON_PAIR_BYTES = 200_000
OVERFLOW = PAIR_TAG + "overflow"  # no pair: a pair has an underscore
# Who may see a ticket, as lexemes without positions (``TicketDocument.queue_id``,
# ``group_id`` and ``agent_ids``): ``g:3`` for its queue's group, ``q:12`` for its
# queue, ``u:7`` for each agent whose own ticket it is.  A search ANDs its words with
# the agent's groups and queues (``PostgresFts.narrow_to``); the ``u:`` lexemes are
# no longer asked for, since being owner, responsible or watcher gives no access.
GROUP_TAG = "g:"
QUEUE_TAG = "q:"
AGENT_TAG = "u:"
# Learning the common words: a word is common when at least COMMON_SHARE of the
# sampled tickets have it; the MAX_COMMON_WORDS most frequent such words are kept.
# With fewer than MIN_SAMPLE tickets nothing is learnt (nothing is slow yet).
MIN_SAMPLE = 1_000
COMMON_SHARE = 0.02
MAX_COMMON_WORDS = 300
MAX_COMMON_WORD_CHARS = 30
# Serialises learning the common words (exclusive) with writing index entries
# (shared): an entry is built either with the old words, before the new ones are
# stored, or with the new ones; the rebuild that follows redoes the first kind.
COMMON_WORDS_LOCK = 0x48_6C_70_57  # "HlpW"


class _Builder:
    """Collects lexemes with their positions for one ticket's tsvector.

    This runs for every word of every ticket when the index is built, hence the
    plain loops.
    """

    def __init__(self, common: frozenset[str] = frozenset()) -> None:
        self.positions: dict[str, list[int]] = {}
        self.position = 1
        self.size = 0
        self.common = common
        self.common_pairs: set[str] = set()
        self.pair_bytes = 0
        self.overflow = False

    def add(self, text: str, tag: str | None, *, pairs: bool = False) -> None:
        """The words of ``text`` (also with ``tag`` in front, when given); with
        ``pairs``, each two adjacent words as one lexeme too (``PAIR_TAG``)."""
        tokens = words(text)
        if not tokens:
            return
        if max(map(len, tokens)) > MAX_WORD_BYTES // 4:
            tokens = [t for t in tokens if len(t.encode()) <= MAX_WORD_BYTES]
        first = self.position
        self.position += len(tokens) + 1  # +1: no phrase across parts
        marks = range(first, first + len(tokens))
        if self.position > MAX_POSITION:
            marks = [min(p, MAX_POSITION) for p in marks]  # type: ignore[assignment]
        self._put(tokens, marks)
        if tag is not None:
            self._put([tag + t for t in tokens], marks)
        if pairs and len(tokens) > 1:
            self._put(
                [PAIR_TAG + a + "_" + b for a, b in itertools.pairwise(tokens)],
                marks[:-1],
            )
        if self.common and len(tokens) > 1:
            self._put_common_pairs(tokens)

    def _put_common_pairs(self, tokens: list[str]) -> None:
        # Every adjacent pair of common words whose words are in the document, past
        # any limit of positions: a phrase found by its positions must have its
        # pair (or OVERFLOW), and a pair means both words are found.
        common, found, stored = self.common, self.common_pairs, self.positions
        for a, b in itertools.pairwise(tokens):
            if a in common and b in common and a in stored and b in stored:
                pair = PAIR_TAG + a + "_" + b
                if pair in found:
                    continue
                cost = len(pair.encode()) + 4  # and its entry in the tsvector
                if (
                    len(found) >= MAX_COMMON_PAIRS
                    or self.pair_bytes + cost > MAX_COMMON_PAIR_BYTES
                ):
                    self.overflow = True
                else:
                    found.add(pair)
                    self.pair_bytes += cost

    def _put(self, lexemes: list[str], marks: Sequence[int]) -> None:
        positions = self.positions
        size = self.size + 2 * len(lexemes)  # two bytes a position
        for lexeme, mark in zip(lexemes, marks, strict=True):
            known = positions.get(lexeme)
            if known is None:
                if size < MAX_DOCUMENT_BYTES:
                    positions[lexeme] = [mark]
                    size += len(lexeme.encode()) + 8
            elif len(known) < MAX_POSITIONS_PER_WORD:
                known.append(mark)
        self.size = size

    def literal(self, tags: Iterable[str] = ()) -> str:
        """The tsvector; ``tags``: lexemes without positions, besides the pairs."""
        # Words are letters and digits only, tags add a colon: nothing to escape.
        parts = [
            f"'{lexeme}':{','.join(map(str, marks))}"
            for lexeme, marks in self.positions.items()
        ]
        extra = set(tags) | self.common_pairs | ({OVERFLOW} if self.overflow else set())
        parts += [f"'{tag}'" for tag in sorted(extra - self.positions.keys())]
        return " ".join(parts)


def title_literal(title: str) -> str:
    """The ``title_words`` tsvector of a title: its words and its pairs of adjacent
    words, with their positions."""
    builder = _Builder()
    builder.add(title, None, pairs=True)
    return builder.literal()


def title_tsquery_term(term: TextTerm) -> str:
    """One term as a tsquery on ``title_words``: a phrase as its pairs of adjacent
    words, each a lexeme whose frequency the planner knows (a phrase's own words
    taken as independent would make it look a hundred times rarer than it is)."""
    tokens = term.tokens
    if len(tokens) == 1:
        return tsquery_term(replace(term, field=None))
    lexemes = [f"'{PAIR_TAG}{a}_{b}'" for a, b in itertools.pairwise(tokens)]
    if term.prefix:
        lexemes[-1] += ":*"
    return "(" + " <-> ".join(lexemes) + ")"


def tsvector_literal(doc: TicketDocument, common: frozenset[str] = frozenset()) -> str:
    """The ``search_document`` of a ticket; with the pairs of ``common`` words."""
    builder = _Builder(common)
    builder.add(doc.title, FIELD_TAGS["title"])
    for article in doc.articles:
        builder.add(article.subject, None)
        builder.add(article.sender, FIELD_TAGS["from"])
        builder.add(article.recipients, FIELD_TAGS["to"])
        for name in article.attachments:
            builder.add(name, FIELD_TAGS["attachment"])
        builder.add(article.body, None)
    return builder.literal(access_lexemes(doc))


def access_lexemes(doc: TicketDocument) -> list[str]:
    """Who may see the ticket (see ``GROUP_TAG``); none when not collected."""
    tags = [] if doc.queue_id is None else [f"{QUEUE_TAG}{doc.queue_id}"]
    if doc.group_id is not None:
        tags.append(f"{GROUP_TAG}{doc.group_id}")
    return tags + [f"{AGENT_TAG}{agent}" for agent in doc.agent_ids]


def tsquery_term(
    term: TextTerm,
    *,
    words_only: bool = False,
    common: frozenset[str] = frozenset(),
) -> str:
    """One term as tsquery: a word, or a phrase (``'a' <-> 'b'``).

    ``words_only``: a phrase as its words, in any order (``'a' & 'b'``): what the GIN
    index answers without reading each ticket's positions.  ``common``: the common
    words whose pairs every index entry has; a phrase's adjacent pairs of them are
    required too (``'p:a_b' | 'p:overflow'``), and replace those two words when
    ``words_only``: one short posting list instead of two long ones.
    """
    tag = FIELD_TAGS[term.field] if term.field else ""
    lexemes = [f"'{tag}{token}'" for token in term.tokens]
    if term.prefix:
        lexemes[-1] += ":*"
    if len(lexemes) == 1:
        return lexemes[0]
    pairs, covered = _common_pairs(term, common)
    if words_only:
        rest = [lexeme for i, lexeme in enumerate(lexemes) if i not in covered]
        return "(" + " & ".join(pairs + rest) + ")"
    phrase = "(" + " <-> ".join(lexemes) + ")"
    if _exact_by_pair(term, common):
        # The pair is the phrase: true without reading positions, except in a
        # document that ran out of pairs.
        a, b = term.tokens
        return f"('{PAIR_TAG}{a}_{b}' | ('{OVERFLOW}' & {phrase}))"
    return "(" + " & ".join([*pairs, phrase]) + ")"


def _exact_by_pair(term: TextTerm, common: frozenset[str]) -> bool:
    """Whether ``term`` is a phrase of two common words, anywhere in the text: then
    its pair alone says whether a document has it (a longer phrase's pairs may lie
    apart, a field phrase's pair may lie in another field, a prefix has no pair)."""
    return (
        len(term.tokens) == 2
        and term.field is None
        and not term.prefix
        and all(t in common for t in term.tokens)
    )


def exact_by_pairs(
    positive: Sequence[TextTerm],
    negative: Sequence[TextTerm],
    common: frozenset[str],
) -> bool:
    """Whether every phrase of the query is answered by its pair (no positions to
    read): positive phrases of two common words, and no negative phrase."""
    return not any(len(t.tokens) > 1 for t in negative) and all(
        _exact_by_pair(t, common) for t in positive if len(t.tokens) > 1
    )


def _common_pairs(term: TextTerm, common: frozenset[str]) -> tuple[list[str], set[int]]:
    """The pair lexemes of ``term``'s adjacent common words (each or-ed with
    OVERFLOW), and the positions of the words they cover."""
    tokens = term.tokens
    last = len(tokens) - 2 if term.prefix else len(tokens) - 1  # a prefix: no pair
    pairs: list[str] = []
    covered: set[int] = set()
    for i in range(last):
        a, b = tokens[i], tokens[i + 1]
        if a in common and b in common:
            pairs.append(f"('{PAIR_TAG}{a}_{b}' | '{OVERFLOW}')")
            covered.update((i, i + 1))
    return pairs, covered


def tsquery_literal(
    positive: Sequence[TextTerm],
    negative: Sequence[TextTerm],
    *,
    words_only: bool = False,
    common: frozenset[str] = frozenset(),
) -> str:
    """Every positive term and no negative one; without positive terms, any of the
    negative ones.  ``words_only``: phrases as their words (see ``tsquery_term``),
    and negative phrases left out (a ticket with all their words may still lack the
    phrase): a superset of the matches that the GIN index finds on its own.
    ``common``: see ``tsquery_term`` (positive phrases only)."""
    if not positive:
        return " | ".join(tsquery_term(t) for t in negative)
    parts = [tsquery_term(t, words_only=words_only, common=common) for t in positive]
    parts += [
        f"!{tsquery_term(t)}"
        for t in negative
        if not (words_only and len(t.tokens) > 1)
    ]
    return " & ".join(parts)


def _has_phrase(positive: Sequence[TextTerm], negative: Sequence[TextTerm]) -> bool:
    return any(len(t.tokens) > 1 for t in (*positive, *negative))


class PostgresFts(SearchBackend):
    vendor = "postgresql"
    ticket_columns = ("search_document", "title_words")
    learns_common_words = True

    indexes_access = True

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self._ready: dict[frozenset[str], frozenset[str]] = {}
        self._indexed: frozenset[str] | None = None
        self._access: str | None = None  # see narrow_to

    def narrow_to(self, agent: Any, positive: Sequence[TextTerm]) -> None:
        # Without it, every candidate (a word's or a pair's postings) that the agent
        # may not see is read from the table to be found invisible.  Not for words
        # that are all common (or prefixes): ANDing postings that long with the
        # access grew faster with the data than the rows it spared (measured,
        # docs/performance.md).  A search of exclusions only has nothing to narrow.
        self._access = None
        if not any(len(t.tokens) > 1 for t in positive):
            words = frozenset(t.tokens[0] for t in positive if not t.prefix)
            if not words - self._ready_common(words):
                return
        if not access_indexed(self.connection):
            return  # not every entry has the lexemes yet
        access = reading_access(agent)
        if access.everything:
            return  # nothing to narrow
        # Only the readable queues: owning or watching a ticket elsewhere gives
        # no access (docs/permissions.md).  No queue has the id 0: an agent who
        # may read nothing looks up nothing.
        self._access = (
            " | ".join(
                [f"'{GROUP_TAG}{g}'" for g in access.group_ids]
                + [f"'{QUEUE_TAG}{q}'" for q in access.moved_queue_ids]
            )
            or f"'{QUEUE_TAG}0'"
        )

    def _narrowed(self, query: str) -> str:
        """``query`` (with positive terms) and the access of ``narrow_to``."""
        return query if self._access is None else f"({query}) & ({self._access})"

    # The SQL is constant text; the query is always a parameter.
    def condition(
        self, positive: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> Sql:
        query = tsquery_literal(positive, negative, common=self._common(positive))
        if positive:
            return Sql(
                '"helpline_ticket"."search_document" @@ %s::tsquery',
                (self._narrowed(query),),
            )
        return Sql(
            'NOT coalesce("helpline_ticket"."search_document" @@ %s::tsquery, false)',
            (query,),
        )

    def capped_count(
        self,
        tickets: QuerySet[Any],
        positive: Sequence[TextTerm],
        negative: Sequence[TextTerm],
        cap: int,
    ) -> tuple[int, bool]:
        common = self._positions_needed(positive, negative)
        if common is None:
            return super().capped_count(tickets, positive, negative, cap)
        # Step 1 (the index): visible, filtered tickets with all the words, at most
        # PHRASE_CANDIDATES of them.  Step 2: their positions, read from TOAST, the
        # costly part.  Beyond that many candidates the count is a lower bound: a
        # phrase of two common words has tens of thousands at a million tickets.
        candidates = (
            tickets.filter(self._words_only(positive, negative, common).condition())
            .order_by()
            .annotate(document=RawSQL('"helpline_ticket"."search_document"', ()))
            .values("pk", "document")
        )
        try:
            sql, params = candidates[:PHRASE_CANDIDATES].query.sql_with_params()
        except EmptyResultSet:  # a filter that nothing can pass (queue:nope)
            return 0, False
        with self.connection.cursor() as cursor:
            # ``sql`` is Django's compiled query, its values are in ``params``.  Its
            # LIMIT keeps PostgreSQL from merging the steps, which would read the
            # positions of every ticket with the words before filtering them.
            cursor.execute(
                "SELECT count(*), count(*) FILTER ("  # noqa: S608
                "WHERE candidates.document @@ %s::tsquery) FROM ("
                + sql
                + ") AS candidates",
                [tsquery_literal(positive, negative, common=common), *params],
            )
            seen, found = cursor.fetchone()
        found = min(int(found), cap)
        return found, found >= cap or seen >= PHRASE_CANDIDATES

    def page(
        self,
        tickets: QuerySet[Any],
        positive: Sequence[TextTerm],
        negative: Sequence[TextTerm],
        offset: int,
        limit: int,
    ) -> list[int]:
        common = self._positions_needed(positive, negative)
        if common is None:
            return super().page(tickets, positive, negative, offset, limit)
        # Sorted by the words alone (the GIN index; no positions read), then the
        # phrase checked in that order until the page is full: the positions of a
        # page's worth of tickets are read, not those of every ticket with the words.
        candidates = (
            tickets.filter(self._words_only(positive, negative, common).condition())
            .annotate(
                found_id=F("pk"),
                document=RawSQL('"helpline_ticket"."search_document"', ()),
            )
            .values("found_id", "document")
        )
        try:
            sql, params = candidates.query.sql_with_params()
        except EmptyResultSet:  # a filter that nothing can pass (queue:nope)
            return []
        with self.connection.cursor() as cursor:
            # ``sql`` is Django's compiled query, its values are in ``params``;
            # OFFSET 0 keeps it a step of its own, whose order the filter keeps.
            cursor.execute(
                "SELECT candidates.found_id FROM ("  # noqa: S608
                + sql
                + " OFFSET 0) AS candidates WHERE candidates.document @@ %s::tsquery "
                "LIMIT %s OFFSET %s",
                [
                    *params,
                    tsquery_literal(positive, negative, common=common),
                    limit,
                    offset,
                ],
            )
            return [row[0] for row in cursor.fetchall()]

    def lists_cheaply(
        self, positive: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> bool:
        if not _has_phrase(positive, negative):
            return True
        # Only exclusions (-"a b"): listing would test every ticket's positions.
        return bool(positive) and self._positions_needed(positive, negative) is None

    def _positions_needed(
        self, positive: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> frozenset[str] | None:
        """The ready common words of the query's phrases when matching it reads
        positions (a positive phrase not answered by its pair alone); None when
        the GIN index answers it alone, as the base class's page and count do."""
        if not (positive and _has_phrase(positive, negative)):
            return None
        common = self._common(positive)
        return None if exact_by_pairs(positive, negative, common) else common

    def _words_only(
        self,
        positive: Sequence[TextTerm],
        negative: Sequence[TextTerm],
        common: frozenset[str],
    ) -> Sql:
        """Every word of the terms, phrases as words or common pairs (what GIN alone
        answers)."""
        query = tsquery_literal(positive, negative, words_only=True, common=common)
        return Sql(
            '"helpline_ticket"."search_document" @@ %s::tsquery',
            (self._narrowed(query),),
        )

    # --- common words -------------------------------------------------------------
    def _common(self, positive: Sequence[TextTerm]) -> frozenset[str]:
        """The words of ``positive``'s phrases that are common and ready (whose
        pairs every index entry has): one query per search with a phrase."""
        return self._ready_common(
            frozenset(
                t for term in positive if len(term.tokens) > 1 for t in term.tokens
            )
        )

    def _ready_common(self, tokens: frozenset[str]) -> frozenset[str]:
        """Those of ``tokens`` that are common words, ready: one query for a set."""
        if not tokens:
            return frozenset()
        known = self._ready.get(tokens)
        if known is None:
            known = self._ready[tokens] = frozenset(
                CommonWord.objects.using(self.connection.alias)
                .filter(ready=True, word__in=tokens)
                .values_list("word", flat=True)
            )
        return known

    def _indexed_common(self) -> frozenset[str]:
        """The common words whose pairs new index entries get (ready or not)."""
        if self._indexed is None:
            self._indexed = frozenset(
                CommonWord.objects.using(self.connection.alias).values_list(
                    "word", flat=True
                )
            )
        return self._indexed

    def learn_common_words(self, docs: Sequence[TicketDocument]) -> list[str]:
        counts: Counter[str] = Counter()
        for doc in docs:
            seen = set(words(doc.title))
            for article in doc.articles:
                for text in (
                    article.subject,
                    article.sender,
                    article.recipients,
                    article.body,
                    *article.attachments,
                ):
                    seen.update(words(text))
            counts.update(seen)
        chosen: list[CommonWord] = []
        if len(docs) >= MIN_SAMPLE:
            for word, count in counts.most_common():
                share = count / len(docs)
                if share < COMMON_SHARE or len(chosen) >= MAX_COMMON_WORDS:
                    break
                if len(word) <= MAX_COMMON_WORD_CHARS:
                    chosen.append(CommonWord(word=word, share=share, ready=False))
        alias = self.connection.alias
        with transaction.atomic(using=alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMMON_WORDS_LOCK])
            CommonWord.objects.using(alias).all().delete()
            CommonWord.objects.using(alias).bulk_create(chosen)
        self._ready.clear()
        self._indexed = None
        return [w.word for w in chosen]

    def common_words_ready(self, learnt: Sequence[str]) -> None:
        # Only the words this rebuild learnt: another reindex may have learnt other
        # words meanwhile, which the entries this one wrote before then lack.  A
        # word both learnt is in every entry (each was written with one set or
        # the other).
        alias = self.connection.alias
        with transaction.atomic(using=alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMMON_WORDS_LOCK])
            CommonWord.objects.using(alias).filter(word__in=list(learnt)).update(
                ready=True
            )
        self._ready.clear()

    def order_for_words(self, ordering: Sequence[str]) -> Sequence[Any]:
        # Given an index in the order asked for, PostgreSQL may walk it and test each
        # ticket for the words, reading every tsvector from TOAST: 0.2-0.3 s for a
        # word it wrongly expects early in that order.  Sorting by the same value
        # through COALESCE (which no index delivers) makes it ask the GIN index for
        # the matches and sort them, a cost bounded by the number of matches.
        first, *others = ordering
        name = first.removeprefix("-")
        same = Coalesce(F(name), F(name))
        return (same.desc() if first.startswith("-") else same.asc(), *others)

    def title_condition(
        self, in_title: Sequence[TextTerm], negative: Sequence[TextTerm]
    ) -> Sql | None:
        # ``title_words`` is a few dozen bytes kept in the row (not in TOAST): cheap
        # to test while walking the date index, and the planner knows from its
        # statistics how many titles have a word.  So the title tier of a common
        # word is read newest first until a page is full, not fetched whole and
        # sorted, and a rare word's comes from its own GIN index.
        if not in_title or any(t.field != "title" for t in in_title):
            return None
        words = " & ".join(title_tsquery_term(t) for t in in_title)
        if not negative:
            return Sql('"helpline_ticket"."title_words" @@ %s::tsquery', (words,))
        return Sql(
            '"helpline_ticket"."title_words" @@ %s::tsquery AND NOT coalesce('
            '"helpline_ticket"."search_document" @@ %s::tsquery, false)',
            (words, tsquery_literal((), negative)),
        )

    def planner_cost(self) -> float:
        """The cost the planner assumes for ``@@`` on a row (see migration 0008)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT procost FROM pg_proc "
                "WHERE oid = 'pg_catalog.ts_match_vq(tsvector, tsquery)'::regprocedure"
            )
            return float(cursor.fetchone()[0])

    def column_values(self, doc: TicketDocument) -> dict[str, object]:
        return {
            "search_document": tsvector_literal(doc, self._indexed_common()),
            "title_words": title_literal(doc.title),
        }

    def replace(
        self, ticket_ids: Sequence[int], docs: Sequence[TicketDocument]
    ) -> None:
        # A deleted ticket took its entry with it; the others are overwritten.
        if not docs:
            return
        entries = self.entries(docs)
        with self.connection.cursor() as cursor:
            # Only the rows whose entry changed are written: a lock, a state or a
            # move changes nothing searchable, and writing the same document again
            # would make a new row version with entries in every GIN index.
            cursor.execute(
                "UPDATE helpline_ticket AS t SET search_document = v.doc::tsvector, "
                "title_words = v.title::tsvector "
                "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, doc, title) "
                "WHERE t.id = v.id AND (t.search_document IS DISTINCT FROM "
                "v.doc::tsvector OR t.title_words IS DISTINCT FROM v.title::tsvector)",
                [
                    [d.ticket_id for d in docs],
                    [document for document, _ in entries],
                    [title for _, title in entries],
                ],
            )

    def entries(self, docs: Sequence[TicketDocument]) -> list[tuple[str, str]]:
        """Each ticket's ``search_document`` and ``title_words`` (tsvector literals),
        built with the common words as stored, under the shared COMMON_WORDS_LOCK
        (held to the end of the transaction, in which they must be written)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s)", [COMMON_WORDS_LOCK]
            )
        self._indexed = None  # read within the lock
        common = self._indexed_common()
        return [(tsvector_literal(d, common), title_literal(d.title)) for d in docs]

    def flush_pending(self) -> int:
        # Every new ticket row version (any UPDATE of a ticket: an indexed column
        # such as ``changed`` changes, so none is HOT) adds its whole document to the
        # pending list of each GIN index; whoever finds the list over its limit moves
        # it into the index, which took up to a second, in an agent's request and
        # holding the ticket's row lock.  With GIN_PENDING_LIST_KB (migration 0020)
        # a minute's writes stay under the limit, and this, run every minute by the
        # worker, moves them instead (an insert meanwhile does not wait for it).
        moved = 0
        with self.connection.cursor() as cursor:
            for index in GIN_INDEXES:
                cursor.execute(
                    "SELECT gin_clean_pending_list(c.oid) FROM pg_class c "
                    "WHERE c.relname = %s AND c.relkind = 'i'",
                    [index],
                )
                row = cursor.fetchone()
                moved += int(row[0]) if row else 0
        return moved

    def hold_access(self, ticket_ids: Sequence[int]) -> None:
        # The queues' rows FOR SHARE: a change of a queue's group (an UPDATE of its
        # row) waits for these entries to be written, and the rebuild it queues
        # then finds them; or it went first and they are built with the new group.
        # Without it, an entry built with the old group could land after that
        # rebuild, and the ticket be missed by narrowed searches.
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM helpline_queue WHERE id IN (SELECT queue_id FROM "
                "helpline_ticket WHERE id = ANY(%s)) FOR SHARE",
                [list(ticket_ids)],
            )

    def clear(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE helpline_ticket SET search_document = NULL, title_words = NULL "
                "WHERE search_document IS NOT NULL OR title_words IS NOT NULL"
            )

    def indexed_count(self) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM helpline_ticket WHERE search_document IS NOT NULL"
            )
            return int(cursor.fetchone()[0])

    def drop_orphans(self) -> int:
        return 0  # an entry goes with its ticket row

    def purge_removed(self) -> None:
        # The entry is a column of the ticket row: a deleted or rewritten row's
        # old version is gone from every query at once, and from the files when
        # (auto)vacuum reclaims it (docs/data-protection.md).
        return None

    def begin_bulk(self) -> None:
        # Filling the column and then building the GIN index is far faster than
        # updating the index row by row.  Not inside a transaction (a migration, a
        # test): PostgreSQL refuses to build an index on a table with pending
        # deferred checks, and the index would be missing until the commit.
        if not self.connection.in_atomic_block:
            self._execute(
                [
                    "DROP INDEX IF EXISTS helpline_ticket_search",
                    "DROP INDEX IF EXISTS helpline_ticket_search_live",
                    "DROP INDEX IF EXISTS helpline_ticket_search_open",
                    "DROP INDEX IF EXISTS helpline_ticket_title_words",
                ]
            )

    def end_bulk(self) -> None:
        if not self.connection.in_atomic_block:
            self._execute(
                [
                    # GIN builds much faster when its work area fits in memory.
                    "SET maintenance_work_mem = '512MB'",
                    "CREATE INDEX IF NOT EXISTS helpline_ticket_search "
                    f"ON helpline_ticket USING gin (search_document) {GIN_WITH}",
                    # The tickets most searches look at (migration 0012).
                    "CREATE INDEX IF NOT EXISTS helpline_ticket_search_live "
                    f"ON helpline_ticket USING gin (search_document) {GIN_WITH} "
                    "WHERE NOT COALESCE(archived, false)",
                    # The open ones (migration 0015).
                    "CREATE INDEX IF NOT EXISTS helpline_ticket_search_open "
                    f"ON helpline_ticket USING gin (search_document) {GIN_WITH} "
                    "WHERE state_type IN ("
                    + ", ".join(f"'{t}'" for t in StateType.open_types())
                    + ") AND NOT COALESCE(archived, false)",
                    "CREATE INDEX IF NOT EXISTS helpline_ticket_title_words "
                    f"ON helpline_ticket USING gin (title_words) {GIN_WITH}",
                    "RESET maintenance_work_mem",
                ]
            )
        self._execute(["ANALYZE helpline_ticket"])

    def _execute(self, statements: Iterable[str]) -> None:
        with self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
