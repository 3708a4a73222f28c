"""Chinese, Japanese, Korean and Thai are found by a word inside a sentence.

Runs of these scripts are indexed as overlapping pairs of characters
(``helpline.search.scripts``); these tests run on the suite's database, SQLite (FTS5)
in ``make test`` and PostgreSQL (tsvector) in the second leg of CI.
"""

from __future__ import annotations

import io
import re
import sqlite3

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from helpline.search import scripts, search_tickets
from helpline.search.query import TextTerm, fold, parse_query, words
from tests.search import committed, email_from, numbers, reader_of, search_index
from tests.support import make_group, make_queue, make_ticket

pytestmark = pytest.mark.django_db

CHINESE = "我们已经收到您的照片授权申请，谢谢您的耐心。"
JAPANESE = "東京都に住んでいる写真家から、画像の使用許可をもらいました。"
KOREAN = "서울에서 찍은 사진의 사용 허가를 요청합니다."
THAI = "ขอบคุณสำหรับรูปภาพที่ส่งมาให้เรา"
LAO = "ຂອບໃຈສຳລັບຮູບພາບທີ່ສົ່ງມາ"


@pytest.fixture(autouse=True)
def _index(db):
    yield from search_index()


@pytest.fixture
def desk(db):
    support, legal = make_group("Support"), make_group("Legal")
    return {
        "info": make_queue("info-zh", group=support),
        "legal": make_queue("legal", group=legal),
        "support": support,
        "legal_group": legal,
    }


@pytest.fixture
def alice(desk):
    return reader_of(desk["support"], "alice")


@pytest.fixture
def lawyer(desk):
    return reader_of(desk["legal_group"], "lawyer")


def ticket(queue, title="A question", body="Hello."):
    with committed():
        return make_ticket(queue, title=title, body=body)


# --- tokens ---------------------------------------------------------------------------
def test_a_run_becomes_a_pair_at_each_character_and_its_last_alone():
    assert words("東京都に住む") == ["東京", "京都", "都に", "に住", "住む", "む"]
    assert words("서울에서 만나요") == [
        "서울",
        "울에",
        "에서",
        "서",
        "만나",
        "나요",
        "요",
    ]
    # A lone character is itself; letters of other scripts are words beside it.
    assert words("iPhone用 2024年") == ["iphone", "用", "2024", "年"]
    # Punctuation inside the blocks (the katakana middle dot) separates.
    assert words("コーヒー・ティー") == [
        "コー",
        "ーヒ",
        "ヒー",
        "ー",
        "ティ",
        "ィー",
        "ー",
    ]


def test_thai_marks_are_dropped_inside_a_run_not_taken_as_breaks():
    # Python's \\w does not count the vowel and tone marks as letters: without
    # this, ที่ would break the word; FTS5 drops them, so both sides leave them out.
    assert words("ที่ส่ง") == ["ทส", "สง", "ง"]


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("„Zitat“ – 5 € … \ue000 Zażółć", False),  # punctuation, separator, Latin
        ("Tiếng Việt ᾅ", False),
        ("東京", True),
        ("ひらがな", True),
        ("ｶﾀｶﾅ", True),
        ("한국어", True),
        ("ᄀ", True),
        ("ไทย", True),
        ("ລາວ", True),
        ("\U00020b9f", True),  # CJK extension B
    ],
)
def test_the_scripts_cut_into_pairs_are_recognised_and_no_others(text, cut):
    assert scripts.has_unspaced(text) is cut


def test_a_searched_word_leaves_out_the_last_lone_character():
    assert parse_query("東京都").terms == [TextTerm(("東京", "京都"))]
    # A lone character is a prefix: every character of a text begins a token.
    assert parse_query("京").terms == [TextTerm(("京",), prefix=True)]
    assert parse_query("京*").terms == [TextTerm(("京",), prefix=True)]
    # Within a phrase a run followed by more keeps it, as the text has it there.
    assert parse_query('"서울에서 만나"').terms == [
        TextTerm(("서울", "울에", "에서", "서", "만나"))
    ]
    assert parse_query("-写真 title:許可").terms == [
        TextTerm(("写真",), negated=True),
        TextTerm(("許可",), field="title"),
    ]


# Any character but those of the scripts cut into pairs.
_SPACED = st.characters(blacklist_categories=("Cs",)).filter(
    lambda c: scripts.ANY.match(c) is None
)


@given(st.text(_SPACED, max_size=60))
def test_text_of_other_scripts_gets_the_same_words_as_before(text):
    # Before: the folded text split at anything that is not a letter or a digit.
    assert words(text) == re.findall(r"[^\W_]+", fold(text))
    assert scripts.index_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        CHINESE,
        JAPANESE,
        KOREAN,
        THAI,
        LAO,
        "Re: 写真の許可 (File:Lucia_3.jpg) — ありがとう!",
        "漢字𠮷野家、ｶﾀｶﾅ、々、〇〇株式会社",
    ],
)
def test_fts5_cuts_the_indexed_text_exactly_as_words_does(text):
    # The SQLite index is given the runs already cut; its own tokenizer must
    # leave the pairs as they are and split the rest as ``words`` does.
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (scripts.index_text(text),))
    tokens = [row[0] for row in db.execute("SELECT term FROM v ORDER BY offset")]
    assert tokens == words(text)


