"""A private OpenLDAP server (Debian's slapd) for the LDAP tests: a slapd.conf with
the mdb back-end in a temporary directory, listening on 127.0.0.1 on a free port,
loaded with ldapadd, stopped and removed afterwards."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SLAPD = Path("/usr/sbin/slapd")
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "directory-admin-secret"
USERS = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
modulepath {modules}
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {dir}/data
"""

# Two people and three groups: helpdesk (groupOfNames), managers (groupOfNames) and
# staff (posixGroup, by uid).
ENTRIES = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {USERS}
objectClass: organizationalUnit
ou: people

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups

dn: uid=alice,{USERS}
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
givenName: Alice
sn: Liddell
mail: alice@example.org
userPassword: alice-directory-pw

dn: uid=bob,{USERS}
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
givenName: Bob
sn: Builder
mail: bob@example.org
userPassword: bob-directory-pw

dn: cn=helpdesk,{GROUPS}
objectClass: groupOfNames
cn: helpdesk
member: uid=alice,{USERS}

dn: cn=managers,{GROUPS}
objectClass: groupOfNames
cn: managers
member: uid=bob,{USERS}

dn: cn=staff,{GROUPS}
objectClass: posixGroup
cn: staff
gidNumber: 5000
memberUid: alice
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate it signed for 127.0.0.1 (openssl): the CA's
    certificate, the server's certificate and its key."""
    ca_key, ca, key, csr, cert = (
        directory / name
        for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = directory / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
         "-out", ca, "-days", "2", "-subj", "/CN=Helpline test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):  # fmt: skip
        subprocess.run(  # noqa: S603
            ["openssl", *map(str, command)],  # noqa: S607
            check=True,
            capture_output=True,
            timeout=60,
        )
    return ca, cert, key


class Slapd:
    def __init__(self, directory: Path, *, tls: bool = False) -> None:
        for binary in (SLAPD, shutil.which("ldapadd"), shutil.which("ldapmodify")):
            if binary is None or not Path(binary).exists():
                raise RuntimeError(
                    "slapd and ldap-utils are missing: install Debian's slapd and "
                    "ldap-utils (bash .ci/system-packages)."
                )
        self.dir = directory
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}/"
        (directory / "data").mkdir(parents=True)
        self.config = directory / "slapd.conf"
        config = CONFIG.format(
            schema=SCHEMA,
            modules=MODULES,
            dir=directory,
            suffix=SUFFIX,
            root_dn=ROOT_DN,
            root_password=ROOT_PASSWORD,
        )
        self.ca: Path | None = None
        if tls:
            self.ca, cert, key = make_certificates(directory)
            # Global directives: before the database section.  "security tls=1":
            # every operation but StartTLS itself needs TLS.
            config = (
                f"TLSCACertificateFile {self.ca}\nTLSCertificateFile {cert}\n"
                f"TLSCertificateKeyFile {key}\nsecurity tls=1\n{config}"
            )
        self.config.write_text(config)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # -d 0: stay in the foreground (no debug output), so the test owns the process.
        self.process = subprocess.Popen(  # noqa: S603
            [str(SLAPD), "-d", "0", "-h", self.uri, "-f", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"slapd exited at start: {err}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not listen within 15 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None

    def _ldap(self, tool: str, ldif: str) -> None:
        tls = ["-ZZ"] if self.ca else []
        done = subprocess.run(  # noqa: S603
            [tool, "-x", *tls, "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif.encode(),
            env={**os.environ, "LDAPTLS_CACERT": str(self.ca or "")},
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stderr.decode()}")

    def add(self, ldif: str) -> None:
        self._ldap(shutil.which("ldapadd") or "ldapadd", ldif)

    def modify(self, ldif: str) -> None:
        self._ldap(shutil.which("ldapmodify") or "ldapmodify", ldif)
