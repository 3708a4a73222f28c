"""``helpline ticket``: create, list, show, search, answer and move tickets as an agent.

Every verb acts as the agent named by ``--as`` and sees exactly what that agent may see:
a ticket the agent may not read is "not found", like a ticket that does not exist.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Prefetch

from helpline.actions import admin, mentions, read_audit
from helpline.actions.access import access_ticket
from helpline.actions.articles import NewArticle, add_note
from helpline.actions.disclosure import (
    HIDDEN_TICKET,
    TICKET_KEYS,
    present_history,
    present_links,
    present_merges,
)
from helpline.actions.tickets import create_ticket, move_ticket
from helpline.management.base import (
    HelplineCommand,
    UsageError,
    acting_agent,
    email_address,
    positive_int,
    show_time,
)
from helpline.models import (
    Article,
    ArticleChannel,
    Attachment,
    HistoryEntry,
    Priority,
    ReadKind,
    SenderType,
    StateType,
    Ticket,
)
from helpline.responses import replies

RELATIONS = {"linked": "linked with", "parent": "parent of", "child": "child of"}
# Who speaks in the first article of a ticket an agent records: on the phone and by
# email the customer asks; an internal note is the agent's own.
SENDER_BY_CHANNEL = {
    ArticleChannel.PHONE: SenderType.CUSTOMER,
    ArticleChannel.EMAIL: SenderType.CUSTOMER,
    ArticleChannel.INTERNAL: SenderType.AGENT,
}


class Command(HelplineCommand):
    help = "Create, list and show tickets, acting as an agent (--as LOGIN)."
    # Tests and scripts may hand over the stream '--body-file -' reads.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = self.verbs(parser)
        self._add_create(verbs)
        self._add_list(verbs)
        self._add_show(verbs)
        self._add_search(verbs)
        self._add_reply(verbs)
        self._add_note(verbs)
        self._add_spam(verbs)
        self._add_move(verbs)

    def _add_create(self, verbs: Any) -> None:
        create = verbs.add_parser(
            "create",
            help="Create a ticket; prints its number.",
            description=(
                "Record a ticket with its first article (needs the 'create' "
                "permission on the queue). Nothing is sent to the customer."
            ),
        )
        self.add_as_agent(create)
        create.add_argument("--queue", required=True, help="The queue's name.")
        create.add_argument("--title", required=True)
        create.add_argument(
            "--customer",
            type=email_address,
            metavar="EMAIL",
            help="The customer's email address.",
        )
        create.add_argument(
            "--priority",
            type=int,
            choices=Priority.values,
            default=Priority.NORMAL,
            help="1 (very low) to 5 (very high); default %(default)s.",
        )
        create.add_argument(
            "--channel",
            choices=[
                ArticleChannel.PHONE,
                ArticleChannel.INTERNAL,
                ArticleChannel.EMAIL,
            ],
            default=ArticleChannel.PHONE,
            help=(
                "How the request came in: phone (default) and email record the "
                "customer's words, internal an agent's note."
            ),
        )
        _add_body_options(create, "The text of the first article.", required=True)
        self.add_json_flag(create)
        create.set_defaults(handler=self.create)

    def _add_list(self, verbs: Any) -> None:
        listing = verbs.add_parser(
            "list",
            help="List the tickets the agent may see, newest first.",
        )
        self.add_as_agent(listing)
        listing.add_argument("--queue", help="Only this queue.")
        states = listing.add_mutually_exclusive_group()
        states.add_argument(
            "--state-type",
            action="append",
            choices=StateType.values,
            metavar="TYPE",
            help=(
                "Only tickets whose state has this type; repeatable. Types: "
                f"{', '.join(StateType.values)}."
            ),
        )
        states.add_argument(
            "--open",
            action="store_true",
            help="Only open tickets (new, open and pending).",
        )
        listing.add_argument(
            "--limit",
            type=positive_int,
            default=50,
            metavar="N",
            help="Show at most N tickets (default %(default)s).",
        )
        self.add_json_flag(listing)
        listing.set_defaults(handler=self.list_tickets)

    def _add_show(self, verbs: Any) -> None:
        show = verbs.add_parser(
            "show",
            help="Show a ticket with its articles, attachments and history.",
        )
        show.add_argument("number", metavar="NUMBER")
        self.add_as_agent(show)
        self.add_json_flag(show)
        show.set_defaults(handler=self.show)

    def _add_search(self, verbs: Any) -> None:
        from helpline.search import ORDERS, RELEVANCE

        search = verbs.add_parser(
            "search",
            help="Search the tickets the agent may see (docs/search.md: the syntax).",
            description=(
                'Words must all match; "a phrase", prefix*, -word, and filters such '
                "as queue:NAME state:open priority:>=4 owner:LOGIN created:>2026-01-01."
            ),
        )
        search.add_argument("query", metavar="QUERY", help="The search, in quotes.")
        self.add_as_agent(search)
        search.add_argument(
            "--limit",
            type=positive_int,
            default=25,
            metavar="N",
            help="Show at most N tickets (default %(default)s).",
        )
        search.add_argument(
            "--order",
            choices=[RELEVANCE, *ORDERS],
            default=RELEVANCE,
            help="Result order (default %(default)s).",
        )
        search.add_argument(
            "--archived",
            action="store_true",
            help="Include archived tickets (left out by default).",
        )
        self.add_json_flag(search)
        search.set_defaults(handler=self.search)

    def _add_reply(self, verbs: Any) -> None:
        reply = verbs.add_parser(
            "reply",
            help="Answer a ticket by email, as the web interface's reply does.",
            description=(
                "Answer the customer's last message (or --article ID) with the queue's "
                "salutation, the template or text, the signature and the quoted "
                "original, from the queue's system address. The mail goes through the "
                "outbox ('helpline outbox list' shows it). Needs 'rw' on the queue; "
                "locks the ticket to the agent if nobody holds it."
            ),
        )
        reply.add_argument("number", metavar="NUMBER")
        self.add_as_agent(reply)
        reply.add_argument(
            "--template",
            metavar="NAME",
            help="An answer template of the ticket's queue.",
        )
        _add_body_options(reply, "Text to add after the template's.", required=False)
        reply.add_argument(
            "--article",
            type=positive_int,
            metavar="ID",
            help="Answer this article instead of the customer's last one.",
        )
        reply.add_argument(
            "--reply-all",
            action="store_true",
            help="Copy (Cc) everyone the answered message was addressed to.",
        )
        reply.add_argument(
            "--state",
            metavar="STATE",
            help="Set this state afterwards, e.g. 'closed successful' (not pending).",
        )
        self.add_json_flag(reply)
        reply.set_defaults(handler=self.reply)

    def _add_move(self, verbs: Any) -> None:
        move = verbs.add_parser(
            "move",
            help="Move a ticket to another queue, as the web interface's move does.",
            description=(
                "Move the ticket into --queue. Needs 'move_into' on both queues; a "
                "ticket locked by another agent is refused. The ticket is unlocked and "
                "its owner stays as it was: --take makes you the owner, with the lock "
                "(needs 'rw' on the new queue)."
            ),
        )
        move.add_argument("number", metavar="NUMBER")
        self.add_as_agent(move)
        move.add_argument("--queue", required=True, help="The new queue's name.")
        move.add_argument(
            "--take",
            action="store_true",
            help="Become the ticket's owner (locked to you) as well.",
        )
        self.add_json_flag(move)
        move.set_defaults(handler=self.move)

    # --- create ---------------------------------------------------------------------
    def _add_spam(self, verbs: Any) -> None:
        for verb, what in (
            ("spam", "Spam: to the junk queue, the mail learned as spam"),
            ("not-spam", "Not spam: back where routing puts it, learned as ham"),
        ):
            parser = verbs.add_parser(verb, help=f"{what} (docs/spam.md).")
            parser.add_argument("numbers", metavar="NUMBER", nargs="+")
            self.add_as_agent(parser)
            self.add_json_flag(parser)
            parser.set_defaults(handler=self.spam, spam=verb == "spam")

    def spam(self, options: dict[str, Any]) -> None:
        """Each ticket through ``actions.spam``; one that fails stops no other."""
        from helpline.actions.spam import mark_not_spam, mark_spam
        from helpline.errors import HelplineError

        agent = acting_agent(options["as_login"])
        action = mark_spam if options["spam"] else mark_not_spam
        rows, failed = [], 0
        for number in options["numbers"]:
            try:
                result = action(agent, access_ticket(agent, number=number).pk)
            except HelplineError as exc:
                failed += 1
                rows.append({"number": number, "ok": False, "error": exc.message})
                continue
            rows.append(
                {
                    "number": number,
                    "ok": True,
                    "queue": result.queue,
                    "moved": result.moved,
                    "learned": result.learned,
                    "not_learned": result.not_learned,
                }
            )
        if options["json"]:
            self.emit_json(rows)
        else:
            for r in rows:
                said = (
                    f"error: {r['error']}"
                    if not r["ok"]
                    else ("moved to " if r["moved"] else "stays in ")
                    + r["queue"]
                    + (
                        f"; not learned: {r['not_learned']}"
                        if r["not_learned"]
                        else f"; {r['learned']} message(s) learned"
                    )
                )
                self.stdout.write(f"{r['number']}: {said}")
        if failed:
            raise CommandError(f"{failed} of {len(rows)} tickets failed.")

    def create(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        queue = admin.get_queue(options["queue"])
        channel = options["channel"]
        body = options["body"]
        if body is None:
            body = self._read_body(options["body_file"], options.get("stdin"))
        customer = options["customer"] or ""
        sender = SENDER_BY_CHANNEL[channel]
        from_customer = sender == SenderType.CUSTOMER
        ticket, _ = create_ticket(
            agent,
            queue=queue,
            title=options["title"],
            customer_email=customer,
            priority=options["priority"],
            article=NewArticle(
                channel=channel,
                sender_type=sender,
                subject=options["title"],
                body_text=body,
                from_addr=customer if from_customer else agent.email,
                incoming=from_customer,
            ),
        )
        if options["json"]:
            self.emit_json(
                {
                    "id": ticket.pk,
                    "number": ticket.number,
                    "title": ticket.title,
                    "queue": queue.name,
                }
            )
        else:
            self.stdout.write(ticket.number)

    @staticmethod
    def _read_body(path: str, stdin: Any) -> str:
        if path == "-":
            text: str = (stdin or sys.stdin).read()
            return text
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text.") from exc

    # --- note -----------------------------------------------------------------------
    def _add_note(self, verbs: Any) -> None:
        note = verbs.add_parser(
            "note",
            help="Add an internal note; @login mentions notify those agents.",
            description=(
                "Add a note (needs 'note' on the queue). '@login' notifies that agent "
                "and lists the ticket under its Mentions, if it may read the ticket; "
                "logins that were not notified are named on standard error."
            ),
        )
        note.add_argument("number", metavar="NUMBER")
        self.add_as_agent(note)
        note.add_argument("--subject", default="")
        _add_body_options(note, "The text of the note.", required=True)
        self.add_json_flag(note)
        note.set_defaults(handler=self.note)

    def note(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        ticket = access_ticket(agent, number=options["number"])
        text = options["body"] or ""
        if options["body_file"]:
            text = self._read_body(options["body_file"], options.get("stdin"))
        article = add_note(agent, ticket.pk, text, subject=options["subject"])
        outcome = mentions.outcome_of(article)
        if options["json"]:
            self.emit_json(
                {
                    "ticket": ticket.number,
                    "article_id": article.pk,
                    "mentioned": list(outcome.notified),
                    "not_notified": list(outcome.not_notified),
                }
            )
        else:
            self.stdout.write(f"Note {article.pk} added to {ticket.number}.")
        if outcome.not_notified:
            self.stderr.write(
                "Not notified: "
                + ", ".join("@" + login for login in outcome.not_notified)
                + ". Only agents who may read this ticket are notified of a mention."
            )

    # --- reply ----------------------------------------------------------------------
    def reply(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        ticket = access_ticket(agent, number=options["number"])
        text = options["body"] or ""
        if options["body_file"]:
            text = self._read_body(options["body_file"], options.get("stdin"))
        if not options["template"] and not text.strip():
            raise UsageError("Give --template NAME, --body TEXT or --body-file FILE.")
        article = replies.reply(
            agent,
            ticket.pk,
            article_id=options["article"],
            text=text,
            template=options["template"],
            reply_all=options["reply_all"],
            next_state=options["state"],
        )
        outbox = article.outbox.order_by("-id").first()
        data = {
            "ticket": ticket.number,
            "article_id": article.pk,
            "message_id": article.message_id,
            "to": article.to_addr,
            "cc": article.cc_addr,
            "subject": article.subject,
            "outbox_id": outbox.pk if outbox else None,
            "outbox_status": outbox.status if outbox else None,
        }
        if options["json"]:
            self.emit_json(data)
            return
        cc = f", cc {article.cc_addr}" if article.cc_addr else ""
        self.stdout.write(
            f"Reply to {article.to_addr}{cc} queued as outbox {data['outbox_id']} "
            f"(article {article.pk}, {article.message_id})."
        )

    # --- move -----------------------------------------------------------------------
    def move(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        ticket = access_ticket(agent, number=options["number"])
        queue = admin.get_queue(options["queue"])
        moved = move_ticket(agent, ticket.pk, queue, take=options["take"])
        data = {
            "ticket": moved.number,
            "queue": queue.name,
            "owner": _login(moved.owner),
            "locked": moved.locked,
        }
        if options["json"]:
            self.emit_json(data)
            return
        owner = data["owner"] or "nobody"
        self.stdout.write(
            f"Ticket {moved.number} moved to {queue.name}; owner: {owner}"
            + (" (locked)." if moved.locked else ".")
        )

    # --- list -----------------------------------------------------------------------
    def list_tickets(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        tickets = Ticket.objects.visible_to(agent).select_related(
            "queue", "state", "owner", "customer"
        )
        if options["queue"]:
            tickets = tickets.filter(queue=admin.get_queue(options["queue"]))
        if options["open"]:
            tickets = tickets.open()
        elif options["state_type"]:
            tickets = tickets.filter(state_type__in=options["state_type"])
        tickets = tickets.order_by("-created", "-id")[: options["limit"]]
        rows = [ticket_summary(t) for t in tickets]
        if options["json"]:
            self.emit_json(rows)
            return
        self.emit_table(
            ["NUMBER", "QUEUE", "STATE", "PRIO", "OWNER", "CUSTOMER", "TITLE"],
            [
                (
                    r["number"],
                    r["queue"],
                    r["state"],
                    r["priority"],
                    r["owner"] or "-",
                    r["customer"] or "-",
                    r["title"],
                )
                for r in rows
            ],
            empty="No tickets.",
        )

    # --- show -----------------------------------------------------------------------
    def show(self, options: dict[str, Any]) -> None:
        agent = acting_agent(options["as_login"])
        ticket = access_ticket(agent, number=options["number"])
        data = ticket_details(agent, ticket)
        # Written before anything is printed: a read the audit cannot take fails.
        read_audit.record(
            agent, ticket, ReadKind.TICKET, channel="cli", client=self.read_client()
        )
        mentions.mark_seen(agent, ticket)  # read: it leaves the agent's mentions
        if options["json"]:
            self.emit_json(data)
        else:
            self.stdout.write(render_ticket(data))

    # --- search ---------------------------------------------------------------------
    def search(self, options: dict[str, Any]) -> None:
        from helpline.search import search_tickets

        agent = acting_agent(options["as_login"])
        result = search_tickets(
            agent,
            options["query"],
            archived=None if options["archived"] else False,
            order=options["order"],
            limit=options["limit"],
        )
        found = Ticket.objects.visible_to(agent).select_related(
            "queue", "state", "owner", "customer"
        )
        by_id = {t.pk: t for t in found.filter(pk__in=result.ticket_ids)}
        rows = [ticket_summary(by_id[pk]) for pk in result.ticket_ids if pk in by_id]
        if options["json"]:
            self.emit_json(
                {
                    "total": result.total,
                    "total_capped": result.total_capped,
                    "hints": result.hints,
                    "tickets": rows,
                }
            )
            return
        for hint in result.hints:  # beside the table, not in it
            self.stderr.write(f"note: {hint}")
        self.emit_table(
            ["NUMBER", "QUEUE", "STATE", "PRIO", "TITLE"],
            [
                (r["number"], r["queue"], r["state"], r["priority"], r["title"])
                for r in rows
            ],
            empty="No tickets found.",
        )
        if rows:
            more = "more than " if result.total_capped else ""
            self.stdout.write(f"{len(rows)} of {more}{result.total} shown.")


def _add_body_options(parser: Any, body_help: str, *, required: bool) -> None:
    """``--body TEXT`` or ``--body-file FILE`` ('-': standard input)."""
    body = parser.add_mutually_exclusive_group(required=required)
    body.add_argument("--body", help=body_help)
    body.add_argument(
        "--body-file",
        metavar="FILE",
        help="Read the text from FILE (UTF-8); '-' reads standard input.",
    )


def _login(user: Any | None) -> str | None:
    return user.get_username() if user is not None else None


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """The fields of a ticket, as listed (queue, state, owner, customer selected)."""
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "queue": ticket.queue.name,
        "state": ticket.state.name,
        "state_type": ticket.state_type,
        "priority": ticket.priority,
        "locked": ticket.locked,
        "owner": _login(ticket.owner),
        "customer": ticket.customer.email if ticket.customer else None,
        "created": ticket.created,
        "changed": ticket.changed,
    }


def ticket_details(agent: Any, ticket: Ticket) -> dict[str, Any]:
    """Everything about a ticket ``agent`` may read, in a fixed number of queries
    however long it is; other tickets only as ``actions.disclosure`` shows them."""
    attachments = Attachment.objects.select_related("blob").order_by("id")
    articles = (
        Article.objects.filter(ticket=ticket)
        .select_related("created_by")
        .prefetch_related(Prefetch("attachments", queryset=attachments))
        .order_by("created", "id")
    )
    history = present_history(
        agent,
        list(
            HistoryEntry.objects.filter(ticket=ticket)
            .select_related("actor")
            .order_by("created", "id")
        ),
    )
    merges = present_merges(agent, ticket)
    return {
        **ticket_summary(ticket),
        "responsible": _login(ticket.responsible),
        "customer_name": ticket.customer.name if ticket.customer else None,
        "pending_until": ticket.pending_until,
        "closed_at": ticket.closed_at,
        "archived": ticket.archived,
        "merged_into": merges.merged_into.number if merges.merged_into else None,
        "merged_into_hidden": merges.merged_into_hidden,
        "merged_here": [t.number for t in merges.merged_here],
        "links": [
            {
                "ticket": link.ticket.number,
                "title": link.ticket.title,
                "type": link.type,
                "relation": link.relation,
            }
            for link in present_links(agent, ticket)
        ],
        "version": ticket.version,
        "articles": [_article(a) for a in articles],
        "history": [
            {
                "type": h.entry.type,
                "actor": _login(h.entry.actor),
                "created": h.entry.created,
                "article_id": h.entry.article_id,
                "data": h.data,
                "hidden": list(h.hidden),
            }
            for h in history
        ],
    }


def _article(article: Article) -> dict[str, Any]:
    return {
        "id": article.pk,
        "created": article.created,
        "created_by": _login(article.created_by),
        "channel": article.channel,
        "sender_type": article.sender_type,
        "incoming": article.incoming,
        "visible_to_customer": article.visible_to_customer,
        "headers": {
            "from": article.from_addr,
            "to": article.to_addr,
            "cc": article.cc_addr,
            "bcc": article.bcc_addr,
            "reply_to": article.reply_to,
            "subject": article.subject,
            "message_id": article.message_id,
            "in_reply_to": article.in_reply_to,
            "references": article.references,
        },
        "body_text": article.body_text,
        "body_html": article.body_html,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.blob.sha256,
                "inline": a.inline,
                "content_id": a.content_id,
            }
            for a in article.attachments.all()
        ],
    }


def render_ticket(data: dict[str, Any]) -> str:
    """The ticket as text for a terminal: fields, then articles, then history."""
    fields = [
        ("Title", data["title"]),
        ("Queue", data["queue"]),
        ("State", data["state"]),
        ("Priority", data["priority"]),
        ("Locked", "yes" if data["locked"] else "no"),
        ("Owner", data["owner"] or "-"),
        ("Responsible", data["responsible"] or "-"),
        ("Customer", data["customer"] or "-"),
        ("Created", show_time(data["created"])),
        ("Changed", show_time(data["changed"])),
    ]
    if data["pending_until"]:
        fields.append(("Pending until", show_time(data["pending_until"])))
    if data["archived"]:
        fields.append(("Archived", "yes"))
    if data["merged_into"] or data["merged_into_hidden"]:
        fields.append(("Merged into", data["merged_into"] or str(HIDDEN_TICKET)))
    if data["merged_here"]:
        fields.append(("Merged here", ", ".join(data["merged_here"])))
    lines = [f"Ticket {data['number']}"]
    lines += [f"  {name + ':':<13}{value}" for name, value in fields]
    for index, article in enumerate(data["articles"], start=1):
        lines += ["", *_render_article(index, article)]
    if data["links"]:
        lines += ["", "Links:"]
        lines += [
            f"  {RELATIONS[link['relation']]} {link['ticket']}  {link['title']}"
            for link in data["links"]
        ]
    lines += ["", "History:"]
    lines += [
        f"  {show_time(h['created'])}  {h['type']:<15} {h['actor'] or 'system'}"
        + (f"  {_render_data(h['type'], h['data'], h['hidden'])}" if h["data"] else "")
        for h in data["history"]
    ]
    return "\n".join(lines)


def _render_article(index: int, article: dict[str, Any]) -> list[str]:
    author = article["created_by"] or article["headers"]["from"] or "system"
    lines = [
        f"--- Article {index} ({article['channel']}, {article['sender_type']}, "
        f"{show_time(article['created'])}, by {author}) ---"
    ]
    labels = {"from": "From", "to": "To", "cc": "Cc", "subject": "Subject"}
    lines += [
        f"{label}: {article['headers'][key]}"
        for key, label in labels.items()
        if article["headers"][key]
    ]
    lines += ["", article["body_text"].rstrip() or "(no text)"]
    lines += [
        f"[attachment] {a['filename']} ({a['content_type']}, {a['size']} bytes, "
        f"sha256 {a['sha256']})"
        for a in article["attachments"]
    ]
    return lines


def _render_data(type_: str, data: dict[str, Any], hidden: list[str]) -> str:
    """``key=value`` pairs; a withheld ticket number says so, other withheld
    details (what moved into a hidden ticket) are left out."""
    return ", ".join(
        f"{key}={HIDDEN_TICKET if key in hidden else value}"
        for key, value in data.items()
        if key not in hidden or key in TICKET_KEYS.get(type_, ())
    )
