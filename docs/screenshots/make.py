"""Take the screenshots of the agent interface: docs/screenshots/queue.png, zoom.png
and report.png, and of the administration: admin-index.png, admin-queue.png,
admin-mail-account.png and admin-filter.png.

    .venv/bin/python docs/screenshots/make.py
    .venv/bin/python docs/screenshots/make.py --language ar --time-zone Asia/Riyadh

With ``--language`` (a code of settings.LANGUAGES, e.g. de, ar, ja) the agent alice
and the administrator have that language (and ``--time-zone`` its time zone) and the
files are named queue-ar.png, zoom-ar.png, ... admin-filter-ar.png; English keeps the
plain names.

Builds the demo organisation (``helpline.demo``) plus a few more tickets in a fresh
temporary data directory, serves Helpline on a free local port, and photographs the
queue view, a ticket zoom and a report (twelve weeks of made-up closed tickets in
info-en, aggregated as the worker would), then, as the demo administrator, the
administration's index, a queue, a mail account and a postmaster filter,
with Debian's Chromium (``apt-get install chromium``) through Playwright.  Nothing outside the temporary directory and this folder changes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from unittest import mock
from wsgiref.simple_server import WSGIRequestHandler, make_server

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "screenshot-password-1"  # noqa: S105 - a throwaway demo database

os.environ["HELPLINE_DATA_DIR"] = tempfile.mkdtemp(prefix="helpline-screenshots-")
os.environ["HELPLINE_JOBS_IMMEDIATE"] = "1"
os.environ["HELPLINE_SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing is sent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop, plain ORM calls

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

import helpline.web  # noqa: E402

WEB = Path(helpline.web.__file__).parent


def web_settings() -> dict:
    """The interface's settings, for as long as helpline.settings lacks them."""
    changes: dict = {}
    csp = "helpline.web.middleware.ContentSecurityPolicyMiddleware"
    if csp not in settings.MIDDLEWARE:
        changes["MIDDLEWARE"] = [settings.MIDDLEWARE[0], csp, *settings.MIDDLEWARE[1:]]
    # Every engine: the queue view's rows are Jinja2 (helpline.web.jinja); keeping
    # only the first engine once made the queue page answer 500.
    templates = [dict(engine) for engine in settings.TEMPLATES]
    if WEB / "templates" not in templates[0]["DIRS"]:
        templates[0]["DIRS"] = [*templates[0]["DIRS"], WEB / "templates"]
    options = dict(templates[0]["OPTIONS"])
    processors = list(options["context_processors"])
    if "helpline.web.context.helpline" not in processors:
        processors.append("helpline.web.context.helpline")
    options["context_processors"] = processors
    templates[0]["OPTIONS"] = options
    changes["TEMPLATES"] = templates
    changes["STATICFILES_DIRS"] = [WEB / "static"]
    return changes


def at(minutes_ago: int):
    """Run actions as if it were ``minutes_ago`` minutes earlier (realistic ages)."""
    return mock.patch(
        "django.utils.timezone.now",
        return_value=timezone.now() - timedelta(minutes=minutes_ago),
    )


