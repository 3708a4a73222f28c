"""What one batch of the tickets phase costs must not grow with what was imported
before it: the same number of queries, and the mapping looked up by the batch's own
keys (never a whole kind, which at a million tickets is tens of millions of rows)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpline.importers.znuny import org, runner, tickets
from helpline.importers.znuny.report import Progress, Report
from helpline.importers.znuny.source import Source
from helpline.importers.znuny.state import Mapping
from helpline.models import Article, ImportedObject, TicketState

pytestmark = pytest.mark.django_db

SIZE = 20
MAPPING_READ = re.compile(r'FROM "helpline_imported_object"', re.IGNORECASE)
KIND = re.compile(r'"kind"\) = \'?(\w+)|"kind" = \'?(\w+)')


def one_batch(source: Source, ids: list[int]) -> list[str]:
    """The SQL of one batch run as a new run would (its own, empty mapping)."""
    ctx = runner.Context(
        source=source,
        mapping=Mapping(source.name),
        report=Report(),
        progress=Progress(enabled=False),
    )
    states = dict(TicketState.objects.values_list("pk", "type"))
    with CaptureQueriesContext(connection) as queries:
        tickets.Batch(ctx, states).run(ids)
    # What the mapping holds is the batch's own keys, not every ticket imported.
    assert ctx.mapping.cached("ticket") <= len(ids)
    return [q["sql"] for q in queries.captured_queries]


def test_a_batch_costs_the_same_after_many_tickets_were_imported(znuny_db):
    source = Source(znuny_db.url, article_dir=znuny_db.article_dir)
    try:
        runner.run(source, only=[name for name, _ in org.PHASES])
        ids = sorted(int(r["id"]) for r in source.rows("SELECT id FROM ticket"))
        assert len(ids) > 10 * SIZE
        first = one_batch(source, ids[:SIZE])
        middle = ids[SIZE:-SIZE]
        for start in range(0, len(middle), 100):
            one_batch(source, middle[start : start + 100])
        last = one_batch(source, ids[-SIZE:])
    finally:
        source.close()
    imported = ImportedObject.objects.filter(kind="article").count()
    assert imported == Article.objects.count() > 10 * SIZE
    # The same statements, give or take those that depend on the batch's content
    # (customers made from a sender's address, a chunk more of attachments).
    assert len(last) <= len(first) + 3, (len(first), len(last))
    # Every mapping read of the kinds that grow names the keys it wants.
    reads = [
        sql
        for sql in first + last
        if MAPPING_READ.search(sql) and sql.lstrip().upper().startswith("SELECT")
    ]
    kinds = {
        next(k for k in m.groups() if k) for sql in reads if (m := KIND.search(sql))
    }
    assert {"ticket", "article"} <= kinds, kinds
    for sql in reads:
        m = KIND.search(sql)
        if m and next(k for k in m.groups() if k) in tickets.BATCH_KINDS:
            assert '"source_id" IN' in sql, sql[:300]
