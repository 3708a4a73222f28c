"""Finding tickets: words, phrases, prefixes, exclusions, field filters, order, pages.

Every test runs on the suite's database: SQLite (FTS5) in ``make test``, PostgreSQL
(tsvector) in the second leg of CI.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import helpline.search
from helpline.actions import admin, locks, merge, tickets
from helpline.errors import InvalidInput
from helpline.models import Ticket
from helpline.search import search_tickets
from tests.search import committed, email_from, numbers, reader_of, search_index
from tests.support import make_agent, make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


@pytest.fixture
def desk(db):
    """Queues info-en, info-en::billing, info-de in one group; legal in another."""
    support, legal = make_group("Support"), make_group("Legal")
    return {
        "info-en": make_queue("info-en", group=support),
        "billing": make_queue("info-en::billing", group=support),
        "info-de": make_queue("info-de", group=support),
        "info-enx": make_queue("info-enx", group=support),
        "legal": make_queue("legal", group=legal),
        "support": support,
        "legal_group": legal,
    }


@pytest.fixture
def alice(desk):
    return reader_of(desk["support"], "alice")


def ticket(queue, title="A question", body="Hello.", **kwargs):
    with committed():
        return make_ticket(queue, title=title, body=body, **kwargs)


# --- words, phrases, prefixes, exclusions ---------------------------------------------
def test_every_word_must_match_even_across_title_and_articles(desk, alice):
    both = ticket(desk["info-en"], title="Photo licence", body="Is it free?")
    with committed():
        email_from(alice, both.pk, body="The photographer agreed.")
    ticket(desk["info-en"], title="Photo question", body="Who took it?")
    assert numbers(alice, "photo photographer") == [both.number]
    assert numbers(alice, "Photographer PHOTO") == [both.number]
    assert len(numbers(alice, "photo")) == 2


def test_a_phrase_matches_adjacent_words_only(desk, alice):
    adjacent = ticket(desk["info-en"], body="Please use a bank transfer.")
    ticket(desk["info-en"], body="Transfer the money to the bank.")
    assert numbers(alice, '"bank transfer"') == [adjacent.number]


def test_phrase_totals_count_only_the_adjacent_words(desk, alice):
    for _ in range(3):
        ticket(desk["info-en"], body="Please use a bank transfer.")
        ticket(desk["info-en"], body="Transfer the money to the bank.")
    assert search_tickets(alice, '"bank transfer"', limit=2).total == 3
    assert search_tickets(alice, 'bank -"bank transfer"', limit=2).total == 3
    assert search_tickets(alice, '"bank transfer" -money', limit=2).total == 3
    assert search_tickets(alice, 'title:"a question"', limit=2).total == 6


@pytest.mark.parametrize("order", ["relevance", "-changed", "changed", "-priority"])
def test_phrase_pages_hold_only_the_phrase_in_order(desk, alice, order):
    made = []
    for n in range(8):
        body = "a bank transfer" if n % 2 else "transfer it to the bank"
        made.append(ticket(desk["info-en"], body=body, priority=1 + n % 5))
    now = timezone.now()
    for n, t in enumerate(made):
        Ticket.objects.filter(pk=t.pk).update(changed=now - timedelta(hours=n))
    pages = [
        search_tickets(alice, '"bank transfer"', order=order, limit=2, offset=o)
        for o in (0, 2, 4)
    ]
    expected = list(
        Ticket.objects.filter(pk__in=[t.pk for t in made[1::2]])
        .order_by(*helpline.search.ORDERS.get(order, ("-changed", "-id")))
        .values_list("pk", flat=True)
    )
    assert [i for p in pages for i in p.ticket_ids] == expected
    assert [p.total for p in pages] == [4, 4, 4]


@pytest.mark.parametrize("checked", [2, 50])
def test_a_phrase_count_past_its_candidates_is_a_lower_bound(
    desk, alice, monkeypatch, checked
):
    # PostgreSQL checks the positions of at most PHRASE_CANDIDATES tickets with all
    # the words; SQLite (FTS5) counts phrases exactly.
    if connection.vendor == "postgresql":
        from helpline.search import postgres

        monkeypatch.setattr(postgres, "PHRASE_CANDIDATES", checked)
    for _ in range(3):
        ticket(desk["info-en"], body="Please use a bank transfer.")
        ticket(desk["info-en"], body="Transfer the money to the bank.")
    result = search_tickets(alice, '"bank transfer"', limit=2)
    assert len(result.ticket_ids) == 2
    if connection.vendor == "postgresql" and checked == 2:
        assert result.total_capped
        assert 2 <= result.total <= 3  # at least the page, at most the truth
    else:
        assert (result.total, result.total_capped) == (3, False)


def test_a_phrase_does_not_span_two_articles(desk, alice):
    t = ticket(desk["info-en"], body="end of the first mail: bank")
    with committed():
        email_from(alice, t.pk, body="transfer starts the second")
    assert numbers(alice, "bank transfer") == [t.number]
    assert numbers(alice, '"bank transfer"') == []


def test_a_prefix_finds_the_words_that_start_with_it(desk, alice):
    refunded = ticket(desk["info-en"], body="We refunded the donation.")
    ticket(desk["info-en"], body="A reference to an article.")
    assert numbers(alice, "refun*") == [refunded.number]
    assert sorted(numbers(alice, "ref*")) == sorted(
        t.number for t in Ticket.objects.all()
    )


def test_an_excluded_word_removes_tickets_that_contain_it(desk, alice):
    ham = ticket(desk["info-en"], body="A question about a photo.")
    ticket(desk["info-en"], body="A photo offer, buy cheap pills. Spam.")
    assert numbers(alice, "photo -spam") == [ham.number]
    assert numbers(alice, 'photo -"cheap pills"') == [ham.number]


def test_an_exclusion_alone_keeps_everything_else(desk, alice):
    ham = ticket(desk["info-en"], body="A real question.")
    ticket(desk["info-en"], body="Spam spam spam.")
    assert numbers(alice, "-spam") == [ham.number]


def test_an_address_or_a_hyphenated_word_is_found_as_its_parts(desk, alice):
    t = ticket(
        desk["info-en"],
        body="Write to press-office@wikimedia.example please.",
    )
    assert numbers(alice, "press-office@wikimedia.example") == [t.number]
    assert numbers(alice, "wikimedia") == [t.number]
    assert numbers(alice, "press office") == [t.number]


# --- languages ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "queries"),
    [
        (
            "Sehr geehrte Damen und Herren, die Änderung der Lizenz für Grüße",
            ["Änderung", "änderung", "anderung", "Grüße", "Lizenz für"],
        ),
        ("Zażółć gęślą jaźń", ["Zażółć", "gęślą jaźń", "gesla", "ZAŻÓŁĆ", "zaż*"]),
        (
            "Nous avons reçu votre réclamation concernant l'élève",
            ["réclamation", "reclamation", "reçu", "élève", "eleve"],
        ),
        ("写真 の ライセンス について 質問 です", ["写真", "ライセンス", "質問"]),
        ("Пожалуйста, удалите фотографию", ["фотографию", "удалите"]),
    ],
)
def test_text_in_other_languages_is_found_by_its_own_words(desk, alice, text, queries):
    t = ticket(desk["info-de"], title="Anfrage", body=text)
    ticket(desk["info-de"], title="Other", body="Nothing to see here.")
    for query in queries:
        assert numbers(alice, query) == [t.number], query


# --- text fields ----------------------------------------------------------------------
def test_title_restricts_a_word_to_the_title(desk, alice):
    in_title = ticket(desk["info-en"], title="Licence question", body="Hi.")
    ticket(desk["info-en"], title="Other", body="A licence question in the body.")
    assert numbers(alice, "title:licence") == [in_title.number]
    assert numbers(alice, "title:lic*") == [in_title.number]
    assert numbers(alice, 'title:"licence question"') == [in_title.number]
    assert len(numbers(alice, "licence")) == 2


def test_from_and_to_match_the_addresses_of_any_article(desk, alice):
    t = ticket(desk["info-en"], customer="jane@example.net", body="Hi.")
    with committed():
        email_from(
            alice,
            t.pk,
            body="Copy.",
            sender="Jane Doe <jane@example.net>",
            to="permissions@example.org",
            cc="otrs-list@lists.example.org",
        )
    other = ticket(desk["info-en"], customer="bob@example.com", body="jane wrote")
    assert numbers(alice, "from:jane@example.net") == [t.number]
    assert numbers(alice, "to:permissions@example.org") == [t.number]
    assert numbers(alice, "to:otrs-list") == [t.number]  # Cc counts as to
    assert numbers(alice, "-from:jane@example.net") == [other.number]
    assert sorted(numbers(alice, "jane")) == sorted([t.number, other.number])


def test_attachment_names_are_searchable(desk, alice):
    t = ticket(desk["info-de"], body="Anbei.")
    with committed():
        email_from(alice, t.pk, body="Siehe Anhang.", files=("Rechnung_2026.pdf",))
    ticket(desk["info-de"], body="Rechnung folgt per Post.")
    assert numbers(alice, "attachment:Rechnung_2026.pdf") == [t.number]
    assert numbers(alice, "attachment:rechnung*") == [t.number]
    assert len(numbers(alice, "rechnung")) == 2


# --- field filters --------------------------------------------------------------------
def test_queue_includes_its_sub_queues_but_not_look_alikes(desk, alice):
    top = ticket(desk["info-en"])
    sub = ticket(desk["billing"])
    ticket(desk["info-enx"])
    ticket(desk["info-de"])
    assert sorted(numbers(alice, "queue:info-en")) == sorted([top.number, sub.number])
    assert numbers(alice, "queue:info-en::billing") == [sub.number]
    assert numbers(alice, "queue:INFO-EN::Billing") == [sub.number]
    assert len(numbers(alice, "-queue:info-en")) == 2


def test_state_by_name_type_and_open(desk, alice):
    new = ticket(desk["info-en"])
    opened = ticket(desk["info-en"])
    done = ticket(desk["info-en"])
    tickets.set_state(alice, opened.pk, "open")
    tickets.close_ticket(alice, done.pk, note="Answered.")
    assert sorted(numbers(alice, "state:open")) == sorted([new.number, opened.number])
    assert numbers(alice, 'state:"closed successful"') == [done.number]
    assert numbers(alice, "state:closed") == [done.number]
    assert numbers(alice, "statetype:closed") == [done.number]
    assert numbers(alice, "statetype:new") == [new.number]
    assert numbers(alice, "-state:open") == [done.number]
    with pytest.raises(InvalidInput, match="no state 'clsoed'"):
        search_tickets(alice, "state:clsoed")
    with pytest.raises(InvalidInput, match="statetype"):
        search_tickets(alice, "statetype:finished")


def test_priority_exact_and_compared(desk, alice):
    low = ticket(desk["info-en"], priority=2)
    normal = ticket(desk["info-en"])
    urgent = ticket(desk["info-en"], priority=5)
    assert numbers(alice, "priority:3") == [normal.number]
    assert sorted(numbers(alice, "priority:>=3")) == sorted(
        [normal.number, urgent.number]
    )
    assert numbers(alice, "priority:<3") == [low.number]
    assert numbers(alice, "priority:4..5") == [urgent.number]


def test_owner_responsible_watcher_and_lock(desk, alice):
    bob = reader_of(desk["support"], "bob")
    mine = ticket(desk["info-en"])
    theirs = ticket(desk["info-en"])
    watched = ticket(desk["info-en"])
    locks.lock_ticket(alice, mine.pk)
    locks.set_owner(alice, theirs.pk, bob)
    locks.set_responsible(alice, watched.pk, bob)
    tickets.watch_ticket(bob, watched.pk)
    assert numbers(alice, "owner:alice") == [mine.number]
    assert numbers(alice, "owner:me") == [mine.number]
    assert numbers(alice, "owner:BOB") == [theirs.number]
    assert numbers(alice, "responsible:bob") == [watched.number]
    assert numbers(alice, "watcher:bob") == [watched.number]
    assert numbers(bob, "watcher:me") == [watched.number]
    assert numbers(alice, "locked:yes") == [mine.number]
    assert mine.number not in numbers(alice, "locked:no")
    assert numbers(alice, "owner:nobody-of-that-name") == []


def test_customer_and_number(desk, alice):
    jane = ticket(desk["info-en"], customer="Jane@Example.net")
    bob = ticket(desk["info-en"], customer="bob@example.com")
    assert numbers(alice, "customer:jane@example.net") == [jane.number]
    assert sorted(numbers(alice, "customer:*@example.*")) == sorted(
        [jane.number, bob.number]
    )
    assert numbers(alice, "customer:jane*") == [jane.number]
    assert numbers(alice, f"number:{bob.number}") == [bob.number]
    assert numbers(alice, f"number:{bob.number[:-1]}*") == [bob.number]


def test_dates_compare_by_day_or_range(desk, alice):
    old, recent = ticket(desk["info-en"]), ticket(desk["info-en"])
    day = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    Ticket.objects.filter(pk=old.pk).update(
        created=day - timedelta(days=40), changed=day - timedelta(days=30)
    )
    Ticket.objects.filter(pk=recent.pk).update(created=day, changed=day)
    today = day.date().isoformat()
    ago = (day - timedelta(days=40)).date().isoformat()
    assert numbers(alice, f"created:{today}") == [recent.number]
    assert numbers(alice, f"created:<{today}") == [old.number]
    assert numbers(alice, f"created:>={today}") == [recent.number]
    assert numbers(alice, f"created:>{ago}") == [recent.number]
    assert numbers(alice, f"created:{ago}..{today}", order="created") == [
        old.number,
        recent.number,
    ]
    assert numbers(alice, f"changed:<{today}") == [old.number]
    assert numbers(alice, f"closed:..{today}") == []


def test_closed_dates_find_closed_tickets(desk, alice):
    t = ticket(desk["info-en"])
    ticket(desk["info-en"])
    tickets.close_ticket(alice, t.pk, note="Done.")
    today = timezone.localdate().isoformat()
    assert numbers(alice, f"closed:{today}") == [t.number]


# --- permissions ----------------------------------------------------------------------
def test_an_agent_never_finds_a_ticket_outside_their_queues(desk, alice):
    secret = ticket(desk["legal"], title="Court order zebra", body="zebra")
    assert numbers(alice, "zebra") == []
    assert search_tickets(alice, "zebra").total == 0
    assert numbers(alice, "queue:legal") == []
    assert numbers(alice, f"number:{secret.number}") == []
    lawyer = reader_of(desk["legal_group"], "lawyer")
    assert numbers(lawyer, "zebra") == [secret.number]


def test_owner_responsible_and_watcher_see_nothing_outside_their_queues(desk, alice):
    """Only a grant opens a ticket; revoking it takes the rest along."""
    outsider = make_agent("olga")
    lawyer = reader_of(desk["legal_group"], "lawyer")
    owned = ticket(desk["legal"], body="giraffe owned")
    responsible = ticket(desk["legal"], body="giraffe responsible")
    watched = ticket(desk["legal"], body="giraffe watched")
    ticket(desk["legal"], body="giraffe hidden")
    admin.grant(desk["legal_group"], ["rw"], agent=outsider)
    with committed():  # and indexed (PostgreSQL's index records who may see it)
        locks.set_owner(lawyer, owned.pk, outsider)
        locks.set_responsible(lawyer, responsible.pk, outsider)
        tickets.watch_ticket(outsider, watched.pk)
    assert len(numbers(outsider, "giraffe")) == 4
    admin.revoke(desk["legal_group"], ["rw"], agent=outsider)
    assert numbers(outsider, "giraffe") == []
    assert numbers(alice, "giraffe") == []


def test_an_inactive_agent_finds_nothing(desk, alice):
    ticket(desk["info-en"], body="walrus")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert numbers(alice, "walrus") == []


# --- archive --------------------------------------------------------------------------
def test_archived_tickets_are_left_out_unless_asked_for(desk, alice):
    live = ticket(desk["info-en"], body="pelican")
    gone = ticket(desk["info-en"], body="pelican")
    tickets.close_ticket(alice, gone.pk, note="Done.")
    tickets.archive_ticket(alice, gone.pk)
    assert numbers(alice, "pelican") == [live.number]
    assert numbers(alice, "pelican", archived=True) == [gone.number]
    assert sorted(numbers(alice, "pelican", archived=None)) == sorted(
        [live.number, gone.number]
    )
    assert numbers(alice, "pelican archived:yes") == [gone.number]
    assert len(numbers(alice, "pelican archived:any")) == 2
    assert numbers(alice, "pelican archived:no", archived=True) == [live.number]


# --- merge ----------------------------------------------------------------------------
def test_a_merged_tickets_articles_are_found_under_the_target(desk, alice):
    source = ticket(desk["info-en"], title="First", body="The hippopotamus photo.")
    target = ticket(desk["info-en"], title="Second", body="Another mail.")
    with committed():
        merge.merge_tickets(alice, source.pk, target.pk)
    assert numbers(alice, "hippopotamus") == [target.number]
    assert numbers(alice, "hippopotamus another") == [target.number]


# --- order, pages, totals -------------------------------------------------------------
def test_relevance_puts_a_title_match_above_a_body_match(desk, alice):
    body = ticket(desk["info-en"], title="Question", body="about a volcano photo")
    title = ticket(desk["info-en"], title="Volcano", body="see subject")
    Ticket.objects.filter(pk=body.pk).update(changed=timezone.now())  # newer
    assert numbers(alice, "volcano") == [title.number, body.number]


def test_relevance_pages_run_through_the_title_matches_then_the_rest(desk, alice):
    in_body = [ticket(desk["info-en"], body="a gecko here") for _ in range(3)]
    in_title = [ticket(desk["info-en"], title="Gecko", body="x") for _ in range(2)]
    ticket(desk["info-en"], title="Gecko", body="but spam")
    pages = [search_tickets(alice, "gecko -spam", limit=2, offset=o) for o in (0, 2, 4)]
    newest_first = [t.pk for t in in_title[::-1] + in_body[::-1]]
    assert [i for p in pages for i in p.ticket_ids] == newest_first
    assert [p.total for p in pages] == [5, 5, 5]


def test_relevance_follows_a_changed_title(desk, alice):
    retitled = ticket(desk["info-en"], title="Kestrel sighting", body="A bird.")
    other = ticket(desk["info-en"], title="Question", body="a falcon, then a kestrel")
    later = timezone.now() + timedelta(minutes=5)
    Ticket.objects.filter(pk=other.pk).update(changed=later)  # the newer one
    assert numbers(alice, "kestrel") == [retitled.number, other.number]
    with committed():
        tickets.set_title(alice, retitled.pk, "Falcon sighting")
    assert numbers(alice, "falcon") == [retitled.number, other.number]
    # "kestrel" is left in its first mail's subject only: no longer the title tier.
    assert numbers(alice, "kestrel") == [other.number, retitled.number]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # A phrase: adjacent in the title, then the rest (the newest is only there).
        ('"free licence"', ["adjacent", "draft", "jane", "body_only"]),
        # A phrase of three words, and a phrase ending in a prefix.
        ('"licence free of"', ["apart"]),
        ('"free lic"*', ["adjacent", "draft", "jane", "body_only"]),
        # A prefix, and words anywhere in the title.
        ("licen* free", ["adjacent", "apart", "draft", "jane", "body_only"]),
        # An excluded word is excluded from the whole text.
        ("free licence -draft", ["adjacent", "apart", "jane", "body_only"]),
        # A field term stays one: only jane's ticket has mail from jane.
        ("free licence from:jane", ["jane"]),
    ],
)
def test_the_title_tier_has_the_titles_with_every_term(desk, alice, query, expected):
    made = {
        "adjacent": ticket(desk["info-en"], title="Free licence", body="x"),
        "apart": ticket(desk["info-en"], title="A licence, free of charge", body="y"),
        "body_only": ticket(desk["info-en"], title="Question", body="free licence?"),
        "draft": ticket(desk["info-en"], title="Free licence", body="a draft"),
        "jane": ticket(desk["info-en"], title="Free licence", body="z"),
    }
    with committed():
        email_from(alice, made["jane"].pk, body="hi", sender="jane@example.net")
    now = timezone.now()
    ages = {"body_only": -1, "adjacent": 0, "apart": 1, "draft": 2, "jane": 3}
    for name, days in ages.items():  # body_only the newest: tiers lead, then dates
        changed = now - timedelta(days=days)
        Ticket.objects.filter(pk=made[name].pk).update(changed=changed)
    by_number = {t.number: name for name, t in made.items()}
    assert [by_number[n] for n in numbers(alice, query)] == expected


@pytest.mark.parametrize("recent", [0, 1, 2, 3, 5])
def test_newest_first_pages_are_the_same_on_both_sides_of_the_recent_span(
    desk, alice, recent
):
    # Newest first across recent and old changes, in order, on every page.
    made = [ticket(desk["info-en"], body="a quokka here") for _ in range(5)]
    now = timezone.now()
    ages = [timedelta(days=d) for d in (1, 2, 3, 4, 5)[:recent]]
    ages += [timedelta(days=d) for d in (100, 200, 300, 400, 500)][: 5 - recent]
    for t, age in zip(made, ages, strict=True):
        Ticket.objects.filter(pk=t.pk).update(changed=now - age)
    pages = [search_tickets(alice, "quokka", limit=2, offset=o) for o in (0, 2, 4)]
    assert [i for p in pages for i in p.ticket_ids] == [t.pk for t in made]
    assert [p.total for p in pages] == [5, 5, 5]


def test_orders_and_pages(desk, alice):
    made = [ticket(desk["info-en"], body="otter", priority=p) for p in (1, 5, 3, 4)]
    by_created = [t.number for t in made]
    assert numbers(alice, "otter", order="created") == by_created
    assert numbers(alice, "otter", order="-created") == by_created[::-1]
    assert numbers(alice, "otter", order="-priority")[0] == made[1].number
    assert numbers(alice, "otter", order="priority")[0] == made[0].number
    pages = [
        search_tickets(alice, "otter", order="created", limit=3, offset=o)
        for o in (0, 3, 6)
    ]
    assert [p.total for p in pages] == [4, 4, 4]
    ids = [i for p in pages for i in p.ticket_ids]
    assert ids == [t.pk for t in made]
    assert not pages[0].total_capped
    with pytest.raises(InvalidInput, match="order"):
        search_tickets(alice, "otter", order="colour")
    with pytest.raises(InvalidInput, match="limit"):
        search_tickets(alice, "otter", limit=0)


def test_filters_alone_list_without_full_text(desk, alice):
    t = ticket(desk["info-en"], priority=5)
    ticket(desk["info-de"], priority=5)
    with CaptureQueriesContext(connection) as queries:
        result = search_tickets(alice, "queue:info-en priority:5")
    assert result.ticket_ids == [t.pk]
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "helpline_search" not in sql


def test_a_large_total_is_capped_and_says_so(desk, alice, monkeypatch):
    for _ in range(4):
        ticket(desk["info-en"], body="lemur")
    monkeypatch.setattr(helpline.search, "TOTAL_CAP", 3)
    result = search_tickets(alice, "lemur", limit=2)
    assert (result.total, result.total_capped) == (3, True)
    assert len(result.ticket_ids) == 2


def test_pages_past_the_cap_run_through_a_large_title_tier(desk, alice, monkeypatch):
    in_body = [ticket(desk["info-en"], body="a jackal here") for _ in range(2)]
    in_title = [ticket(desk["info-en"], title="Jackal", body="x") for _ in range(5)]
    monkeypatch.setattr(helpline.search, "TOTAL_CAP", 3)
    pages = [search_tickets(alice, "jackal", limit=2, offset=o) for o in range(0, 8, 2)]
    newest_first = [t.pk for t in in_title[::-1] + in_body[::-1]]
    assert [i for p in pages for i in p.ticket_ids] == newest_first
    assert [(p.total, p.total_capped) for p in pages] == [(3, True)] * 4


@pytest.mark.parametrize("cap", [3, 1000])  # matches listed at once, or past the cap
@pytest.mark.parametrize("order", ["relevance", "-changed"])
def test_ties_in_the_change_time_go_newest_ticket_first(
    desk, alice, monkeypatch, cap, order
):
    made = [ticket(desk["info-en"], body="an okapi") for _ in range(5)]
    Ticket.objects.filter(pk__in=[t.pk for t in made]).update(changed=timezone.now())
    monkeypatch.setattr(helpline.search, "TOTAL_CAP", cap)
    pages = [
        search_tickets(alice, "okapi", order=order, limit=2, offset=o)
        for o in (0, 2, 4)
    ]
    assert [i for p in pages for i in p.ticket_ids] == sorted(
        (t.pk for t in made), reverse=True
    )
    assert {(p.total, p.total_capped) for p in pages} == {(min(cap, 5), cap < 5)}


@pytest.mark.parametrize("query", ["marmot", "marmot queue:info-en -spam", "-spam"])
def test_the_number_of_queries_does_not_grow_with_the_matches(desk, alice, query):
    def queries_for_matches(count: int) -> int:
        for _ in range(count):
            ticket(desk["info-en"], body="marmot")
        search_tickets(alice, query, limit=2)  # a process reads the index's state once
        with CaptureQueriesContext(connection) as captured:
            search_tickets(alice, query, limit=2)
        return len(captured.captured_queries)

    few = queries_for_matches(3)
    many = queries_for_matches(20)
    # PostgreSQL also reads which words are common and the agent's queues, to
    # narrow the index lookup to what the agent may see (search/postgres.py).
    assert few == many <= (6 if connection.vendor == "postgresql" else 4)


# --- syntax errors --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"bank transfer', "not closed"),
        ("priority:7", "1 \\(very low\\) to 5"),
        ("created:last-week", "date like"),
        ("locked:perhaps", "yes|no"),
        ("queue:", "needs a value"),
        ("x*", "at least 2"),
        ("?!", "Nothing to search for"),
    ],
)
def test_bad_syntax_is_a_clear_error(desk, alice, query, message):
    with pytest.raises(InvalidInput, match=message):
        search_tickets(alice, query)