def seed() -> str:
    """The demo plus a busier info-en queue; returns the number of the zoom ticket."""
    from django.contrib.auth import get_user_model

    from helpline.actions import locks, tickets
    from helpline.actions.articles import NewArticle, add_note
    from helpline.actions.tickets import do_create_ticket
    from helpline.demo import seed_demo
    from helpline.models import ArticleChannel, Queue, SenderType
    from helpline.web import presence

    seed_demo(password=PASSWORD)
    queue = Queue.objects.get(name="info-en")
    users = get_user_model().objects
    alice = users.get(username="alice")
    more = [
        ("Broken link in the references of “Photosynthesis”", "Priya Nair", 2, 55),
        ("Can I cite Wikipedia in my thesis?", "Oliver Grant", 3, 140),
        ("Request to remove my personal address", "Helena Duarte", 5, 35),
        ("Copyright question about a map", "Kenji Watanabe", 3, 320),
        ("Thank you for the article on bees", "Rosa Delgado", 1, 1500),
        ("Vandalism on the page about my town", "Marek Nowak", 4, 18),
        ("How are administrators chosen?", "Fatima Zahra", 3, 2900),
        ("Incorrect birth date of a footballer", "Lars Eriksen", 3, 4300),
    ]
    for title, name, priority, minutes in more:
        email = name.lower().replace(" ", ".") + "@example.net"
        with at(minutes):
            do_create_ticket(
                None,
                queue=queue,
                title=title,
                customer_email=email,
                customer_name=name,
                priority=priority,
                article=NewArticle(
                    channel=ArticleChannel.EMAIL,
                    sender_type=SenderType.CUSTOMER,
                    subject=title,
                    body_text="Hello,\n\n" + title + "\n\nThanks!\n",
                    from_addr=f"{name} <{email}>",
                    to_addr="info-en@helpline.localhost",
                    incoming=True,
                ),
            )
    with at(95):
        zoom, _ = do_create_ticket(
            None,
            queue=queue,
            title="Photo of my grandfather used without credit",
            customer_email="ines.moreau@example.fr",
            customer_name="Inès Moreau",
            priority=4,
            article=NewArticle(
                channel=ArticleChannel.EMAIL,
                sender_type=SenderType.CUSTOMER,
                subject="Photo of my grandfather used without credit",
                body_text=(
                    "Hello,\n\nthe article about the village of Saint-Amand uses a "
                    "photograph of my grandfather that I took in 1998. I am happy "
                    "for it to be there, but it should name me as the author.\n\n"
                    "Could you add the credit, or tell me how to do it?\n\n"
                    "Best wishes,\nInès Moreau\n"
                ),
                from_addr="Inès Moreau <ines.moreau@example.fr>",
                to_addr="info-en@helpline.localhost",
                incoming=True,
            ),
        )
    with at(40):
        locks.lock_ticket(alice, zoom.pk)
    with at(38):
        add_note(
            alice,
            zoom.pk,
            "File is on Commons without an author field. Asked her for a "
            "permission statement so the credit can be added.",
        )
    with at(30):
        tickets.set_priority(alice, zoom.pk, 4)
    admin = users.get(username="admin")
    presence.mark(admin, zoom, "viewing")
    return zoom.number


