"""What the full-text index learns from the data."""

from __future__ import annotations

from django.db import models


class CommonWord(models.Model):
    """A word found in many tickets, learnt by ``helpline search reindex``.

    On PostgreSQL, two adjacent common words of a text are indexed once more as one
    lexeme (``p:free_licence``, without positions): a phrase of such words is then
    looked up by that lexeme's posting list, a small fraction of its words' long
    ones, before its positions are checked.  ``ready``: every index entry has been
    built since the word was learnt, so that searches may rely on its pairs; a
    rebuild that did not finish leaves it False and phrases are found as before.
    """

    word = models.CharField(max_length=64, primary_key=True)
    # Share of the sampled tickets whose text has the word (0-1).
    share = models.FloatField()
    ready = models.BooleanField(default=False)

    class Meta:
        ordering = ("-share", "word")

    def __str__(self) -> str:
        return self.word


class IndexState(models.Model):
    """The full-text index as a whole: one row (``pk`` 1, made by its migration).

    ``complete_format``: every index entry has been built in this format of entries
    or a later one (``search.base.ENTRY_FORMAT``), so that searches may rely on what
    that format adds.  New entries are always built in the current format; a
    rebuild of every entry (``helpline search reindex``) raises it when it ends.
    Format 2 added who may see each ticket (PostgreSQL: ``g:``, ``q:`` and ``u:``
    lexemes).
    """

    complete_format = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return f"index entries in format {self.complete_format} or later"
