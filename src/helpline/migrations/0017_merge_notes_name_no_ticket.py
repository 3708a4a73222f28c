"""Merge notes written before this release named both tickets ("Merged ticket A to
B."); every reader of A read B's number, even one who may not see B.  They now say
what a merge writes today; which ticket it went into stays in the history and in
``merged_into``, shown only to agents who may see it.  Run ``helpline search
reindex`` afterwards so the search index forgets the old words too."""

import re

from django.db import migrations

OLD_NOTE = re.compile(r"Merged ticket \S+ to \S+\.")
# actions.merge.MERGE_NOTE as of this migration (a migration never imports the app).
NOTE = "This ticket was merged into another ticket; its history says which."


def rewrite(article_model, using):
    """Rewrite the old merge notes; the number of notes rewritten."""
    candidates = article_model.objects.using(using).filter(
        channel="internal",
        subject="Merged",
        body_text__startswith="Merged ticket ",
        body_html="",
    )
    ids = [
        pk
        for pk, body in candidates.values_list("pk", "body_text")
        if OLD_NOTE.fullmatch(body)
    ]
    return article_model.objects.using(using).filter(pk__in=ids).update(body_text=NOTE)


def forward(apps, schema_editor):
    rewrite(apps.get_model("helpline", "Article"), schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("helpline", "0016_index_state")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