def seed_report_history() -> None:
    """Twelve weeks of tickets in info-en, answered and closed by alice at made-up
    but steady times (a fixed random seed), then the report aggregates."""
    import random

    from django.contrib.auth import get_user_model

    from helpline.actions import articles, tickets
    from helpline.actions.articles import NewArticle
    from helpline.actions.reports_aggregate import update_reports
    from helpline.actions.tickets import do_create_ticket
    from helpline.models import ArticleChannel, Queue, SenderType

    rng = random.Random(18)  # noqa: S311 - made-up figures, not secrets
    queue = Queue.objects.get(name="info-en")
    alice = get_user_model().objects.get(username="alice")
    for day in range(84, 1, -1):
        for _ in range(rng.randint(1, 4 + (84 - day) // 12)):
            received = day * 1440 - rng.randint(8 * 60, 20 * 60)
            answered = received - int(rng.expovariate(1 / (6 * 60))) - 5
            closed = answered - int(rng.expovariate(1 / (30 * 60))) - 30
            with at(received):
                ticket, _ = do_create_ticket(
                    None,
                    queue=queue,
                    title="A question about an article",
                    customer_email=f"reader{rng.randint(1, 500)}@example.net",
                    article=NewArticle(
                        channel=ArticleChannel.EMAIL,
                        sender_type=SenderType.CUSTOMER,
                        body_text="Hello, I have a question.",
                        incoming=True,
                    ),
                )
            with at(max(answered, 1)):
                articles.add_article(
                    alice,
                    ticket.pk,
                    NewArticle(channel=ArticleChannel.PHONE, body_text="Answered."),
                )
            with at(max(closed, 0)):
                tickets.close_ticket(alice, ticket.pk, note="Answered.")
    update_reports()


def seed_mail_admin() -> tuple[int, int]:
    """A mail account and a postmaster filter for the administration's pictures;
    returns their ids."""
    from django.contrib.auth import get_user_model

    from helpline.actions import mail_admin
    from helpline.actions.mail_admin import AccountSettings
    from helpline.mail import filter_admin
    from helpline.models import Queue

    boss = get_user_model().objects.get(username="admin")
    info = Queue.objects.get(name="info-en")
    account = mail_admin.save_account(
        boss,
        None,
        AccountSettings(
            name="info-en mailbox",
            protocol="imaps",
            host="imap.example.org",
            username="info-en",
            password="not-a-real-password",  # noqa: S106 - nothing connects
            move_to="Helpline/Done",
            queue=info,
        ),
    )
    texts = {key: "" for key in filter_admin.SETTABLE}
    texts.update(queue="info-en", priority="2", no_auto_response="yes")
    flt = filter_admin.save_filter(
        boss,
        None,
        filter_admin.FilterForm(
            name="Newsletters to info-en, quietly",
            order=10,
            rows=[
                filter_admin.Condition("List-Id", "contains", "newsletter"),
                filter_admin.Condition("From", "not_regex", r"@wikimedia\.org$"),
            ],
            texts=texts,
            comment="Mailing lists need no auto-response.",
        ),
    )
    return account.pk, flt.pk


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    codes = [code for code, _name in settings.LANGUAGES]
    parser.add_argument(
        "--language", default="en", choices=codes, help="the agent's language"
    )
    parser.add_argument(
        "--time-zone", default="", help="the agent's time zone, e.g. Asia/Riyadh"
    )
    return parser.parse_args(argv)


def file_name(name: str, language: str) -> Path:
    return HERE / (f"{name}.png" if language == "en" else f"{name}-{language}.png")


def set_locale(language: str, time_zone: str) -> None:
    """Alice's and the administrator's preferences, through the action (its checks
    included)."""
    from django.contrib.auth import get_user_model

    from helpline.actions.preferences import set_preferences

    for login in ("alice", "admin"):
        agent = get_user_model().objects.get(username=login)
        set_preferences(agent, language=language, time_zone=time_zone)


def ADMIN_PAGES(  # noqa: N802 - a table, as a function of the seeded ids
    queue_id: int, account_id: int, filter_id: int
) -> list[tuple[str, str]]:
    """(address, file name) of the administration screenshots, as the admin."""
    return [
        ("/administration/", "admin-index"),
        (f"/administration/queues/{queue_id}/", "admin-queue"),
        (f"/administration/mail-accounts/{account_id}/", "admin-mail-account"),
        (f"/administration/filters/{filter_id}/", "admin-filter"),
    ]


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    options = arguments(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 1
    with override_settings(**web_settings()):
        call_command("migrate", verbosity=0)
        number = seed()
        seed_report_history()
        account_id, filter_id = seed_mail_admin()
        set_locale(options.language, options.time_zone)
        httpd = make_server(
            "127.0.0.1",
            0,
            StaticFilesHandler(get_wsgi_application()),
            handler_class=QuietHandler,
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_port}"
        from helpline.models import Queue

        queue_id = Queue.objects.get(name="info-en").pk
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu"],
            )
            page = browser.new_page(
                base_url=base, viewport={"width": 1280, "height": 760}
            )
            page.goto("/login/")
            page.fill("#id_username", "alice")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/")
            response = page.goto(f"/queues/{queue_id}/")
            if response is None or response.status != 200:
                print(
                    f"the queue page answered {response and response.status}",
                    file=sys.stderr,
                )
                return 1
            page.screenshot(path=str(file_name("queue", options.language)))
            page.goto(f"/ticket/{number}/")
            page.screenshot(path=str(file_name("zoom", options.language)))
            page.goto("/reports/?unit=week")
            page.screenshot(
                path=str(file_name("report", options.language)), full_page=True
            )
            page.context.clear_cookies()
            page.goto("/login/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/")
            for url, name in ADMIN_PAGES(queue_id, account_id, filter_id):
                response = page.goto(url)
                if response is None or response.status != 200:
                    print(
                        f"{url} answered {response and response.status}",
                        file=sys.stderr,
                    )
                    return 1
                page.screenshot(
                    path=str(file_name(name, options.language)), full_page=True
                )
            browser.close()
        httpd.shutdown()
    names = ", ".join(
        file_name(n, options.language).name
        for n in ("queue", "zoom", "report", *(n for _, n in ADMIN_PAGES(0, 0, 0)))
    )
    print(f"wrote {names} in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
