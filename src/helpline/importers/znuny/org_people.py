"""Groups, roles, agents and their passwords.

Agents are Django users found by login.  Znuny's user 1 (``root@localhost``, made by
Znuny's installer) becomes the importing "system" agent: inactive, its factory
password not carried over (``ctx.shared["system_agent"]``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import to_language

from helpline.importers.znuny import hashers
from helpline.importers.znuny.org_sync import Wanted, sync_named, valid_ids
from helpline.importers.znuny.runner import Context
from helpline.models import AgentProfile, Group, Role

SYSTEM_AGENT_ID = 1


def _sync_named_table(ctx: Context, kind: str, model: Any, table: str) -> None:
    """Groups and roles: name, comment and valid, from a Znuny table of that shape."""
    valid = valid_ids(ctx)
    sync_named(
        ctx,
        kind,
        model,
        (
            Wanted(
                r["id"],
                ctx.source.text(r["name"]),
                {
                    "comment": ctx.source.text(r["comments"]),
                    "valid": r["valid_id"] in valid,
                },
            )
            for r in ctx.source.rows(
                f"SELECT id, name, comments, valid_id FROM {table} ORDER BY id"  # noqa: S608 - a constant
            )
        ),
    )


def import_groups(ctx: Context) -> None:
    _sync_named_table(ctx, "group", Group, "permission_groups")


def import_roles(ctx: Context) -> None:
    _sync_named_table(ctx, "role", Role, "roles")


def _preferences(ctx: Context, key: str) -> dict[int, str]:
    return {
        int(r["user_id"]): ctx.source.text(r["preferences_value"])
        for r in ctx.source.rows(
            "SELECT user_id, preferences_value FROM user_preferences "
            "WHERE preferences_key = %s",
            (key,),
        )
    }


def import_agents(ctx: Context) -> None:
    """Login, names, e-mail (preference ``UserEmail``), valid -> active, language."""
    valid = valid_ids(ctx)
    emails = _preferences(ctx, "UserEmail")
    languages = _preferences(ctx, "UserLanguage")
    rows = ctx.source.all(
        "SELECT id, login, first_name, last_name, valid_id FROM users ORDER BY id"
    )
    wanted = []
    for r in rows:
        uid = int(r["id"])
        login = ctx.source.text(r["login"])
        if len(login) > 150:
            ctx.report.skip("agent", uid, "login longer than 150 characters")
            continue
        wanted.append(
            Wanted(
                uid,
                login,
                {
                    "first_name": ctx.source.text(r["first_name"])[:150],
                    "last_name": ctx.source.text(r["last_name"])[:150],
                    "email": emails.get(uid, "")[:254],
                    "is_active": uid != SYSTEM_AGENT_ID and r["valid_id"] in valid,
                },
            )
        )

    def new_users(created: list[Any]) -> None:
        for user in created:
            user.set_unusable_password()
        User.objects.bulk_update(created, ["password"])

    synced = sync_named(
        ctx, "agent", User, wanted, name_field="username", after_create=new_users
    )
    with transaction.atomic():
        _languages(ctx, synced.objects, languages)
    system = synced.objects.get(str(SYSTEM_AGENT_ID))
    if system is not None:
        ctx.shared["system_agent"] = system


def _languages(
    ctx: Context, agents: dict[str, User], languages: dict[int, str]
) -> None:
    """Each agent's ``AgentProfile`` (made if missing) with Znuny's language."""
    profiles = {
        p.user_id: p
        for p in AgentProfile.objects.filter(
            user_id__in=[u.pk for u in agents.values()]
        )
    }
    new, changed = [], []
    for source_id, user in agents.items():
        code = languages.get(int(source_id))
        language = to_language(code)[:10] if code else None
        profile = profiles.get(user.pk)
        if profile is None:
            new.append(AgentProfile(user=user, language=language or "en"))
        elif language and profile.language != language:
            profile.language = language
            changed.append(profile)
    AgentProfile.objects.bulk_create(new)
    AgentProfile.objects.bulk_update(changed, ["language"])


def import_passwords(ctx: Context) -> None:
    """Znuny's stored hash as a Django password that a Znuny hasher verifies (upgraded
    to Argon2 on the first login); a plain-text password is hashed with Argon2 now.

    Znuny's ``AuthModule::DB::CryptType`` is set in its ``Kernel/Config.pm``, not in
    the database, so "plain" is told by the value: one that has the shape of none of
    Znuny's hashes can only be a password kept as plain text (with any other
    CryptType, Znuny's ``Auth::DB`` could never accept it).  A plain-text password
    that happens to look like a hash (64 hex digits, 13 characters, ...) cannot be
    told apart: that agent has to reset it.

    The agent mapping's cursor keeps a digest of the stored value: a later run
    writes the password again only when it changed in Znuny, so a password the agent
    set in Helpline since is kept.  An account that Helpline had before the first
    import (found by its login) keeps its own password."""
    kind = "password"
    entries = ctx.mapping.kind("agent")
    rows = ctx.source.all("SELECT id, pw FROM users ORDER BY id")
    report = ctx.report[kind]
    report.source += len(rows)
    ctx.progress.start(kind, len(rows))
    users = {
        u.pk: u
        for u in User.objects.filter(
            pk__in=[e.target_id for e in entries.values() if e.target_id is not None]
        )
    }
    changed: list[User] = []
    remembered: list[tuple[object, int | None, str, dict[str, Any], str]] = []
    for r in rows:
        uid = str(r["id"])
        entry = entries.get(uid)
        user = users.get(entry.target_id or 0) if entry is not None else None
        if entry is None or user is None:
            ctx.report.skip(kind, uid, "the agent was not imported")
            continue
        if int(r["id"]) == SYSTEM_AGENT_ID:
            ctx.report.skip(kind, uid, "the system agent's factory password")
            continue
        stored = ctx.source.text(r["pw"])
        digest = hashlib.sha256(stored.encode("utf-8", "surrogateescape")).hexdigest()
        if entry.cursor.get("pw") == digest or entry.cursor.get("kept"):
            report.unchanged += 1
            continue
        if "pw" not in entry.cursor and user.has_usable_password():
            # An account Helpline had before the import (the import makes its
            # agents without a password): its own password is not replaced.
            ctx.report.skip(
                kind, uid, "a Helpline account of that login: its password kept"
            )
            remembered.append(
                (uid, user.pk, entry.stamp, {**entry.cursor, "kept": True}, "")
            )
            continue
        if not stored:
            user.set_unusable_password()
            ctx.report.problem(kind, uid, "no password in Znuny")
        else:
            encoded = hashers.django_password(stored)
            if encoded is None and hashers.algorithm_for(stored) is not None:
                user.set_unusable_password()
                ctx.report.problem(kind, uid, "password hash too long: must be reset")
            elif encoded is None:  # plain text: hashed now, never kept
                user.password = make_password(stored)
                ctx.report.problem(kind, uid, "plain-text password hashed with Argon2")
            else:
                user.password = encoded
        changed.append(user)
        remembered.append(
            (uid, user.pk, entry.stamp, {**entry.cursor, "pw": digest}, "")
        )
        if entry.cursor.get("pw"):
            report.updated += 1
        else:
            report.imported += 1
    with transaction.atomic():
        User.objects.bulk_update(changed, ["password"], batch_size=500)
        ctx.mapping.remember_many("agent", remembered)
    ctx.progress.advance(len(rows))
