"""``helpline bench seed``: fill a database with many realistic tickets, fast.

    helpline bench seed --tickets 1000000 [--queues 50] [--seed 1] [--chunk 5000]
                        [--cjk 0.1]

For benchmarks only (bench/scale.py, bench/load.py), on a database of its own.
Queues in five groups (some with sub-queues), each with a system address to send
replies from, ~3 articles per ticket, 5% of tickets open, closed tickets older than
a year archived, attachments on some articles sharing a few blobs,
and text in seven languages drawn with Zipf frequencies from real words plus a long
tail of made-up ones, so that a search finds a realistic number of tickets; with
``--cjk`` a share of the tickets in Chinese, Japanese or Korean as they are written
(no spaces between the words of the first two).  Rows
go in with COPY on PostgreSQL and ``bulk_create`` elsewhere, one transaction per
chunk; the search index is written with each chunk (in bulk mode: on PostgreSQL the
GIN index is built once at the end).  This bypasses the actions on purpose: it writes
millions of rows that no rule could change.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection, connections, models, transaction
from django.utils import timezone

from helpline.actions import admin
from helpline.blobstore import store_blob
from helpline.management.base import HelplineCommand, positive_int
from helpline.management.commands.search import Progress
from helpline.models import (
    Article,
    Attachment,
    Customer,
    HistoryEntry,
    Ticket,
    TicketState,
)
from helpline.search.base import (
    ArticleText,
    TicketDocument,
    get_backend,
    mark_index_complete,
)
from helpline.search.indexer import COMMON_SAMPLE

# Real words, most frequent first; the tail of rarer made-up words follows them.
WORDS = {
    "en": "the to and a of you i is for in it this that please your we be on with have "
    "not are can image photo file thank thanks licence license permission copyright "
    "commons wikipedia article page upload author email question request account "
    "deleted deletion ticket help information source attribution creative release "
    "consent agreement website picture camera owner rights free use need know would "
    "like see about all only here when what which how why been has was they their my "
    "could should send sent received reply regards dear hello best kind sincerely team "
    "volunteer response confirm original uploaded bank transfer donation refund",
    "de": "und der die das ist nicht ich sie wir mit für auf ein eine zu von dem den "
    "bitte danke vielen grüße freundlichen sehr geehrte damen herren bild datei foto "
    "lizenz genehmigung urheberrecht artikel seite hochladen autor frage anfrage konto "
    "gelöscht löschung hilfe quelle freigabe einverständnis erklärung webseite kamera "
    "rechte nutzung möchte können müssen sollte wurde haben sind über alle nur auch "
    "noch schon hier warum wie welche unser ihre meine erhalten antwort bestätigung "
    "änderung größe straße schön ähnlich spende überweisung",
    "fr": "le la les de des du un une et est en que qui pour pas dans sur avec ce il "
    "elle nous vous je merci bonjour cordialement madame monsieur image fichier photo "
    "licence autorisation droit auteur article page téléverser question demande compte "
    "supprimé suppression aide source accord site appareil propriétaire utilisation "
    "été être avoir fait peut pouvez besoin aussi très bien tout plus ici réponse "
    "confirmation reçu élève réclamation déjà où même après don virement",
    "pl": "i w na z do że się nie to jest jak co po za od dla czy ale jego jej proszę "
    "dziękuję pozdrawiam szanowni państwo zdjęcie plik licencja zgoda prawa autorskie "
    "artykuł strona przesłać pytanie prośba konto usunięty usunięcie pomoc źródło "
    "witryna aparat właściciel wykorzystanie był była być mieć może można chcę "
    "potrzebuję także bardzo dobrze wszystko więcej tutaj odpowiedź potwierdzenie "
    "otrzymałem zażółć gęślą jaźń łódź żółty darowizna przelew",
    "es": "el la los las de del un una y es en que por para no con se su como más pero "
    "muy gracias hola saludos estimado señor señora imagen archivo foto licencia "
    "permiso derechos autor artículo página subir pregunta solicitud cuenta borrado "
    "eliminación ayuda fuente acuerdo sitio cámara propietario uso fue ser tener puede "
    "quiero necesito también bien todo aquí respuesta confirmación recibí año niño",
    "it": "il la di che e un una per non in con sono grazie buongiorno cordiali saluti "
    "gentile signore immagine file foto licenza permesso diritto autore articolo "
    "pagina caricare domanda richiesta account cancellato cancellazione aiuto fonte "
    "accordo sito fotocamera proprietario utilizzo stato essere avere può vorrei anche "
    "molto bene tutto qui risposta conferma ricevuto già perché città",
    "ja": "写真 の ライセンス について 質問 です お願い します ありがとう ございます 画像 "
    "ファイル 著作権 許可 記事 ページ アップロード 作者 アカウント 削除 ヘルプ 出典 同意 "
    "ウェブサイト カメラ 所有者 使用 確認 返信 よろしく 東京 大阪 寄付",
    # Written as these languages are (``--cjk``): Chinese and Japanese without spaces,
    # Korean with a space after each word and its particle.
    "zh": "的 我 您 是 了 在 和 有 这 请 谢谢 图片 照片 文件 许可 授权 版权 维基百科 "
    "共享资源 上传 作者 问题 请求 账户 删除 帮助 来源 同意 网站 相机 所有者 使用 确认 "
    "回复 你好 此致 敬礼 志愿者 我们 已经 收到 申请 需要 可以 邮件 捐款 退款 银行 转账",
    "ko": "사진을 사진 파일 라이선스 허가를 저작권 문서 페이지 업로드 작성자 질문이 "
    "요청합니다 계정 삭제 도움 출처 동의합니다 웹사이트 카메라 소유자 사용 확인 답장 "
    "안녕하세요 감사합니다 부탁드립니다 위키백과 공용 제가 이 그 저는 있습니다 "
    "없습니다 기부 환불 은행 송금",
}
SYLLABLES = {
    "en": "ka lo mer tin son ber vic ton ley ing ard wel ash rid fen hol",
    "de": "berg bach schl ung heim stein feld wald ger mann ler ach eck hof",
    "fr": "mont bel eau ière ville rou chan tel lac pré beau gir dor fleur",
    "pl": "prz szcz ków wic ska rze dło nia zów mił grz bór cie łaj",
    "es": "gar cía ro mez lla rra pue bla fer nán dez tor vil ces",
    "it": "ric cio bel lini fran ces chi mar tel lo ros sig gia",
    "ja": "かな さと やま もり たか はし みず きた いし すず",
    "zh": "山 水 明 华 国 天 龙 云 海 金 林 江 春 光 新 安 德 文",
    "ko": "가 나 다 라 마 바 사 아 자 차 카 타 파 하 민 준 서 연",
}
# Tickets in Chinese, Japanese and Korean (``--cjk``), each a third of them; the
# first two without spaces between words (Japanese from the same words as the
# queues' spaced Japanese), a comma or a full stop every few words.
CJK_LANGUAGES = ("zh", "ja-written", "ko")
UNSPACED = {"zh": ("，", "。"), "ja-written": ("、", "。")}
LANGUAGES = ("en", "de", "fr", "pl", "es", "it", "ja")
TAIL = 6000  # made-up words per language
COLLOCATIONS = ["bank transfer", "free licence", "wikimedia commons"]
# "needle0" .. "needle9": each in the first mail of exactly 50 tickets, whatever the
# number of tickets, like a name or an order number (benchmarks: growth of the index
# alone, with the number of matches fixed).
NEEDLES = "needle"
NEEDLE_TICKETS = 50
FILE_NAMES = (
    "photo.jpg IMG_2034.jpg consent_form.pdf Rechnung.pdf scan.png licence.txt "
    "permission.pdf zgoda.pdf document.docx attestation.pdf"
)
GROUPS = ["Info", "Permissions", "Photosubmission", "Press", "Stewards"]
STATES = [("new", 2), ("open", 2), ("pending reminder", 1)] + [
    ("closed successful", 85),
    ("closed unsuccessful", 10),
]
PRIORITIES = [(3, 80), (4, 10), (2, 5), (5, 3), (1, 2)]
ARCHIVE_AFTER = timedelta(days=365)
QUEUE_DOMAIN = "bench.example.org"


def queue_address(name: str) -> str:
    """The system address of a seeded queue: ``info-en::billing`` sends from
    ``info-en-billing@bench.example.org``."""
    return f"{name.replace('::', '-')}@{QUEUE_DOMAIN}"


def _weighted(pairs: list[tuple[Any, int]]) -> tuple[list[Any], list[float]]:
    values = [v for v, _ in pairs]
    return values, list(itertools.accumulate(w for _, w in pairs))


class Corpus:
    """Words with Zipf frequencies per language: real ones first, made-up after."""

    def __init__(self, rng: random.Random) -> None:
        self.vocab: dict[str, tuple[list[str], list[float]]] = {}
        for lang, text in WORDS.items():
            words = text.split()
            seen, size = set(words), len(words) + TAIL
            while len(words) < size:
                parts = rng.choices(SYLLABLES[lang].split(), k=rng.randint(2, 4))
                word = "".join(parts)
                if word not in seen:
                    seen.add(word)
                    words.append(word)
            weights = itertools.accumulate(
                1 / (r + 3) ** 1.05 for r in range(len(words))
            )
            self.vocab[lang] = (words, list(weights))
        self.vocab["ja-written"] = self.vocab["ja"]

    def words(self, rng: random.Random, lang: str, count: int) -> str:
        words, weights = self.vocab[lang]
        chosen = rng.choices(words, cum_weights=weights, k=count)
        if lang == "en" and rng.random() < 0.05:
            chosen.insert(rng.randrange(count), COLLOCATIONS[count % 3])
        marks = UNSPACED.get(lang)
        if marks is None:
            return " ".join(chosen)
        comma, stop = marks
        text = []
        for word in chosen:
            text.append(word)
            mark = rng.random()
            text.append(comma if mark < 0.1 else stop if mark < 0.16 else "")
        return "".join(text)


def cjk_language(rng: random.Random) -> str:
    """A language of ``CJK_LANGUAGES``, each as likely."""
    return rng.choice(CJK_LANGUAGES)


@dataclass
class Setup:
    """What every chunk draws from (plain values: it crosses into worker processes)."""

    queues: list[tuple[int, str, int]]  # id, name, group id
    queue_weights: list[float]
    agents_by_group: dict[int, list[tuple[int, str]]]  # group id -> [(id, email)]
    states: dict[str, tuple[int, str]]  # name -> (id, type)
    blobs: list[tuple[int, int]]  # id, size
    customers: range
    first_ids: dict[str, int]


# One chunk's ids are computed, not fetched: ticket n has id first + n, its articles
# first + n * ARTICLE_SLOTS + j, its attachment first + n.  So chunks are independent
# and several processes can write them at once.
ARTICLE_SLOTS = 8


class Loader:
    """Writes rows given as {attname: value}: COPY on PostgreSQL, else bulk_create.

    Fields a row leaves out take their model default, so fields added later with a
    default need no change here.
    """

    def __init__(self) -> None:
        self.copy = connection.vendor == "postgresql"

    def write(self, model: type[models.Model], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self.copy:
            model._default_manager.bulk_create(
                [model(**row) for row in rows], batch_size=500
            )
            return
        fields = [
            f
            for f in model._meta.concrete_fields
            if not (f.primary_key and f.attname not in rows[0])  # id from the database
        ]
        now = timezone.now()
        defaults = [
            now
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default()
            for f in fields
        ]
        json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        keys = [f.attname for f in fields]
        # Columns outside the model (the search index on the ticket row) go last.
        extra = [key for key in rows[0] if key not in set(keys)]
        keys += extra
        defaults += [None] * len(extra)
        columns = ", ".join(
            connection.ops.quote_name(name)
            for name in [f.column for f in fields] + extra
        )
        table = connection.ops.quote_name(model._meta.db_table)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                values = [row.get(k, d) for k, d in zip(keys, defaults, strict=True)]
                for i in json_at:
                    values[i] = json.dumps(values[i])
                copy.write_row(values)

    def next_id(self, model: type[models.Model]) -> int:
        last = model._default_manager.aggregate(last=models.Max("pk"))["last"]
        return int(last or 0) + 1

    def finish(self, written: list[type[models.Model]]) -> None:
        """Move the id sequences past the rows written with explicit ids; ANALYZE,
        and on PostgreSQL VACUUM: a database that has run for years has its
        visibility map set (autovacuum), which index-only scans need; one filled
        by COPY a minute ago would not, and would be measured slower than it is."""
        with connection.cursor() as cursor:
            if self.copy:
                for model in written:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                        [model._meta.db_table, self.next_id(model)],
                    )
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                cursor.execute("VACUUM (ANALYZE)")
            else:
                cursor.execute("ANALYZE")


class Seeder:
    """Generates tickets chunk by chunk and writes them with their index entries.

    Chunk ``k`` draws from its own random generator (seeded by ``seed`` and ``k``),
    so the data depends on the seed only, not on the number of worker processes.
    """

    def __init__(
        self, *, tickets: int, queues: int, seed: int, chunk: int, cjk: float = 0.0
    ) -> None:
        self.total = tickets
        # The share of tickets written in Chinese, Japanese or Korean whatever their
        # queue; none draws nothing more, so the data of a seed stays as it was.
        self.cjk = cjk
        self.queue_count = queues
        self.chunk = chunk
        self.seed = seed
        self.corpus = Corpus(random.Random(seed))  # noqa: S311 - reproducible data
        self.now = timezone.now().replace(microsecond=0)
        self.states = _weighted(STATES)
        self.priorities = _weighted(PRIORITIES)
        self.article_counts = _weighted(
            [(1, 20), (2, 25), (3, 25), (4, 15), (5, 10), (6, 5)]
        )
        self.setup: Setup | None = None

    @property
    def chunks(self) -> range:
        return range((self.total + self.chunk - 1) // self.chunk)

    # --- fixed data -------------------------------------------------------------------
    def prepare(self) -> Setup:
        if Ticket.objects.exists():
            raise CommandError("bench seed wants a database without tickets.")
        rng = random.Random(self.seed)  # noqa: S311 - reproducible data
        with transaction.atomic():
            groups = [admin.create_group(name) for name in GROUPS]
            queues = self._queues(groups)
            agents: dict[int, list[tuple[int, str]]] = {}
            for n in range(100):
                group = groups[n % len(groups)]
                agent = admin.create_agent(f"agent{n}", email=f"agent{n}@example.org")
                admin.grant(group, ["rw"], agent=agent)
                agents.setdefault(group.pk, []).append((agent.pk, agent.email))
            bench = admin.create_agent("bench", email="bench@example.org")
            for group in groups[:2]:
                admin.grant(group, ["rw"], agent=bench)
            blobs = [
                store_blob(rng.randbytes(rng.randint(2_000, 30_000))) for _ in range(20)
            ]
            customers = self._customers(max(self.total // 3, 1))
        order = list(range(len(queues)))
        rng.shuffle(order)
        loader = Loader()
        self.setup = Setup(
            queues=[(q.pk, q.name, q.group_id) for q in queues],
            queue_weights=list(
                itertools.accumulate(1 / (order[i] + 1) ** 0.8 for i in order)
            ),
            agents_by_group=agents,
            states={s.name: (s.pk, s.type) for s in TicketState.objects.all()},
            blobs=[(b.pk, b.size) for b in blobs],
            customers=customers,
            first_ids={
                "ticket": loader.next_id(Ticket),
                "article": loader.next_id(Article),
                "attachment": loader.next_id(Attachment),
            },
        )
        return self.setup

    def _queues(self, groups: list[Any]) -> list[Any]:
        tops = [(g, f"{g.name.lower()}-{lang}") for lang in LANGUAGES for g in groups]
        subs = [
            (g, f"{name}::{sub}")
            for sub in ("billing", "urgent", "other")
            for g, name in tops
        ]
        if not 1 <= self.queue_count <= len(tops) + len(subs):
            raise CommandError(f"--queues must be 1 to {len(tops) + len(subs)}.")
        # Each queue sends from an address of its own, as in production: a reply
        # (a load test's) needs one, or it is refused.
        return [
            admin.create_queue(name, group=g, email=queue_address(name))
            for g, name in (tops + subs)[: self.queue_count]
        ]

    def _customers(self, count: int) -> range:
        loader = Loader()
        first = loader.next_id(Customer)
        for start in range(0, count, 50_000):
            loader.write(
                Customer,
                [
                    {"id": first + n, "email": f"customer{n}@example{n % 97}.net"}
                    for n in range(start, min(start + 50_000, count))
                ],
            )
        return range(first, first + count)

    # --- tickets ----------------------------------------------------------------------
    def write_chunk(self, number: int) -> int:
        """Generate and write chunk ``number`` in one transaction; its ticket count."""
        assert self.setup is not None
        rng = random.Random(self.seed * 1_000_003 + number)  # noqa: S311
        rows: dict[Any, list[dict[str, Any]]] = {
            Ticket: [],
            Article: [],
            Attachment: [],
            HistoryEntry: [],
        }
        first = number * self.chunk
        numbers = range(first, min(first + self.chunk, self.total))
        docs = [self._ticket(rng, n, rows) for n in numbers]
        backend = get_backend()
        in_row = bool(backend.ticket_columns)
        if in_row:  # the index entry goes in with the ticket row
            for row, doc in zip(rows[Ticket], docs, strict=True):
                row.update(backend.column_values(doc))
        loader = Loader()
        with transaction.atomic():
            for model in (Ticket, Article, Attachment, HistoryEntry):
                loader.write(model, rows[model])
            if not in_row:
                backend.replace([], docs)
        return len(numbers)

    def sample_documents(self, count: int) -> list[TicketDocument]:
        """The documents of the first ``count`` tickets, as chunk 0 will draw them
        (nothing written): the sample the index learns its common words from."""
        rng = random.Random(self.seed * 1_000_003)  # noqa: S311 - chunk 0's draws
        rows: dict[Any, list[Any]] = {
            Ticket: [],
            Article: [],
            Attachment: [],
            HistoryEntry: [],
        }
        return [self._ticket(rng, n, rows) for n in range(min(count, self.total))]

    def _ticket(
        self, rng: random.Random, n: int, rows: dict[Any, list[Any]]
    ) -> TicketDocument:
        setup = self.setup
        assert setup is not None
        queue_id, queue_name, group_id = rng.choices(
            setup.queues, cum_weights=setup.queue_weights
        )[0]
        lang = queue_name.split("::")[0].rsplit("-", 1)[1]
        if self.cjk and rng.random() < self.cjk:
            lang = cjk_language(rng)
        state_name = rng.choices(*self.states)[0]
        state_id, state_type = setup.states[state_name]
        is_open = state_type != "closed"
        age = 30 * 86400 if is_open else 3 * 365 * 86400
        created = self.now - timedelta(seconds=rng.randrange(age))
        owner = None
        if not is_open or rng.random() < 0.4:
            owner = rng.choice(setup.agents_by_group[group_id])
        ticket_id = setup.first_ids["ticket"] + n
        doc = TicketDocument(
            ticket_id=ticket_id,
            title=self.corpus.words(rng, lang, rng.randint(3, 7)).capitalize(),
            queue_id=queue_id,
            group_id=group_id,
            agent_ids=(owner[0],) if owner else (),
        )
        history: list[tuple[str, datetime, int | None, dict[str, Any]]] = [
            ("created", created, None, {"queue": queue_name, "state": "new"})
        ]
        moment = created
        step = max(self.total // NEEDLE_TICKETS, 1)
        needle = f" {NEEDLES}{n % step}" if n % step < 10 else ""
        for j in range(rng.choices(*self.article_counts)[0]):
            article_id = setup.first_ids["article"] + n * ARTICLE_SLOTS + j
            moment = self._article(
                rng, rows, doc, article_id, lang, moment, owner, n, needle
            )
            needle = ""
            history.append(("article", moment, article_id, {"channel": "email"}))
        closed_at = None
        if not is_open:
            closed_at = min(moment + timedelta(hours=rng.randint(1, 200)), self.now)
            history.append(("state", closed_at, None, {"new": state_name}))
        changed = closed_at or moment
        locked = is_open and owner is not None
        rows[Ticket].append(
            {
                "id": ticket_id,
                "number": f"{created:%Y%m%d}99{ticket_id:08d}",
                "title": doc.title,
                "queue_id": queue_id,
                "state_id": state_id,
                "state_type": state_type,
                "priority": rng.choices(*self.priorities)[0],
                "locked": locked,
                "locked_at": changed if locked else None,
                "owner_id": owner[0] if owner else None,
                "customer_id": rng.choice(setup.customers),
                "created": created,
                "changed": changed,
                "closed_at": closed_at,
                "archived": bool(closed_at and closed_at < self.now - ARCHIVE_AFTER),
                "pending_until": (
                    self.now + timedelta(days=3)
                    if state_type.startswith("pending")
                    else None
                ),
            }
        )
        rows[HistoryEntry] += [
            {
                "ticket_id": ticket_id,
                "type": t,
                "created": w,
                "article_id": a,
                "data": d,
            }
            for t, w, a, d in history
        ]
        if rng.random() < 0.08:
            self._attach(rng, rows, doc, n)
        return doc

    def _article(
        self,
        rng: random.Random,
        rows: dict[Any, list[Any]],
        doc: TicketDocument,
        article_id: int,
        lang: str,
        after: datetime,
        owner: tuple[int, str] | None,
        n: int,
        needle: str,
    ) -> datetime:
        index = len(doc.articles)
        from_customer = index % 2 == 0
        created = after + timedelta(minutes=rng.randint(5, 3000)) if index else after
        created = min(created, self.now)
        customer = f"customer{n}@example.net"
        agent_addr = owner[1] if owner else "info@example.org"
        text = ArticleText(
            subject=("Re: " if index else "") + doc.title,
            body=self.corpus.words(rng, lang, rng.randint(15, 110)) + needle,
            sender=customer if from_customer else agent_addr,
            recipients="info@example.org" if from_customer else customer,
        )
        doc.articles.append(text)
        rows[Article].append(
            {
                "id": article_id,
                "ticket_id": doc.ticket_id,
                "channel": "email",
                "sender_type": "customer" if from_customer else "agent",
                "visible_to_customer": True,
                "incoming": from_customer,
                "created_by_id": None if from_customer or not owner else owner[0],
                "created": created,
                "from_addr": text.sender,
                "to_addr": text.recipients,
                "subject": text.subject,
                "body_text": text.body,
                "message_id": f"{article_id}.bench@example.org",
            }
        )
        return created

    def _attach(
        self,
        rng: random.Random,
        rows: dict[Any, list[Any]],
        doc: TicketDocument,
        n: int,
    ) -> None:
        assert self.setup is not None
        blob_id, size = rng.choice(self.setup.blobs)
        name = rng.choice(FILE_NAMES.split())
        doc.articles[0].attachments.append(name)
        rows[Attachment].append(
            {
                "id": self.setup.first_ids["attachment"] + n,
                "article_id": self.setup.first_ids["article"] + n * ARTICLE_SLOTS,
                "blob_id": blob_id,
                "filename": name,
                "content_type": "application/octet-stream",
                "size": size,
            }
        )


# The seeder of the running command, inherited by forked worker processes.
_SEEDER: Seeder | None = None


def _write_chunk(number: int) -> int:
    assert _SEEDER is not None
    return _SEEDER.write_chunk(number)


def seed_database(seeder: Seeder, *, workers: int, progress: Progress) -> None:
    """Prepare, write every chunk (in ``workers`` processes), then build the indexes."""
    global _SEEDER
    seeder.prepare()
    backend = get_backend()
    learnt: list[str] = []
    if backend.learns_common_words:  # as ``helpline search reindex`` does
        learnt = backend.learn_common_words(seeder.sample_documents(COMMON_SAMPLE))
    backend.begin_bulk()
    done = 0
    try:
        if workers == 1:
            for number in seeder.chunks:
                done += seeder.write_chunk(number)
                progress.update(done)
        else:
            _SEEDER = seeder
            connections.close_all()  # each process opens its own
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for count in pool.imap_unordered(_write_chunk, seeder.chunks):
                    done += count
                    progress.update(done)
    finally:
        _SEEDER = None
        backend.end_bulk()
    if learnt:
        backend.common_words_ready(learnt)
    mark_index_complete()
    Loader().finish([Customer, Ticket, Article, Attachment, HistoryEntry])


def share(text: str) -> float:
    """A share from 0 to 1, for ``--cjk``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"takes a share from 0 to 1, not {text!r}")
    return value


