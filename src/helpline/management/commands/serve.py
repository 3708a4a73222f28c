"""``helpline serve``: run the web application with gunicorn, static files included."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication

from helpline.management.base import HelplineCommand, positive_int
from helpline.web.static_files import StaticFiles


class HelplineServer(BaseApplication):
    """gunicorn, configured here instead of from gunicorn's own command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn 25+ opens a control socket at one fixed path per user: a second
        # Helpline on the machine would take it over.  Nothing here uses it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        from helpline.wsgi import application

        static_path = urlsplit(settings.STATIC_URL).path
        if urlsplit(settings.STATIC_URL).netloc or not static_path.startswith("/"):
            return application  # static files live elsewhere (a CDN, another host)
        return StaticFiles(application, root=settings.STATIC_ROOT, prefix=static_path)


class Command(HelplineCommand):
    help = (
        "Serve Helpline over HTTP with gunicorn. Collects the static files into "
        "STATIC_ROOT first and serves them under STATIC_URL. Host names other than "
        "127.0.0.1 and localhost must be listed in HELPLINE_ALLOWED_HOSTS. Put a "
        "TLS-terminating proxy in front of it for anything but local use."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default="127.0.0.1:8000",
            metavar="ADDRESS",
            help="HOST:PORT or unix:PATH to listen on (default %(default)s).",
        )
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=2,
            metavar="N",
            help="Number of worker processes (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from helpline.checks import announce_host

        announce_host()
        call_command("collectstatic", interactive=False, verbosity=0)
        # The workers are forked: none may inherit this process's database connection.
        connections.close_all()
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Serving Helpline on {options['bind']} "
                f"with {options['workers']} workers."
            )
        HelplineServer(
            {
                "bind": options["bind"],
                "workers": options["workers"],
                "proc_name": "helpline",
            }
        ).run()
