"""Agent interface views, one module per area.

Every view parses its input, calls one domain action (``helpline.actions``) and renders.
Tickets are fetched only through ``access_ticket`` and listed only through
``Ticket.objects.visible_to``.
"""
