"""The demo organisation: groups, queues, agents, a role and tickets to look at.

``seed_demo`` (behind ``helpline seed_demo`` and ``make run``) builds it through the
domain actions, so the demo obeys the same rules as real use.  It is idempotent: what
exists already is left as it is (passwords included), and a second run changes nothing.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from helpline.actions import admin
from helpline.actions.articles import NewArticle, NewAttachment, add_article, add_note
from helpline.actions.locks import lock_ticket
from helpline.actions.tickets import close_ticket, do_create_ticket
from helpline.models import (
    ArticleChannel,
    Group,
    Permission,
    Queue,
    Role,
    SenderType,
    Ticket,
)

GROUPS = {
    "users": "Raw and Junk: mail that no other queue took.",
    "info": "General questions in English.",
    "info-de": "Allgemeine Fragen auf Deutsch.",
    "permissions": "Permission statements for freely licensed content.",
}
# (queue, group, local part of its system address or "")
QUEUES = [
    ("info-en", "info", "info-en"),
    ("info-de", "info-de", "info-de"),
    ("permissions", "permissions", "permissions"),
    ("photosubmission", "permissions", ""),
    ("Junk", "users", ""),
]
# (login, first name, last name, administrator)
AGENTS = [
    ("admin", "Ada", "Admin", True),
    ("alice", "Alice", "Archer", False),
    ("bruno", "Bruno", "Berger", False),
    ("carla", "Carla", "Conti", False),
]
AGENT_GRANTS = [
    ("alice", "info", [Permission.RW]),
    ("bruno", "info-de", [Permission.RW]),
]
REVIEWERS = "permissions-reviewers"
REVIEWER_GRANTS = ("permissions", [Permission.RO, Permission.NOTE])


@dataclass(frozen=True)
class Step:
    """Something an agent does to a demo ticket after it arrived."""

    kind: str  # reply, note, lock or close
    login: str
    text: str = ""


@dataclass(frozen=True)
class DemoTicket:
    queue: str  # "" for the default queue (settings.HELPLINE_DEFAULT_QUEUE)
    title: str
    customer: str
    customer_name: str
    body: str
    attachments: tuple[tuple[str, str], ...] = ()  # (filename, kind)
    steps: tuple[Step, ...] = ()


@dataclass
class SeedReport:
    """What a run created; ``password`` is set when it generated one for new agents."""

    created: dict[str, int] = field(default_factory=dict)
    new_agents: list[str] = field(default_factory=list)
    kept_agents: list[str] = field(default_factory=list)
    password: str | None = None

    @property
    def changed(self) -> bool:
        return any(self.created.values())

    def count(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n


def seed_demo(*, password: str | None = None) -> SeedReport:
    """Create what is missing of the demo organisation, in one transaction.

    New demo agents all get ``password``, or a generated one (returned in the report,
    to be shown once).  Agents that exist keep their password.
    """
    report = SeedReport()
    with transaction.atomic():
        groups = _groups(report)
        queues = _queues(groups, report)
        agents = _agents(password, report)
        _grants(groups, agents, report)
        for spec in TICKETS:
            queue = queues[spec.queue or settings.HELPLINE_DEFAULT_QUEUE]
            if not Ticket.objects.filter(queue=queue, title=spec.title).exists():
                _ticket(spec, queue, agents)
                report.count("ticket")
    return report


def _groups(report: SeedReport) -> dict[str, Group]:
    groups = {g.name: g for g in Group.objects.filter(name__in=GROUPS)}
    for name, comment in GROUPS.items():
        if name not in groups:
            groups[name] = admin.create_group(name, comment=comment)
            report.count("group")
    return groups


def _queues(groups: dict[str, Group], report: SeedReport) -> dict[str, Queue]:
    specs = [(settings.HELPLINE_DEFAULT_QUEUE, "users", ""), *QUEUES]
    queues = {q.name: q for q in Queue.objects.filter(name__in=[s[0] for s in specs])}
    domain = settings.HELPLINE_MAIL_DOMAIN
    for name, group, local_part in specs:
        if name not in queues:
            queues[name] = admin.create_queue(
                name,
                group=groups[group],
                email=f"{local_part}@{domain}" if local_part else "",
                display_name=f"Helpline {name}" if local_part else "",
            )
            report.count("queue")
    return queues


def _agents(password: str | None, report: SeedReport) -> dict[str, Any]:
    logins = [login for login, *_ in AGENTS]
    agents = {
        a.get_username(): a
        for a in get_user_model().objects.filter(username__in=logins)
    }
    missing = [spec for spec in AGENTS if spec[0] not in agents]
    report.kept_agents = [login for login in logins if login in agents]
    if missing and password is None:
        password = report.password = secrets.token_urlsafe(12)
    for login, first, last, is_admin in missing:
        agents[login] = admin.create_agent(
            login,
            email=f"{login}@{settings.HELPLINE_MAIL_DOMAIN}",
            password=password,
            first_name=first,
            last_name=last,
            is_admin=is_admin,
        )
        report.new_agents.append(login)
        report.count("agent")
    return agents


def _grants(
    groups: dict[str, Group], agents: dict[str, Any], report: SeedReport
) -> None:
    # Superusers see no ticket without a grant: the demo administrator gets rw on all.
    wanted = [("admin", name, [Permission.RW]) for name in GROUPS] + AGENT_GRANTS
    for login, group, perms in wanted:
        report.count(
            "grant", len(admin.grant(groups[group], perms, agent=agents[login]))
        )
    role = Role.objects.filter(name=REVIEWERS).first()
    if role is None:
        role = admin.create_role(REVIEWERS, comment="Read and annotate permissions.")
        report.count("role")
    group, perms = REVIEWER_GRANTS
    report.count("grant", len(admin.grant(groups[group], perms, role=role)))
    if not role.members.filter(pk=agents["carla"].pk).exists():
        admin.add_role_member(role, agents["carla"])
        report.count("role membership")


def _ticket(spec: DemoTicket, queue: Queue, agents: dict[str, Any]) -> None:
    address = queue.system_address.email if queue.system_address else ""
    with transaction.atomic():  # as the mail pipeline would store it
        ticket, _ = do_create_ticket(
            None,
            queue=queue,
            title=spec.title,
            customer_email=spec.customer,
            customer_name=spec.customer_name,
            article=NewArticle(
                channel=ArticleChannel.EMAIL,
                sender_type=SenderType.CUSTOMER,
                subject=spec.title,
                body_text=spec.body,
                from_addr=f"{spec.customer_name} <{spec.customer}>",
                to_addr=address,
                incoming=True,
                attachments=[
                    _attachment(name, kind) for name, kind in spec.attachments
                ],
            ),
        )
    for step in spec.steps:
        _do(step, ticket, agents[step.login], spec, address)


def _do(step: Step, ticket: Ticket, agent: Any, spec: DemoTicket, address: str) -> None:
    if step.kind == "reply":  # recorded as sent; the demo sends no mail
        add_article(
            agent,
            ticket.pk,
            NewArticle(
                channel=ArticleChannel.EMAIL,
                sender_type=SenderType.AGENT,
                subject=f"Re: {spec.title}",
                body_text=step.text,
                from_addr=address,
                to_addr=spec.customer,
            ),
        )
    elif step.kind == "note":
        add_note(agent, ticket.pk, step.text)
    elif step.kind == "lock":
        lock_ticket(agent, ticket.pk)
    elif step.kind == "close":
        close_ticket(agent, ticket.pk, note=step.text)
    else:
        raise ValueError(f"unknown demo step {step.kind!r}")


def _attachment(filename: str, kind: str) -> NewAttachment:
    if kind == "png":
        return NewAttachment(filename, "image/png", _tiny_png())
    return NewAttachment(filename, "text/plain", STATEMENT.encode())


def _tiny_png() -> bytes:
    """A valid 1x1 blue PNG, built here so the demo needs no binary files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x1f\x5f\xbf")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