class Command(HelplineCommand):
    help = "Fill an empty database with many realistic tickets (for benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        seed = verbs.add_parser("seed", help="Bulk-insert tickets and index them.")
        seed.add_argument("--tickets", type=positive_int, required=True, metavar="N")
        seed.add_argument("--queues", type=positive_int, default=50, metavar="N")
        seed.add_argument("--seed", type=int, default=1, metavar="S")
        seed.add_argument(
            "--chunk",
            type=positive_int,
            default=5000,
            metavar="N",
            help="Tickets per transaction (default %(default)s).",
        )
        seed.add_argument(
            "--workers",
            type=positive_int,
            metavar="N",
            help="Processes writing chunks (default: 2 on PostgreSQL, 1 on SQLite).",
        )
        seed.add_argument(
            "--cjk",
            type=share,
            default=0.0,
            metavar="SHARE",
            help="Share of tickets (0 to 1) written in Chinese, Japanese or Korean, "
            "without spaces in the first two (default none).",
        )
        seed.set_defaults(handler=self.seed)

    def seed(self, options: dict[str, Any]) -> None:
        workers = options["workers"] or (2 if connection.vendor == "postgresql" else 1)
        if workers > 1 and connection.vendor == "sqlite":
            raise CommandError("SQLite takes one writer: leave out --workers.")
        seeder = Seeder(
            tickets=options["tickets"],
            queues=options["queues"],
            seed=options["seed"],
            chunk=options["chunk"],
            cjk=options["cjk"],
        )
        progress = Progress(
            self.stderr, options["tickets"], f"seed ({connection.vendor})"
        )
        seed_database(seeder, workers=workers, progress=progress)
        progress.finish(options["tickets"])
        self.stdout.write(
            f"Seeded {options['tickets']} tickets in {options['queues']} queues; "
            "agent 'bench' reads two of the five groups."
        )
