"""Customer users, ticket states and priorities.

A Helpline customer is an e-mail identity: Znuny's customer users are found by their
address (several logins with one address become one customer; each login is mapped
to it).  Helpline has no customer companies: they are counted as skipped.

States are found by name; a state Helpline does not have is created with its type.
Sites rename and delete Znuny's defaults, so nothing is assumed of the names: the
type says what a state means.  Priorities are Helpline's fixed 1..5: a Znuny
priority maps to the number its name starts with ("3 normal"), else to its rank.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Any

from django.db import transaction

from helpline.importers.znuny.org_sync import Wanted, sync_named, valid_ids
from helpline.importers.znuny.runner import Context
from helpline.models import Customer, Priority, StateType, TicketState

BATCH = 1000
STATE_TYPES = {
    "new": StateType.NEW,
    "open": StateType.OPEN,
    "closed": StateType.CLOSED,
    "pending reminder": StateType.PENDING_REMINDER,
    "pending auto": StateType.PENDING_AUTO,
    "removed": StateType.REMOVED,
    "merged": StateType.MERGED,
}
# Znuny's default Ticket::StateAfterPending.
AFTER_PENDING = {
    "pending auto close+": "closed successful",
    "pending auto close-": "closed unsuccessful",
}


def import_customers(ctx: Context) -> None:
    kind = "customer"
    report = ctx.report[kind]
    total = ctx.source.count("customer_user")
    report.source += total
    ctx.progress.start(kind, total)
    rows = ctx.source.rows(
        "SELECT login, email, first_name, last_name FROM customer_user ORDER BY id"
    )
    while batch := list(islice(rows, BATCH)):
        with transaction.atomic():
            _customers(ctx, batch)
        ctx.progress.advance(len(batch))
    for r in ctx.source.rows("SELECT customer_id FROM customer_company"):
        ctx.report["customer_company"].source += 1
        ctx.report.skip(
            "customer_company", r["customer_id"], "Helpline has no customer companies"
        )


def _customers(ctx: Context, batch: list[dict[str, object]]) -> None:
    kind = "customer"
    report = ctx.report[kind]
    wanted: dict[str, tuple[str, str]] = {}  # login -> (email, name)
    for r in batch:
        login = ctx.source.text(r["login"])  # type: ignore[arg-type]
        email = ctx.source.text(r["email"]).strip().lower()  # type: ignore[arg-type]
        if not email or "@" not in email:
            ctx.report.skip(kind, login, "no e-mail address")
            continue
        name = " ".join(
            ctx.source.text(r[f]).strip()  # type: ignore[arg-type]
            for f in ("first_name", "last_name")
        ).strip()
        wanted[login] = (email[:320], name[:200])
    existing = {
        c.email: c
        for c in Customer.objects.filter(email__in={e for e, _n in wanted.values()})
    }
    new: dict[str, Customer] = {}
    changed: dict[str, Customer] = {}
    for email, name in wanted.values():
        customer = existing.get(email) or new.get(email)
        if customer is None:
            new[email] = Customer(email=email, name=name)
        elif customer.name != name and name:
            customer.name = name
            if customer.pk is not None:
                changed[email] = customer
    created = Customer.objects.bulk_create(list(new.values()), batch_size=BATCH)
    Customer.objects.bulk_update(list(changed.values()), ["name"], batch_size=BATCH)
    by_email = {**existing, **{c.email: c for c in created}}
    report.imported += len(created)
    report.updated += len(changed)
    report.unchanged += sum(
        1 for email, _n in wanted.values() if email not in new and email not in changed
    )
    ctx.mapping.remember_many(
        kind,
        [
            (login, by_email[email].pk, "", {}, "")
            for login, (email, _n) in wanted.items()
        ],
    )


def _after_pending(ctx: Context) -> dict[str, str]:
    """Znuny's ``Ticket::StateAfterPending`` (the site's, else the default)."""
    for table in ("sysconfig_modified", "sysconfig_default"):
        try:
            value = ctx.source.scalar(
                f"SELECT effective_value FROM {table} WHERE name = %s",  # noqa: S608
                ("Ticket::StateAfterPending",),
            )
        except Exception:  # older OTRS: no such table
            ctx.source._conn.rollback()
            continue
        if value:
            pairs = re.findall(
                r"^\s*['\"]?([^:'\"]+?)['\"]?\s*:\s*['\"]?(.+?)['\"]?\s*$",
                str(value),
                re.M,
            )
            if pairs:
                return dict(pairs)
    return dict(AFTER_PENDING)


def import_states(ctx: Context) -> None:
    kind = "state"
    valid = valid_ids(ctx)
    wanted = []
    for r in ctx.source.rows(
        "SELECT s.id, s.name, s.comments, s.valid_id, t.name AS type_name "
        "FROM ticket_state s LEFT JOIN ticket_state_type t ON t.id = s.type_id "
        "ORDER BY s.id"
    ):
        stype = STATE_TYPES.get(ctx.source.text(r["type_name"]))
        if stype is None:
            ctx.report.problem(kind, r["id"], f"state type {r['type_name']!r}: open")
            stype = StateType.OPEN
        wanted.append(
            Wanted(
                r["id"],
                ctx.source.text(r["name"])[:100],
                {
                    "type": stype.value,
                    "comment": ctx.source.text(r["comments"]),
                    "valid": r["valid_id"] in valid,
                },
            )
        )
    synced = sync_named(ctx, kind, TicketState, wanted)
    by_name = {obj.name: obj for obj in synced.objects.values()}
    changed = []
    for name, after in _after_pending(ctx).items():
        state, target = by_name.get(name), by_name.get(after)
        if (
            state is not None
            and target is not None
            and state.next_state_id != target.pk
        ):
            state.next_state_id = target.pk
            changed.append(state)
    TicketState.objects.bulk_update(changed, ["next_state_id"])


def import_priorities(ctx: Context) -> None:
    kind = "priority"
    rows = ctx.source.all("SELECT id, name FROM ticket_priority ORDER BY id")
    report = ctx.report[kind]
    report.source += len(rows)
    remembered: list[tuple[object, int | None, str, dict[str, Any], str]] = []
    for rank, r in enumerate(rows):
        name = ctx.source.text(r["name"])
        match = re.match(r"\s*([1-5])\b", name)
        if match:
            value = int(match.group(1))
        else:
            value = min(Priority.VERY_HIGH, 1 + rank * 5 // max(len(rows), 1))
            ctx.report.problem(
                kind, r["id"], f"priority {name!r} has no number: {value}"
            )
        if ctx.mapping.target(kind, r["id"]) == value:
            report.unchanged += 1
        elif ctx.mapping.target(kind, r["id"]) is None:
            report.imported += 1
        else:
            report.updated += 1
        remembered.append((r["id"], value, name, {}, ""))
    with transaction.atomic():
        ctx.mapping.remember_many(kind, remembered)
