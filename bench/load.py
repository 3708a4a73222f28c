"""Many agents at once: the real server and worker under locust, on PostgreSQL.

    .venv/bin/python bench/load.py --tickets 20000 --users 50,100 [--run-time 60]

Needs locust (``pip install -e '.[bench]'``, or ``pip install 'locust>=2.20'``).

It starts, and always stops again (also on errors and Ctrl-C):

- a PostgreSQL database ``helpline_bench_load_<tickets>`` (``--database``), seeded
  with ``helpline bench seed --tickets N`` (a seeded one is kept for the next run:
  ``--reuse`` takes it as it is, with what earlier runs wrote into it; ``--drop``
  drops it at the end);
- an SMTP sink (aiosmtpd) on 127.0.0.1, as ``HELPLINE_SMTP_URL``: replies really
  leave through the outbox;
- ``helpline serve --workers 5`` (gunicorn) and ``helpline worker`` on 127.0.0.1.

Eight agents of the seed get a password and different access (one group, two
groups, read-only on the others, notes only on another, everything: see
``PROFILES``).  For each ``--users`` count, locust (headless, in a child process)
starts that many simulated agents at ``--spawn-rate`` a second; each logs in once
through the login form, then loops without pause (``--think S``: a random pause of
up to S s between tasks): queue view, zoom, presence, search, a note (70%) or a
reply (reply screen, then sent), lock, unlock; now and then a bulk action
(priority of five tickets) or a merge.  Figures are taken for ``--run-time``
seconds once every agent has logged in (the logins are reported on their own).

It prints, per page, requests, p50/p95/p99 in ms and p95 over the floor's p95; the
floor is the cheapest page that needs a logged-in agent, the presence endpoint
(GET), asked for in every loop, so it is measured in the same run under the same
load.  At saturation every page waits for a free gunicorn worker, the floor too,
so the ratio to it shows what a page costs beyond the wait; the "x idle" column
compares with the floor page measured before the load, one agent alone (how much
slower the server answers under load).  Then requests/s, refusals (409 conflicts, 404 tickets merged away: correct
answers under contention) and errors (anything else: 5xx, 403, a lost session),
with a sample of each error.  ``--slow-log`` sets ``log_min_duration_statement =
100`` on the benchmark's database for the run and reports the ``UPDATE
helpline_ticket`` statements that took longer (from pg_stat_statements when the
server loads it, else from the server's log file when this process can read it).

``--repeat N`` runs each ``--users`` count N times and prints the medians (of each
page's p95, of requests/s); every run also prints the CPU milliseconds per request
of each part (the web server with its workers, the PostgreSQL backends of the
benchmark's database, the job worker, locust itself), read from /proc and
getrusage over the whole locust run (start-up and logins included) and divided by
the requests of the measured window: an upper bound, close for runs of a minute.

The machine may be shared and noisy, and locust itself runs on it: compare the
ratios to the floor between runs rather than the milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "load-bench-passphrase-1"  # noqa: S105 - a benchmark database's agents
GROUPS = ["Info", "Permissions", "Photosubmission", "Press", "Stewards"]
# (login, extra grants {group: permissions}).  The seed gives agent<n> rw on group
# n % 5 and "bench" rw on Info and Permissions.
PROFILES: list[tuple[str, dict[str, list[str]]]] = [
    ("agent0", {"Permissions": ["rw"]}),  # two groups
    ("agent1", {}),  # one group
    ("agent2", {g: ["ro"] for g in GROUPS if g != "Photosubmission"}),  # reads all
    ("agent3", {"Info": ["note"], "Stewards": ["ro"]}),  # notes in another
    ("agent4", {}),
    ("agent5", {g: ["rw"] for g in GROUPS}),  # a lead: everything
    ("agent6", {"Info": ["ro"], "Press": ["ro"]}),
    ("bench", {}),  # the seed's: Info and Permissions
]
SEARCHES = [
    "licence",
    "permission photo",
    '"bank transfer"',
    "needle3",
    "state:open commons",
    "camera owner",
    "Rechnung.pdf",
    "zgoda",
]
TICKETS_PER_AGENT = 300
NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SLOW_MS = 100
SLOW_UPDATE = re.compile(
    r'duration: ([0-9.]+) ms\s+(?:statement|execute [^:]*): (UPDATE "helpline_ticket".*)'
)


# --- the database -------------------------------------------------------------------
def pg_admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def seeded_count(url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
            row = conn.execute("SELECT count(*) FROM helpline_ticket").fetchone()
            return int(row[0]) if row else None
    except psycopg.Error:
        return None


def environment(db_url: str, data_dir: str, smtp_port: int, base_url: str) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
        ),
        "HELPLINE_DATABASE_URL": db_url,
        "HELPLINE_DATA_DIR": data_dir,
        "HELPLINE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "HELPLINE_BASE_URL": base_url,
        "HELPLINE_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HELPLINE_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "helpline.settings",
    }


def helpline(*args: str) -> list[str]:
    return [sys.executable, "-m", "helpline.cli", *args]


def prepare_database(name: str, env: dict, tickets: int, reuse: bool) -> str:
    url = env["HELPLINE_DATABASE_URL"]
    count = seeded_count(url)
    if count is not None and (reuse or count == tickets):
        print(f"database {name}: reused ({count:,} tickets)", flush=True)
        subprocess.run(helpline("migrate", "-v0"), env=env, check=True)
        return "reused"
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    subprocess.run(helpline("migrate", "-v0"), env=env, check=True)
    print(f"database {name}: seeding {tickets:,} tickets", flush=True)
    started = time.perf_counter()
    subprocess.run(
        helpline("bench", "seed", "--tickets", str(tickets)), env=env, check=True
    )
    return f"seeded in {time.perf_counter() - started:.0f} s"


PREPARE = """
import json, sys
import django
django.setup()
from django.db import transaction
from helpline.actions import admin
from django.db.models import Q
from helpline.actions.access import group_permissions, queues_with
from helpline.management.commands.bench import queue_address
from helpline.models import Group, Queue, Ticket
profiles, password, per_agent = json.loads(sys.argv[1])
groups = {g.name: g for g in Group.objects.all()}
with transaction.atomic():
    # A database seeded before queues had system addresses: give them one.
    for queue in Queue.objects.filter(system_address__isnull=True):
        queue.system_address = admin.create_system_address(
            queue_address(queue.name), queue=queue
        )
        queue.save(update_fields=["system_address"])
