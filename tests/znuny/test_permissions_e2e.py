"""After the import every agent sees exactly the tickets Znuny's permissions gave it.

Znuny itself is asked (its ``TicketSearch`` with the agent's ``UserID`` and ``ro``,
which applies its group permissions, direct and through roles) and its answer is
compared, agent by agent, with Helpline's one filter behind every list, search and
feed, and with the ticket view and the REST API for a ticket on each side of the line.

Znuny also lets an agent open a ticket it owns, is responsible for or watches without
a grant on its queue (Ticket::Permission OwnerCheck/ResponsibleCheck/WatcherCheck);
Helpline gives access by grant only (``actions.access``), so those are not part of the
comparison: the import report counts them (docs/migrating-from-znuny.md).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from helpline.importers.znuny import runner
from helpline.importers.znuny.source import Source
from helpline.models import ImportedObject, Ticket
from tests.web import web_settings
from tests.znuny import sources

pytestmark = pytest.mark.django_db

WHAT_ZNUNY_SHOWS = r"""
my $UserObject   = $Kernel::OM->Get('Kernel::System::User');
my $TicketObject = $Kernel::OM->Get('Kernel::System::Ticket');
my %Users = $UserObject->UserList( Type => 'Short', Valid => 0 );
my %Valid = $UserObject->UserList( Type => 'Short', Valid => 1 );
for my $UserID ( sort { $a <=> $b } keys %Users ) {
    next if $UserID == 1;
    my @IDs = $Valid{$UserID} ? $TicketObject->TicketSearch(
        Result       => 'ARRAY',
        UserID       => $UserID,
        Permission   => 'ro',
        Limit        => 100_000_000,
        ArchiveFlags => [ 'y', 'n' ],
    ) : ();
    print join( "\t", $UserID, $Users{$UserID}, join( ',', sort { $a <=> $b } @IDs ) ), "\n";
}
"""


def znuny_view(src: sources.ZnunySource) -> dict[str, set[int]]:
    """login -> the Znuny ticket ids Znuny's own search shows that agent."""
    seen: dict[str, set[int]] = {}
    for line in sources.perl(src, WHAT_ZNUNY_SHOWS).splitlines():
        _user_id, login, ids = line.split("\t")
        seen[login] = {int(i) for i in ids.split(",") if i}
    return seen


def test_every_agent_sees_exactly_the_tickets_znunys_permissions_gave_it(
    znuny_copy, client, settings
):
    expected = znuny_view(znuny_copy)
    assert len(expected) >= 4
    assert any(expected.values()) and not all(
        len(ids) == max(len(i) for i in expected.values()) for ids in expected.values()
    ), "the database must hold agents who see different tickets"

    source = Source(znuny_copy.url)
    try:
        runner.run(source)
        total = source.count("ticket")
    finally:
        source.close()
    ticket_of = dict(
        ImportedObject.objects.filter(source=source.name, kind="ticket").values_list(
            "source_id", "target_id"
        )
    )
    assert len(ticket_of) == total

    web_settings(settings)
    for login, znuny_ids in expected.items():
        agent = User.objects.get(username=login)
        wanted = {ticket_of[str(i)] for i in znuny_ids}
        visible = set(Ticket.objects.visible_to(agent).values_list("pk", flat=True))
        assert visible == wanted, login

        # The ticket view and the API draw the same line.
        if not agent.is_active:
            continue
        client.force_login(agent)
        hidden = set(ticket_of.values()) - wanted
        for pk, status in (
            (min(wanted, default=None), 200),
            (min(hidden, default=None), 404),
        ):
            if pk is None:
                continue
            number = Ticket.objects.get(pk=pk).number
            assert client.get(reverse("zoom", args=[number])).status_code == status, (
                login,
                number,
            )
            assert client.get(f"/api/v1/tickets/{number}").status_code == status, (
                login,
                number,
            )
        client.logout()
