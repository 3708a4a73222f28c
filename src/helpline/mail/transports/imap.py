"""Fetching from an IMAP folder (IMAP, IMAPS, IMAP + STARTTLS) with imapclient.

Every message in the folder is fetched (``SEARCH ALL``: the unread flag means nothing,
a person may have read the mail in another client), by UID, with ``BODY.PEEK[]`` so
nothing is marked read before it is stored.  After a batch is stored its messages are
moved to ``move_to`` or flagged ``\\Deleted`` and expunged by UID (``UID EXPUNGE``
where the server has UIDPLUS, so messages someone else flagged are left alone).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from imapclient import DELETED, IMAPClient

from helpline.mail.transports.accounts import tls_context
from helpline.models import MailAccount

if TYPE_CHECKING:
    from helpline.mail.transports.accounts import FetchRun

log = logging.getLogger(__name__)

Protocol = MailAccount.Protocol

BATCH_MESSAGES = 20
BATCH_BYTES = 20 * 1024 * 1024
TIMEOUT = 60.0


def connect(account: MailAccount, *, timeout: float = TIMEOUT) -> IMAPClient:
    """A logged-in client; the caller logs out (``with connect(...) as client``)."""
    implicit_tls = account.protocol == Protocol.IMAPS
    context = tls_context(account)
    client = IMAPClient(
        account.host,
        port=account.port or (993 if implicit_tls else 143),
        ssl=implicit_tls,
        ssl_context=context,
        timeout=timeout,
    )
    try:
        if account.protocol == Protocol.IMAP_STARTTLS:
            client.starttls(context)
        client.login(account.username, account.password)
    except BaseException:
        client.shutdown()
        raise
    return client


def test(account: MailAccount, *, timeout: float = TIMEOUT) -> str:
    with connect(account, timeout=timeout) as client:
        info = client.select_folder(account.folder, readonly=True)
        count = int(info.get(b"EXISTS", 0))
    return (
        f"logged in to {account.host}; folder {account.folder!r} holds "
        f"{count} message(s)"
    )


def remove_from_server(
    client: IMAPClient, account: MailAccount, uids: list[int]
) -> None:
    """Move the stored messages to ``move_to``, or delete them."""
    if account.move_to:
        if not client.folder_exists(account.move_to):
            log.info("creating folder %r for %s", account.move_to, account.name)
            client.create_folder(account.move_to)
        if client.has_capability("MOVE"):
            client.move(uids, account.move_to)
            return
        client.copy(uids, account.move_to)
    client.add_flags(uids, [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def _batches(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    batch: list[int] = []
    total = 0
    for uid in uids:
        if batch and (
            len(batch) >= BATCH_MESSAGES or total + sizes.get(uid, 0) > BATCH_BYTES
        ):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes.get(uid, 0)
    if batch:
        yield batch


def _fetch_bodies(
    client: IMAPClient, uids: list[int], run: FetchRun
) -> dict[int, bytes]:
    """The bytes of each UID; a UID the server refuses is noted and skipped.

    A refused batch is fetched again one UID at a time, so one broken message does not
    hold back its neighbours.  A lost connection (``AbortError``) ends the run.
    """
    try:
        data = client.fetch(uids, [b"BODY.PEEK[]"])
    except IMAPClient.AbortError:
        raise
    except IMAPClient.Error:
        if len(uids) == 1:
            raise
        data = {}
        for uid in uids:
            try:
                data.update(client.fetch([uid], [b"BODY.PEEK[]"]))
            except IMAPClient.AbortError:
                raise
            except IMAPClient.Error as exc:
                run.error(
                    f"UID {uid}", f"cannot be fetched, left on the server ({exc})"
                )
    bodies = {}
    for uid in uids:
        body = data.get(uid, {}).get(b"BODY[]")
        if body is not None:
            bodies[uid] = bytes(body)
    return bodies


def fetch(account: MailAccount, run: FetchRun) -> None:
    with connect(account) as client:
        client.select_folder(account.folder)
        uids = sorted(client.search("ALL"))[: run.limit]
        if not uids:
            return
        sizes = {
            uid: int(item.get(b"RFC822.SIZE", 0))
            for uid, item in client.fetch(uids, [b"RFC822.SIZE"]).items()
        }
        wanted = [
            uid for uid in uids if not run.too_big(f"UID {uid}", sizes.get(uid, 0))
        ]
        for batch in _batches(wanted, sizes):
            try:
                bodies = _fetch_bodies(client, batch, run)
            except IMAPClient.AbortError:
                raise
            except IMAPClient.Error as exc:  # a batch of one the server refused
                run.error(f"UID {batch[0]}", f"cannot be fetched ({exc})")
                continue
            stored = [
                uid for uid, raw in bodies.items() if run.store(raw, f"UID {uid}")
            ]
            if stored:
                remove_from_server(client, account, stored)
                run.removed += len(stored)
            run.dispatch_stored()
