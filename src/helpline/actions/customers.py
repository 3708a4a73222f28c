"""Customers: the email identities tickets belong to.

A customer's address is stored in canonical form (``helpline.addresses.normalize``:
lower case, IDNA domain, needless quotes removed), so that every way of writing one
mailbox finds the same customer, and the follow-up check compares like with like.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from helpline.addresses import normalize
from helpline.errors import InvalidInput
from helpline.models import Customer


def customer_address(email: str) -> str:
    """The canonical form of a customer's address; '' for none; ``InvalidInput`` when
    it is not one usable address."""
    email = email.strip()
    if not email:
        return ""
    canonical = normalize(email)
    try:
        validate_email(canonical)
    except ValidationError as exc:
        raise InvalidInput(f"{email!r} is not an email address.") from exc
    return canonical


def get_or_create_customer(email: str, name: str = "") -> Customer | None:
    """The customer with this address (canonical form), created on first contact."""
    canonical = customer_address(email)
    if not canonical:
        return None
    # A row stored before addresses were canonical (lower-cased only) is found too.
    legacy = email.strip().lower()
    found = {c.email: c for c in Customer.objects.filter(email__in={canonical, legacy})}
    customer = found.get(canonical) or found.get(legacy)
    if customer is not None:
        if name and not customer.name:
            customer.name = name[:200]
            customer.save(update_fields=["name"])
        return customer
    customer = Customer(email=canonical, name=name[:200])
    # Created concurrently meanwhile: the conflict returns that row's id (one
    # statement, no savepoint).
    Customer.objects.bulk_create(
        [customer],
        update_conflicts=True,
        unique_fields=["email"],
        update_fields=["email"],
    )
    if customer.pk is None:  # a database that cannot return ids from an upsert
        return Customer.objects.get(email=canonical)
    return customer