agents = []
for login, extra in profiles:
    agent = admin.get_agent(login)
    if not agent.check_password(password):
        admin.set_agent_password(None, agent, password)
    for group, perms in extra.items():
        admin.grant(groups[group], perms, agent=agent)
    perms = group_permissions(agent)
    readable = list(queues_with(agent, "ro").order_by("pk").values_list("pk", flat=True))
    writable = [g for g, p in perms.items() if "rw" in p]
    tickets = list(
        Ticket.objects.filter(queue__group_id__in=writable, merged_into__isnull=True)
        .exclude(state_type="closed")
        .filter(Q(locked=False) | Q(owner=agent))  # not the seed's other agents' locks
        .order_by("pk")
        .values_list("number", "customer__email", "pk")[:per_agent]
    )
    agents.append(
        {"login": login, "password": password, "queues": readable, "tickets": tickets}
    )
print(json.dumps(agents))
"""


def prepare_agents(env: dict) -> list[dict]:
    """Passwords and grants for PROFILES (through the actions); what each may do."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            PREPARE,
            json.dumps([PROFILES, PASSWORD, TICKETS_PER_AGENT]),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def outbox_counts(env: dict) -> dict[str, int]:
    script = (
        "import django, json; django.setup()\n"
        "from django.db.models import Count\n"
        "from helpline.models import OutboxMessage\n"
        "print(json.dumps(dict(OutboxMessage.objects.values_list('status')"
        ".annotate(n=Count('id')).values_list('status', 'n'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- the processes ------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """An SMTP server on 127.0.0.1 that counts what it receives and keeps nothing."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received += 1
        return "250 OK"

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@contextlib.contextmanager
def process(args: list[str], env: dict, log: Path) -> Iterator[subprocess.Popen]:
    """A child process in a process group of its own, stopped (TERM, then KILL) on
    the way out whatever happens."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url} in {timeout:.0f} s; see {log}")


def idle_floor(base_url: str, agent: dict, requests: int = 40) -> dict[str, float]:
    """The floor page with nothing else running: one agent, one request at a time."""
    import http.cookiejar
    import statistics
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base_url}/login/", timeout=30).read().decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    form = {
        "username": agent["login"],
        "password": agent["password"],
        "csrfmiddlewaretoken": found.group(1) if found else "",
    }
    opener.open(
        f"{base_url}/login/", urllib.parse.urlencode(form).encode(), timeout=30
    ).read()
    url = f"{base_url}/ticket/{agent['tickets'][0][0]}/presence/"
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        with opener.open(url, timeout=30) as response:
            response.read()
            if response.status != 200 or "/login/" in response.url:
                raise SystemExit(f"the idle floor page answered {response.status}")
        times.append(1000 * (time.perf_counter() - started))
    cuts = statistics.quantiles(times, n=20)
    return {"p50": statistics.median(times), "p95": cuts[18]}


# --- CPU per component ----------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: str) -> tuple[int, str, float] | None:
    """(parent pid, command line, CPU seconds so far) of a live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), cmd, (int(fields[11]) + int(fields[12])) / _TICK


