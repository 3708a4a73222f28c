"""Why did a delivery fail?  Reason names for bounced recipients.

The reason names follow the vocabulary of the sisimai bounce classifier
(``userunknown``, ``mailboxfull``, ``filtered``, ...) so that results can be
compared with its published test expectations.  The tables are our own:
phrases seen in real delivery reports, and the meaning of RFC 3463 / RFC 5248
enhanced status codes.  Pure functions, no I/O.
"""

from __future__ import annotations

import re
from functools import lru_cache

_I = re.IGNORECASE

# Ordered: the first reason whose pattern matches wins, so narrow phrasings
# come before broad ones.  A reason may appear more than once.
_STRONG: list[tuple[str, str]] = [
    ("rejected", r"groups\.google\.com/support|customfromdenied|'send mail as'"),
    ("policyviolation", r"policy reasons|header error|content presents a potential"),
    ("networkerror", r"name server: \S+ host name lookup failure|network error"),
    (
        "systemerror",
        r"ldap server|queue file write error|operating system error|"
        r"service refused",
    ),
    ("speeding", r"too many recipients (?:this|per) hour"),
    ("toomanyconn", r"connection rate limit|too many recipients"),
    ("badreputation", r"reputation|unexpected volume or user complaints"),
    (
        "blocked",
        r"my name was rejected|invalid ip for sending|"
        r"not accepting connections|client host blocked",
    ),
    ("suspend", r"(?:recipient )?account is blocked"),
    (
        "expired",
        r"did not accept our requests to connect|failing for a long time|"
        r"delivery failed \d+ attempts|not delivered within",
    ),
    (
        "notaccept",
        r"indicated no smtp service|couldn'?t find a mail exchanger|"
        r"no mx found|system not accepting",
    ),
    ("onhold", r"\bon hold\b"),
    (
        "hostunknown",
        r"couldn'?t find any host named|domain is not reachable|"
        r"dns lookup failure|host \S+ not found",
    ),
    (
        "userunknown",
        r"invalid final delivery userid|unknown or illegal (?:user|alias)|"
        r"address (?:couldn'?t|could not) be found|address not found",
    ),
    ("syntaxerror", r"parameter not implemented|improper sequence"),
    (
        "rejected",
        r"sender (?:address |domain )?(?:rejected|denied|blocked|is not allowed|"
        r"unknown|invalid|verify failed)|(?:domain of )?sender address "
        r"(?:rejected|does not exist|is invalid)|unroutable sender|"
        r"not (?:a )?member|permission to post|not permitted to post|"
        r"sender verify|invalid sender|bad sender|sender (?:not|is not) authorized",
    ),
    ("virusdetected", r"virus|malware|infected|trojan"),
    ("authfailure", r"\bdmarc\b|\bspf\b|sender policy framework|\bdkim\b"),
    (
        "requireptr",
        r"reverse (?:dns|lookup|hostname)|\bptr\b|rdns|"
        r"cannot find your hostname|ip name lookup failed|no reverse",
    ),
    ("failedstarttls", r"starttls|tls (?:is )?required|support tls|tls negotiation"),
    (
        "speeding",
        r"rate limit|receiving mail at a rate|sending (?:too|at a rate)|"
        r"too many (?:messages|emails|mails) (?:in|from|sent)|temporarily deferred",
    ),
    (
        "toomanyconn",
        r"too many (?:concurrent|simultaneous|connections|sessions|"
        r"smtp sessions|hosts)|connection limit|server (?:is )?busy",
    ),
    (
        "notcompliantrfc",
        r"rfc ?5322|rfc ?2822|duplicate (?:header|date|from|subject)|"
        r"multiple (?:addresses in from|from|date|subject)|not (?:rfc )?compliant",
    ),
    ("contenterror", r"headers? too (?:large|long|big)|header (?:size|line)"),
    (
        "mesgtoobig",
        r"message (?:is |was |size )?(?:too big|too large|exceeds? (?:the )?"
        r"(?:maximum|message size|size limit|fixed))|"
        r"(?:mail|message) size (?:limit )?exceed|size limit exceeded|"
        r"exceeds? (?:the )?maximum (?:message )?size|message length exceeds|"
        r"line limit exceeded",
    ),
    (
        "exceedlimit",
        r"exceeds? (?:the )?(?:size limit of the mailbox|mailbox size)|"
        r"message would exceed|recipient limit",
    ),
    (
        "mailboxfull",
        r"mail ?box (?:is )?full|mailbox (?:quota|size) exceed|quota exceed|"
        r"over (?:the )?quota|exceeded (?:storage|(?:the |his |her )?quota|"
        r"the local limit)|disk quota|insufficient (?:storage|disk)|"
        r"(?:mail ?box|storage) (?:has )?exceeded|is over (?:the )?(?:storage|limit)|"
        r"quota (?:violation|full|reached)|mailbox not enough space|"
        r"user'?s? (?:mailbox|disk|quota) (?:is )?(?:full|over)|"
        r"not enough (?:storage|space|disk)|mailbox full|"
        r"exceeds? (?:his|her|the users?'?) (?:storage|quota)",
    ),
    (
        "suspend",
        r"(?:mail ?box|account|user|address) (?:has been |is |was )?"
        r"(?:disabled|suspended|deactivated|inactive|locked|frozen|expired|"
        r"temporarily unavailable|closed)|"
        r"extended inactivity|not currently being accepted|recipient suspended|"
        r"is not active|no longer (?:active|available)",
    ),
    (
        "hasmoved",
        r"has moved|user has (?:been )?moved|no longer (?:at|with) this|"
        r"user not local|not our user",
    ),
    (
        "norelaying",
        r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))|"
        r"not (?:permitted|allowed|authorized|configured) to relay|unable to relay|"
        r"we do not relay|relay not permitted|not a gateway|no relaying|"
        r"relay access|email address is not verified",
    ),
    (
        "hostunknown",
        r"host (?:or domain name )?(?:unknown|not found)|unknown host|"
        r"no such domain|domain (?:name )?(?:not found|does not exist|unknown)|"
        r"name service error|host name lookup failure|unrouteable mail domain|"
        r"unrouteable address|recipient domain .{0,40}(?:not found|invalid)|"
        r"invalid domain|no mx (?:record|host)|nxdomain|domain not registered|"
        r"mx lookup failed",
    ),
    (
        "notaccept",
        r"(?:does not|doesn'?t|do not|will not) (?:accept|receive) "
        r"(?:e-?)?mail|null mx|not accepting (?:e-?)?mail|accepts no mail",
    ),
    (
        "userunknown",
        r"user (?:unknown|not found|does not exist|doesn'?t exist|not exist)|"
        r"unknown (?:user|recipient|address|local[- ]part|mailbox)|"
        r"no such (?:user|mailbox|recipient|address|account|person)|"
        r"recipient (?:not found|unknown)|invalid (?:recipient|mailbox|user|address)|"
        r"(?:mailbox|account|address|recipient|user(?:name)?|e-?mail address) "
        r"(?:does not|doesn'?t|did not) exist|"
        r"not (?:a )?(?:valid|known) (?:recipient|user|mailbox|address)|"
        r"mailbox not found|no mailbox here|recipient name is not recognized|"
        r"user(?:name)? is unknown|addressee unknown|bad destination mailbox|"
        r"(?:email )?account (?:that )?you tried to reach does not exist|"
        r"doesn'?t have an? .{1,40} account|no account by that name|"
        r"wasn'?t found at|unknown to address",
    ),
    (
        "rejected",
        r"(?:mail from|envelope sender|return path|from address)"
        r"[^\n]{0,40}(?:rejected|refused|not allowed|invalid|unknown)|"
        r"your domain (?:has been|is) (?:rejected|blocked)",
    ),
    (
        "spamdetected",
        r"spam|junk mail|bulk e?mail|unsolicited|blacklisted url|"
        r"uribl|surbl|content filter|message content rejected|suspicious",
    ),
    (
        "blocked",
        r"blocked|black ?list|block ?list|deny ?list|\brbl\b|dnsbl|spamhaus|"
        r"spamcop|client host rejected|connection refused by|"
        r"not allowed to send|your (?:ip|host|server)|"
        r"(?:ip|host) (?:address )?(?:has been |is )?(?:listed|rejected|banned)|"
        r"refused to talk|denied by",
    ),
    (
        "filtered",
        r"filtered|refuses? (?:to accept )?(?:your )?mail|"
        r"mail(?:box)? refused|rejected by (?:the )?(?:recipient|user)(?! domain)|"
        r"(?:recipient|user) (?:has )?(?:rejected|refused|blocked)|"
        r"not authorized to receive|mail rejected",
    ),
    (
        "securityerror",
        r"authentication (?:required|failed|is required)|"
        r"auth required|encryption required|unauthenticated",
    ),
    (
        "contenterror",
        r"invalid (?:mime|header|content)|content error|"
        r"malformed (?:message|mime|header)|line too long|bare (?:lf|cr)",
    ),
    (
        "syntaxerror",
        r"syntax error|command (?:not recognized|unrecognized)|"
        r"unrecognized command|bad sequence|malformed (?:recipient )?address|"
        r"need rcpt|invalid (?:command|argument)",
    ),
    (
        "expired",
        r"expired|timed? ?out|retry (?:timeout|time) |giving up|gave up|"
        r"could not be delivered for|cannot send message for|"
        r"delivery (?:attempts|time) (?:exceeded|expired)|"
        r"still undelivered|will (?:be )?retr(?:y|ied)|(?:keep|continue) trying|"
        r"still (?:trying|being retried)|"
        r"(?:could not|couldn'?t) (?:be )?deliver(?:ed)? (?:for|within)",
    ),
    (
        "networkerror",
        r"connection (?:refused|reset|closed|lost|dropped|failed)|"
        r"network (?:is )?unreachable|no route to host|could not connect|"
        r"unable to connect|couldn'?t connect|failed to connect|"
        r"lost connection|hop count|routing loop|too many hops|"
        r"host (?:is )?(?:down|unreachable|not responding)|dns (?:error|failure)|"
        r"temporary lookup failure|establish (?:an )?smtp connection",
    ),
    (
        "mailererror",
        r"mailer (?:error|failed|program)|command (?:died|failed|output)|"
        r"exit (?:status|code)|\bpipe\b|procmail|mail delivery to program",
    ),
    (
        "systemerror",
        r"system (?:error|failure)|internal (?:server |"
        r"system )?error|local error|server error|mail loop|loop detected|"
        r"duplicated message-id|i/o error|out of memory",
    ),
]
# Generic wording: only used when neither a strong phrase nor a specific
# status code says more.
_WEAK: list[tuple[str, str]] = [
    (
        "userunknown",
        r"mailbox unavailable|address rejected|recipient rejected|"
        r"undeliverable address",
    ),
    ("policyviolation", r"policy|prohibited|executable"),
    (
        "securityerror",
        r"security|access denied|not authorized|unauthori[sz]ed|"
        r"certificate|password",
    ),
    ("expired", r"delayed|too long"),
    (
        "systemerror",
        r"temporary (?:failure|error)|try (?:again )?later|"
        r"service (?:currently )?unavailable",
    ),
]


