"""``helpline serve``: run the web application with gunicorn, static files included."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication

from helpline.management.base import HelplineCommand, positive_int
from helpline.monitoring.metrics import MULTIPROCESS_ENV
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
        self.cfg.set("child_exit", _worker_exited)

    def load(self) -> Any:
        from helpline.wsgi import application

        static_path = urlsplit(settings.STATIC_URL).path
        if urlsplit(settings.STATIC_URL).netloc or not static_path.startswith("/"):
            return application  # static files live elsewhere (a CDN, another host)
        return StaticFiles(application, root=settings.STATIC_ROOT, prefix=static_path)


def _worker_exited(server: Any, worker: Any) -> None:
    """A worker's live gauges leave with it; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _metrics_directory() -> tuple[Path, bool]:
    """The directory the workers share their counters in, emptied, and whether it
    is a temporary one to remove afterwards."""
    if settings.HELPLINE_METRICS_DIR:
        path = Path(settings.HELPLINE_METRICS_DIR)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Counts of an earlier run would be added to this run's.
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    return Path(tempfile.mkdtemp(prefix="helpline-metrics-")), True


def _use_multiprocess_metrics(path: Path) -> None:
    os.environ[MULTIPROCESS_ENV] = str(path)
    # prometheus_client chose its way of storing values when it was imported, maybe
    # before the line above: choose again, before any worker makes a metric.
    from prometheus_client import values

    values.ValueClass = values.get_value_class()


class Command(HelplineCommand):
    help = (
        "Serve Helpline over HTTP with gunicorn. Collects the static files into "
        "STATIC_ROOT first and serves them under STATIC_URL. Host names other than "
        "127.0.0.1 and localhost must be listed in HELPLINE_ALLOWED_HOSTS. Put a "
        "TLS-terminating proxy in front of it for anything but local use. "
        "The worker processes keep their request counters in HELPLINE_METRICS_DIR "
        "(or a temporary directory) so /metrics adds them all up (docs/monitoring.md)."
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
        metrics_dir, temporary = _metrics_directory()
        _use_multiprocess_metrics(metrics_dir)
        master = os.getpid()
        try:
            HelplineServer(
                {
                    "bind": options["bind"],
                    "workers": options["workers"],
                    "proc_name": "helpline",
                }
            ).run()
        finally:
            # A worker leaves gunicorn by SystemExit through this frame too.
            if temporary and os.getpid() == master:
                shutil.rmtree(metrics_dir, ignore_errors=True)