def cpu_snapshot(
    server: int, worker: int, database: str
) -> dict[str, dict[str, float]]:
    """CPU seconds so far of the web server (gunicorn and its workers), the worker,
    and the PostgreSQL backends connected to ``database``, per process."""
    procs = {
        pid: info
        for pid in os.listdir("/proc")
        if pid.isdigit() and (info := _proc_cpu(pid))
    }
    web = {str(server)}
    web |= {pid for pid, (ppid, _, _) in procs.items() if str(ppid) in web}
    web |= {pid for pid, (ppid, _, _) in procs.items() if str(ppid) in web}
    jobs = {str(worker)} | {
        pid for pid, (ppid, _, _) in procs.items() if str(ppid) == str(worker)
    }
    snapshot: dict[str, dict[str, float]] = {"web": {}, "worker": {}, "database": {}}
    for pid, (_, cmd, cpu) in procs.items():
        if pid in web:
            snapshot["web"][pid] = cpu
        elif pid in jobs:
            snapshot["worker"][pid] = cpu
        elif cmd.startswith("postgres: ") and f" {database} " in cmd:
            snapshot["database"][pid] = cpu
    return snapshot


def cpu_spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per component between two snapshots; a process that appeared in
    between counts from zero, one that ended in between is lost (PostgreSQL
    backends live as long as the web workers' persistent connections)."""
    return {
        part: sum(cpu - before[part].get(pid, 0.0) for pid, cpu in after[part].items())
        for part in after
    }


def run_locust(args: argparse.Namespace, base_url: str, plan: Path, users: int) -> dict:
    out = plan.with_name(f"result-{users}.json")
    cmd = [
        sys.executable,
        __file__,
        "--locust-child",
        *("--host", base_url, "--plan", str(plan), "--out", str(out)),
        *("--users", str(users), "--spawn-rate", str(args.spawn_rate)),
        *("--run-time", str(args.run_time), "--think", str(args.think)),
    ]
    budget = args.run_time + users / args.spawn_rate + 180
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, timeout=budget)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict = json.loads(out.read_text())
    result["locust_cpu"] = (after.ru_utime + after.ru_stime) - (
        before.ru_utime + before.ru_stime
    )
    return result