def _compile(table: list[tuple[str, str]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(name, re.compile(pattern, _I)) for name, pattern in table]


_STRONG_RE = _compile(_STRONG)
_WEAK_RE = _compile(_WEAK)

# RFC 3463 / RFC 5248 enhanced status codes, keyed "subject.detail".
_STATUS: dict[str, str] = {
    "1.1": "userunknown", "1.2": "hostunknown", "1.3": "userunknown",
    "1.4": "userunknown", "1.5": "rejected", "1.6": "hasmoved", "1.7": "rejected",
    "1.8": "rejected", "1.9": "hasmoved", "1.10": "notaccept",
    "1.351": "userunknown",
    "2.0": "filtered", "2.1": "suspend", "2.2": "mailboxfull",
    "2.3": "exceedlimit", "2.4": "systemerror",
    "3.0": "mailererror", "3.1": "mailboxfull", "3.2": "notaccept",
    "3.3": "systemerror", "3.4": "mesgtoobig", "3.5": "systemerror",
    "4.0": "networkerror", "4.1": "networkerror", "4.2": "expired",
    "4.3": "systemerror", "4.4": "notaccept", "4.5": "toomanyconn",
    "4.6": "networkerror", "4.7": "expired", "4.316": "expired",
    "5.1": "syntaxerror", "5.2": "syntaxerror", "5.3": "exceedlimit",
    "5.4": "syntaxerror", "5.5": "syntaxerror", "5.6": "syntaxerror",
    "6.0": "contenterror", "6.1": "contenterror", "6.2": "contenterror",
    "6.3": "contenterror", "6.4": "contenterror", "6.5": "contenterror",
    "7.0": "securityerror", "7.1": "securityerror", "7.2": "systemerror",
    "7.3": "securityerror", "7.4": "securityerror", "7.5": "securityerror",
    "7.6": "securityerror", "7.7": "securityerror", "7.8": "securityerror",
    "7.9": "policyviolation", "7.10": "failedstarttls", "7.11": "failedstarttls",
    "7.12": "securityerror", "7.13": "suspend", "7.14": "securityerror",
    "7.15": "securityerror", "7.17": "suspend", "7.18": "suspend",
    "7.19": "suspend", "7.20": "authfailure", "7.21": "authfailure",
    "7.22": "authfailure", "7.23": "authfailure", "7.24": "authfailure",
    "7.25": "requireptr", "7.26": "authfailure", "7.27": "notaccept",
    "7.28": "spamdetected", "7.30": "failedstarttls", "7.509": "authfailure",
}  # fmt: skip
# Codes more reliable than any wording, and codes too vague to beat wording.
_DECISIVE = frozenset({"2.2", "2.3", "3.4", "7.13", "7.25", "7.26", "7.27", "7.509"})
_VAGUE_STATUS = frozenset({"0.0", "4.0", "4.1", "4.7", "7.0", "7.1"})
# Reasons that only say "the address was refused"; the SMTP stage tells more.
_VAGUE = frozenset({"", "userunknown", "hostunknown", "onhold"})
# Reasons that condemn the address itself, not only this one message.
_HARD = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept"})

_STAGE_HINT = re.compile(
    r"(?:in reply to|after|>>>|did not like our(?: final)?|smtp command\W{0,9})\s{0,9}"
    r"(?:the )?(mail from|rcpt to|end of data|data|e?hlo|helo|initial connection|"
    r"mail\b|rcpt\b)|(refused to talk to me|my name was rejected)",
    _I,
)


def status_key(status: str) -> str:
    """'5.1.1' -> '1.1'; '' for an empty or malformed code."""
    parts = status.split(".")
    return f"{parts[1]}.{parts[2]}" if len(parts) == 3 else ""


@lru_cache(maxsize=128)
def _match_one(weak: bool, text: str) -> str:
    """Cached: many recipients of one report share the same paragraphs."""
    for name, pattern in _WEAK_RE if weak else _STRONG_RE:
        if pattern.search(text):
            return name
    return ""


def _match(table: list[tuple[str, re.Pattern[str]]], *texts: str) -> str:
    weak = table is _WEAK_RE
    return next((found for t in texts if t and (found := _match_one(weak, t))), "")


def reason_from_text(*texts: str) -> str:
    """The first reason whose wording occurs in the texts, tried in order."""
    return _match(_STRONG_RE, *texts) or _match(_WEAK_RE, *texts)


def smtp_stage(*texts: str) -> str:
    """Which SMTP command the remote server answered: MAIL, RCPT, DATA or CONN."""
    for text in texts:
        m = _STAGE_HINT.search(text or "")
        if m:
            word = (m.group(1) or "").lower()
            if word.startswith(("mail", "rcpt")):
                return word[:4].upper()
            return "DATA" if word.endswith("data") else "CONN"
    return ""


def decide_reason(
    status: str,
    diagnostic: str,
    context: list[str],
    delayed: bool = False,
    diag_type: str = "",
) -> str:
    """Pick one reason for a recipient from its status code and texts."""
    key = status_key(status)
    if key in _DECISIVE:
        return _STATUS[key]
    temporary = delayed or status.startswith("4")
    found = (
        _match(_STRONG_RE, diagnostic)
        or ("" if key in _VAGUE_STATUS else _STATUS.get(key, ""))
        or _match(_STRONG_RE, *context)
        or _match(_WEAK_RE, diagnostic, *context)
        or _STATUS.get(key, "")
    )
    if diag_type.lower() == "x-unix" and found in _VAGUE | {"systemerror", "expired"}:
        return "mailererror"
    stage = smtp_stage(diagnostic, *context)
    if stage == "MAIL" and found in _VAGUE:
        return "rejected"
    if stage == "CONN" and found in _VAGUE | {"requireptr", "systemerror"}:
        return "blocked"
    if stage == "DATA" and found == "userunknown" and key != "1.1":
        return "filtered"
    if found == "hostunknown" and temporary:
        return "networkerror"
    if found:
        return found
    return "expired" if temporary else "onhold"


def is_hard(reason: str, status: str, reply_code: str, delayed: bool) -> bool:
    """Permanent failure of the address (user/host unknown, moved, no mail)."""
    temporary = delayed or status.startswith("4") or reply_code.startswith("4")
    return reason in _HARD and not temporary