STATEMENT = """\
I hereby affirm that I, Lucía Fernández, am the creator and sole owner of the
exclusive copyright of the photographs listed below.

I agree to publish them under the free license Creative Commons Attribution-ShareAlike
4.0 International (CC BY-SA 4.0).

- harbour-at-dawn.jpg
- lighthouse-in-winter.jpg

Lucía Fernández, 2 May 2025
"""

TICKETS = [
    DemoTicket(
        queue="info-en",
        title="Mistake in the article about the Eiffel Tower",
        customer="margaret.lee@example.com",
        customer_name="Margaret Lee",
        body=(
            "Hello,\n\nthe article says the tower was finished in 1887, but "
            "construction only started then; it was completed in March 1889.\n"
            "Could someone correct this?\n\nBest regards,\nMargaret Lee\n"
        ),
        steps=(
            Step(
                "reply",
                "alice",
                "Dear Margaret,\n\nthank you for writing. You are right: work began "
                "in 1887 and the tower opened in 1889. A volunteer has corrected the "
                "article.\n\nKind regards,\nAlice",
            ),
            Step("close", "alice", "Answered; the article is corrected."),
        ),
    ),
    DemoTicket(
        queue="info-en",
        title="How do I update our company logo?",
        customer="tom.becker@example.org",
        customer_name="Tom Becker",
        body=(
            "Hi,\n\nour company changed its logo last month. The article about us "
            "still shows the old one. How can we get it replaced?\n\nThanks,\nTom\n"
        ),
        steps=(
            Step("lock", "alice"),
            Step("note", "alice", "Asked on the graphics lab page; waiting."),
        ),
    ),
    DemoTicket(
        queue="info-de",
        title="Fehler im Artikel über den Kölner Dom",
        customer="j.schaefer@example.de",
        customer_name="Jürgen Schäfer",
        body=(
            "Guten Tag,\n\nim Artikel über den Kölner Dom steht, die Türme seien "
            "157 Meter hoch. Laut Dombauhütte sind es 157,38 Meter. Können Sie das "
            "ergänzen?\n\nMit freundlichen Grüßen\nJürgen Schäfer\n"
        ),
        steps=(
            Step(
                "reply",
                "bruno",
                "Sehr geehrter Herr Schäfer,\n\nvielen Dank für Ihren Hinweis. Wir "
                "haben ihn an die Autorinnen und Autoren des Artikels "
                "weitergegeben.\n\nFreundliche Grüße\nBruno Berger",
            ),
        ),
    ),
    DemoTicket(
        queue="info-de",
        title="Darf ich ein Foto aus einem Artikel verwenden?",
        customer="anna.mueller@example.de",
        customer_name="Anna Müller",
        body=(
            "Hallo,\n\nich möchte ein Foto aus dem Artikel über Heidelberg in einer "
            "Schülerzeitung abdrucken. Ist das erlaubt, und wie nenne ich die "
            "Quelle?\n\nViele Grüße\nAnna Müller\n"
        ),
    ),
    DemoTicket(
        queue="permissions",
        title="Permission statement for my photographs",
        customer="lucia.fernandez@example.net",
        customer_name="Lucía Fernández",
        body=(
            "Hello,\n\nplease find attached my permission statement for the two "
            "photographs I uploaded yesterday.\n\nRegards,\nLucía\n"
        ),
        attachments=(("permission-statement.txt", "text"),),
        steps=(
            Step(
                "note",
                "carla",
                "Statement names both files and CC BY-SA 4.0; ready for review.",
            ),
        ),
    ),
    DemoTicket(
        queue="photosubmission",
        title="Foto der Zugspitze für den Artikel",
        customer="peter.huber@example.at",
        customer_name="Peter Huber",
        body=(
            "Grüß Gott,\n\nanbei ein Foto der Zugspitze, das ich selbst "
            "aufgenommen habe. Gerne unter CC BY 4.0 für den Artikel.\n\n"
            "Peter Huber\n"
        ),
        attachments=(("zugspitze.png", "png"),),
    ),
    DemoTicket(
        queue="",  # the default queue: mail no other queue took lands there
        title="Who do I ask about donations?",
        customer="sam.okafor@example.com",
        customer_name="Sam Okafor",
        body="Hi, I would like to donate. Who can I talk to?\n\nSam\n",
    ),
]