# --- searching ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "found_by", "not_found_by"),
    [
        (CHINESE, ["照片", "授权申请", "耐心", "照"], ["电脑", "照相机"]),
        (
            JAPANESE,
            ["写真家", "許可", "もらい", "東京", "住んでいる"],
            ["大阪", "写真機"],
        ),
        (KOREAN, ["사진", "허가", "서울", "요청"], ["부산", "사진기"]),
        (THAI, ["รูปภาพ", "ขอบคุณ", "ส่ง"], ["คอมพิวเตอร์"]),
        (LAO, ["ຮູບພາບ", "ຂອບໃຈ"], ["ຄອມພິວເຕີ"]),
    ],
    ids=["chinese", "japanese", "korean", "thai", "lao"],
)
def test_a_word_inside_a_sentence_finds_the_ticket(
    desk, alice, body, found_by, not_found_by
):
    made = ticket(desk["info"], body=body)
    ticket(desk["info"], body="Something else entirely. 别的事情。")
    for word in found_by:
        assert numbers(alice, word) == [made.number], word
    for word in not_found_by:
        assert numbers(alice, word) == [], word


def test_kana_and_kanji_mixed_are_one_text(desk, alice):
    made = ticket(desk["info"], title="画像の件", body=JAPANESE)
    # Kanji then kana, kana then kanji, katakana, across the title and the body.
    assert numbers(alice, "住んで") == [made.number]
    assert numbers(alice, "から画像") == []  # a comma lies between them
    assert numbers(alice, "画像の使用") == [made.number]
    assert numbers(alice, "title:画像 使用許可") == [made.number]


def test_phrases_keep_their_order(desk, alice):
    made = ticket(desk["info"], body=JAPANESE + " " + KOREAN)
    assert numbers(alice, '"東京都に住んで"') == [made.number]
    assert numbers(alice, '"住んで東京都"') == []
    assert numbers(alice, '"서울에서 찍은"') == [made.number]
    assert numbers(alice, '"서울에서 사진"') == []
    assert numbers(alice, '"찍은 사진의"') == [made.number]


def test_exclusions_and_latin_neighbours(desk, alice):
    photo = ticket(desk["info"], body="iPhone用の写真です。File:Lucia_3.jpg")
    ticket(desk["info"], body="写真の許可をお願いします。")
    assert numbers(alice, "iphone 写真") == [photo.number]
    assert numbers(alice, "写真 -許可") == [photo.number]
    assert len(numbers(alice, "写真")) == 2
    assert numbers(alice, "-写真") == []


def test_the_title_tier_comes_first_for_cjk_words(desk, alice):
    in_body = ticket(desk["info"], title="A question", body="授权申请")
    in_title = ticket(desk["info"], title="照片授权", body="Hello.")
    assert numbers(alice, "授权") == [in_title.number, in_body.number]
    assert search_tickets(alice, "授权").total == 2


def test_searches_never_show_tickets_of_other_queues(desk, alice, lawyer):
    mine = ticket(desk["info"], body=CHINESE)
    theirs = ticket(desk["legal"], body=CHINESE + THAI)
    assert numbers(alice, "照片") == [mine.number]
    assert numbers(alice, "รูปภาพ") == []
    assert numbers(lawyer, "照片") == [theirs.number]
    assert numbers(lawyer, "รูปภาพ") == [theirs.number]
    assert search_tickets(alice, '"授权申请"').total == 1


def test_words_in_a_later_article_and_in_file_names_are_found(desk, alice):
    made = ticket(desk["info"], body="Hello.")
    with committed():
        email_from(alice, made.pk, body=KOREAN, files=("사진파일.jpg",))
    assert numbers(alice, "허가") == [made.number]
    assert numbers(alice, "attachment:파일") == [made.number]


def test_tickets_indexed_before_need_a_reindex(desk, alice, monkeypatch):
    # An entry written by the code before this one had one "word" per sentence;
    # ``helpline search reindex`` rebuilds it (docs/upgrading.md).
    monkeypatch.setattr(scripts, "has_unspaced", lambda text: False)
    made = ticket(desk["info"], body=CHINESE)
    monkeypatch.undo()
    assert numbers(alice, "照片") == []
    call_command("search", "reindex", stdout=io.StringIO(), stderr=io.StringIO())
    assert numbers(alice, "照片") == [made.number]


# --- the benchmark's data: a word finds exactly the tickets that contain it -----------
def test_on_seeded_cjk_data_a_word_finds_exactly_the_tickets_containing_it(db):
    from helpline.actions.admin import get_agent
    from helpline.models import Ticket
    from helpline.search import indexer

    call_command(
        "bench",
        "seed",
        "--tickets",
        "1500",
        "--cjk",
        "0.3",
        "--workers",
        "1",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    agent = get_agent("bench")
    visible = list(Ticket.objects.visible_to(agent).values_list("pk", flat=True))
    docs = indexer.collect_documents(visible)

    def texts(doc):
        yield doc.title
        for a in doc.articles:
            yield from (a.subject, a.body)

    # Two characters (one pair), three, five (a phrase of pairs, on PostgreSQL
    # perhaps of common pairs), Korean with a particle, a lone character.
    for word in ("照片", "所有者", "ライセンス", "감사합니다", "写真", "申请", "龙"):
        expected = {d.ticket_id for d in docs if any(word in t for t in texts(d))}
        result = search_tickets(agent, word, archived=None, limit=1000)
        assert expected, word  # the seed writes these words in some tickets
        assert set(result.ticket_ids) == expected, word
        assert (result.total, result.total_capped) == (len(expected), False)


@pytest.mark.parametrize("share", ["1.5", "-0.1", "some"])
def test_the_seed_refuses_a_share_outside_0_to_1(db, share):
    from tests.cli import fails

    error = fails("bench", "seed", "--tickets", "10", "--cjk", share)
    assert "share from 0 to 1" in str(error)