# --- the slow-query log -------------------------------------------------------------
class SlowLog:
    """``log_min_duration_statement`` on the database for the run; afterwards the
    ticket UPDATEs over the limit, from pg_stat_statements or the server's log."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.log_file: Path | None = None
        self.offset = 0
        self.note = ""

    def __enter__(self) -> SlowLog:
        import psycopg

        pg_admin(
            f"ALTER DATABASE {self.name} SET log_min_duration_statement = {SLOW_MS}"
        )
        with psycopg.connect(f"{PG}/{self.name}", autocommit=True) as conn:
            current = conn.execute("SELECT pg_current_logfile()").fetchone()
            data_dir, version = conn.execute(
                "SELECT current_setting('data_directory'), "
                "current_setting('server_version_num')::int / 10000"
            ).fetchone()  # type: ignore[misc]
        candidates = []
        if current and current[0]:
            candidates.append(Path(data_dir) / current[0])
        # Debian's clusters log to stderr, which pg_ctlcluster sends here.
        candidates.append(Path(f"/var/log/postgresql/postgresql-{version}-main.log"))
        for path in candidates:
            if os.access(path, os.R_OK):
                self.log_file = path
                self.offset = path.stat().st_size
                break
        else:
            self.note = (
                "the server's log is not readable from here (tried "
                + ", ".join(map(str, candidates))
                + ")"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        pg_admin(f"ALTER DATABASE {self.name} RESET log_min_duration_statement")

    def report(self) -> list[str]:
        if self.log_file is None:
            return [f"slow-query log: {self.note}"]
        with self.log_file.open("rb") as fh:
            fh.seek(self.offset)
            text = fh.read().decode("utf-8", "replace")
        slow = [(float(m.group(1)), m.group(2)) for m in SLOW_UPDATE.finditer(text)]
        lines = [
            f"slow-query log ({self.log_file}, statements over {SLOW_MS} ms on "
            f"{self.name} during the runs): {len(slow)} UPDATE helpline_ticket"
        ]
        if slow:
            times = sorted(ms for ms, _ in slow)
            lines.append(
                f"  durations: min {times[0]:.0f} ms, median "
                f"{times[len(times) // 2]:.0f} ms, max {times[-1]:.0f} ms"
            )
            ms, statement = max(slow)
            lines.append(f"  slowest: {ms:.0f} ms: {statement[:200]}")
        return lines


# --- the report ---------------------------------------------------------------------
ORDER = [
    "queue view",
    "zoom",
    "presence (POST)",
    "search",
    "note",
    "reply form",
    "reply",
    "lock",
    "unlock",
    "bulk form",
    "bulk (priority)",
    "merge form",
    "merge",
]
FLOOR = "floor (presence GET)"


def table(users: int, result: dict, idle: dict[str, float]) -> list[str]:
    pages = result["pages"]
    floor = pages.get(FLOOR, {}).get("p95") or 0
    head = (
        f"{'page':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'x floor':>9}{'x idle':>9}{'refused':>9}{'errors':>8}"
    )
    lines = [
        f"== {users} simulated agents: {result['seconds']:.0f} s measured after "
        f"{result['spawn_seconds']:.0f} s of logging in",
        head,
        "-" * len(head),
    ]
    names = [n for n in ORDER if n in pages] + sorted(
        n for n in pages if n not in ORDER and n != FLOOR
    )
    outcomes = result["outcomes"]
    for name in [FLOOR, *names]:
        p = pages[name]
        ratio = f"{p['p95'] / floor:.1f}x" if floor else "n/a"
        to_idle = f"{p['p95'] / idle['p95']:.0f}x"
        lines.append(
            f"{name:<22}{p['requests']:>9}{p['p50']:>9.0f}{p['p95']:>9.0f}"
            f"{p['p99']:>9.0f}{ratio:>9}{to_idle:>9}"
            f"{outcomes['refusals'].get(name, 0):>9}{outcomes['errors'].get(name, 0):>8}"
        )
    total = result["total"]
    login = result["login"]
    lines.append(
        f"total: {total['requests']} requests, {total['rps']:.1f} requests/s; "
        f"refusals {sum(outcomes['refusals'].values())}, "
        f"errors {sum(outcomes['errors'].values())}"
    )
    if "cpu" in result:
        lines.append(cpu_line([result]))
    if login:
        lines.append(
            f"login (while spawning): {login['requests']} logins, p50 "
            f"{login['p50']:.0f} ms, p95 {login['p95']:.0f} ms, p99 {login['p99']:.0f} ms; "
            f"errors {result['login_errors']}"
        )
    for name, sample in {
        **result["login_samples"],
        **outcomes["samples"],
    }.items():
        lines.append(f"  error sample, {name}: {sample}")
    return lines


def medians(results: dict[int, list[dict]]) -> list[str]:
    """Per --users count, the median over the runs of each page's p95, of
    requests/s and of CPU ms per request, and the errors of all runs."""
    lines = ["", "== medians"]
    for users, runs in results.items():
        lines.append(
            f"{users} agents, {len(runs)} runs: "
            f"{statistics.median(r['total']['rps'] for r in runs):.1f} requests/s "
            f"(runs: {', '.join(format(r['total']['rps'], '.1f') for r in runs)}); errors "
            f"{sum(sum(r['outcomes']['errors'].values()) for r in runs)}"
        )
        pages = [p for p in ORDER if all(p in r["pages"] for r in runs)]
        lines.append(
            "  p95 ms: "
            + ", ".join(
                f"{p} {statistics.median(r['pages'][p]['p95'] for r in runs):.0f}"
                for p in [FLOOR, *pages]
            )
        )
        lines.append("  " + cpu_line(runs))
    return lines


def cpu_line(runs: list[dict]) -> str:
    """CPU ms per request of each component (median over the runs)."""
    parts = ["web", "database", "worker", "locust"]
    per: dict[str, float] = {}
    for part in parts:
        per[part] = statistics.median(
            1000
            * (r["locust_cpu"] if part == "locust" else r["cpu"][part])
            / max(1, r["total"]["requests"])
            for r in runs
        )
    return "CPU ms per request: " + ", ".join(f"{p} {per[p]:.1f}" for p in parts)


# --- the locust child ---------------------------------------------------------------
def locust_child(args: argparse.Namespace) -> None:
    """Runs in its own process: locust patches the standard library (gevent)."""
    os.environ["HELPLINE_LOAD_PLAN"] = args.plan
    os.environ["HELPLINE_LOAD_THINK"] = str(args.think)
    import gevent
    from locust.env import Environment

    sys.path.insert(0, str(Path(__file__).parent))
    import locustfile

    env = Environment(user_classes=[locustfile.Agent], host=args.host)
    runner = env.create_local_runner()
    users = int(args.users)
    started = time.monotonic()
    runner.start(users, spawn_rate=args.spawn_rate)
    deadline = started + users / args.spawn_rate + 120
    # Every agent started, then every agent past its login.
    while (
        runner.user_count < users
        or env.stats.get("login", "POST").num_requests
        + env.stats.get("login", "POST").num_failures
        < users
    ) and time.monotonic() < deadline:
        gevent.sleep(0.2)
    spawn_seconds = time.monotonic() - started
    login = stat(env.stats.get("login", "POST"))
    login_errors = locustfile.OUTCOMES.errors.get("login", 0)
    login_samples = {
        k: v for k, v in locustfile.OUTCOMES.samples.items() if k == "login"
    }
    env.stats.reset_all()
    locustfile.OUTCOMES.reset()
    measured_from = time.monotonic()
    gevent.sleep(args.run_time)
    seconds = time.monotonic() - measured_from
    pages = {
        name: stat(entry)
        for (name, _method), entry in env.stats.entries.items()
        if entry.num_requests
    }
    runner.quit()
    total = env.stats.total
    result = {
        "users": users,
        "seconds": seconds,
        "spawn_seconds": spawn_seconds,
        "pages": pages,
        "total": {"requests": total.num_requests, "rps": total.num_requests / seconds},
        "login": login if login["requests"] else None,
        "login_errors": login_errors,
        "login_samples": login_samples,
        "outcomes": locustfile.OUTCOMES.as_dict(),
    }
    Path(args.out).write_text(json.dumps(result))


def stat(entry: Any) -> dict[str, Any]:
    count = entry.num_requests
    return {
        "requests": count,
        "p50": entry.get_response_time_percentile(0.5) if count else 0,
        "p95": entry.get_response_time_percentile(0.95) if count else 0,
        "p99": entry.get_response_time_percentile(0.99) if count else 0,
    }


# --- main ---------------------------------------------------------------------------
def database_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{name!r} is not a plain PostgreSQL name")
    return name


def stop_on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--users", default="50,100", help="simulated agents, per run")
    ap.add_argument("--run-time", type=float, default=60, help="seconds measured")
    ap.add_argument("--spawn-rate", type=float, default=10, help="agents started/s")
    ap.add_argument("--think", type=float, default=0, help="max pause between tasks")
    ap.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    ap.add_argument(
        "--database", type=database_name, help="default helpline_bench_load_<tickets>"
    )
    ap.add_argument("--reuse", action="store_true", help="take the database as it is")
    ap.add_argument("--drop", action="store_true", help="drop the database at the end")
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs per --users count; medians printed"
    )
    ap.add_argument("--slow-log", action="store_true")
    ap.add_argument("--json-out", metavar="FILE")
    ap.add_argument("--locust-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--host", help=argparse.SUPPRESS)
    ap.add_argument("--plan", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.locust_child:
        locust_child(args)
        return
    # Ctrl-C and kill stop what this started (the finally clauses run), even when
    # started in the background (where SIGINT comes ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop_on_term)
    if importlib.util.find_spec("locust") is None:
        raise SystemExit(
            "bench/load.py needs locust: pip install -e '.[bench]' "
            "(or pip install 'locust>=2.20') in this environment"
        )
    counts = [int(u) for u in args.users.split(",") if u]
    if not counts or min(counts) < 1 or args.run_time <= 0 or args.spawn_rate <= 0:
        raise SystemExit("--users, --run-time and --spawn-rate must be positive")
    if not 1 <= args.repeat <= 9:
        raise SystemExit("--repeat: 1 to 9")
    if not 1_000 <= args.tickets <= 1_000_000:
        raise SystemExit("--tickets: 1000 to 1000000")
    name = args.database or f"helpline_bench_load_{args.tickets}"
    db_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    results: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="helpline-load-") as tmp, Sink() as sink:
        env = environment(db_url, tmp, sink.port, base_url)
        try:
            seeded = prepare_database(name, env, args.tickets, args.reuse)
            agents = prepare_agents(env)
            plan = Path(tmp) / "plan.json"
            plan.write_text(json.dumps({"agents": agents, "searches": SEARCHES}))
            print(
                "agents: "
                + ", ".join(
                    f"{a['login']} ({len(a['queues'])} queues, "
                    f"{len(a['tickets'])} open tickets it may change)"
                    for a in agents
                ),
                flush=True,
            )
            slow = SlowLog(name) if args.slow_log else contextlib.nullcontext()
            server_log = Path(tmp) / "server.log"
            with (
                slow,
                process(
                    helpline("serve", "--bind", f"127.0.0.1:{port}")
                    + ["--workers", str(args.workers), "-v0"],
                    env,
                    server_log,
                ) as server,
                process(helpline("worker"), env, Path(tmp) / "worker.log") as worker,
            ):
                wait_for(f"{base_url}/login/", server, server_log)
                idle = idle_floor(base_url, agents[-1])
                print(
                    f"idle floor (the floor page, one agent alone, 40 requests): "
                    f"p50 {idle['p50']:.0f} ms, p95 {idle['p95']:.0f} ms",
                    flush=True,
                )
                for users in counts:
                    for run in range(1, args.repeat + 1):
                        print(
                            f"running {users} simulated agents"
                            + (
                                f" (run {run} of {args.repeat})"
                                if args.repeat > 1
                                else ""
                            )
                            + " ...",
                            flush=True,
                        )
                        before = cpu_snapshot(server.pid, worker.pid, name)
                        result = run_locust(args, base_url, plan, users)
                        result["cpu"] = cpu_spent(
                            before, cpu_snapshot(server.pid, worker.pid, name)
                        )
                        results.setdefault(users, []).append(result)
                        print("\n".join(table(users, result, idle)), flush=True)
                if args.repeat > 1:
                    print("\n".join(medians(results)), flush=True)
                # The worker sends what the replies queued.
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    pending = outbox_counts(env)
                    if not set(pending) - {"sent", "failed"}:
                        break
                    time.sleep(2)
            print(
                f"\ndatabase {name} ({seeded}); gunicorn workers {args.workers}; "
                f"outbox {outbox_counts(env)}; the SMTP sink received {sink.received}"
            )
            if args.slow_log:
                print("\n".join(slow.report()))  # type: ignore[union-attr]
            if args.json_out:
                saved = {"idle_floor": idle, "runs": results}
                Path(args.json_out).write_text(json.dumps(saved, indent=2))
        finally:
            if args.drop:
                pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("interrupted: everything this started is stopped") from None
