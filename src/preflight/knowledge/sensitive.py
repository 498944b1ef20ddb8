"""Which names hold secrets: the table behind ENV004/ENV005 and behind redaction.

A name is judged by its last word (``DB_PASSWORD``, ``GITHUB_TOKEN``), or by ``KEY`` qualified by
a word that makes it a credential (``API_KEY``, ``SIGNING_KEY``, not ``CACHE_KEY``). The words were
collected from the settings of the frameworks preflight checks (Django ``SECRET_KEY``, Starlette
``SessionMiddleware(secret_key=…)``, SQLAlchemy ``password``) and the names cloud providers give
their credentials (``AWS_SECRET_ACCESS_KEY``, ``GOOGLE_API_KEY``, ``STRIPE_API_KEY``).
"""

from __future__ import annotations

import re

SENSITIVE_LAST_WORDS = frozenset(
    {
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "TOKEN",
        "CREDENTIALS",
        "SECRETKEY",
        "APIKEY",
        "PASSPHRASE",
    }
)
KEY_QUALIFIERS = frozenset(
    {
        "API",
        "SECRET",
        "PRIVATE",
        "ACCESS",
        "ENCRYPTION",
        "SIGNING",
        "MASTER",
        "CLIENT",
        "AUTH",
        "LICENSE",
        "WEBHOOK",
    }
)
# `PASS` after one of these is an nginx `*_pass` directive's target (an upstream, a socket), not a
# password: `DD_UWSGI_PASS=uwsgi_server` (DefectDojo's nginx image), `PROXY_PASS`, `FASTCGI_PASS`.
# Source: the nginx directives proxy_pass, uwsgi_pass, fastcgi_pass, scgi_pass, grpc_pass,
# memcached_pass (nginx.org/en/docs/dirindex.html).
PASS_DIRECTIVES = frozenset({"PROXY", "UWSGI", "FASTCGI", "SCGI", "GRPC", "MEMCACHED"})
# Names that are not credentials although their last word says so: the shell's working directory.
NOT_CREDENTIALS = frozenset({"PWD"})
# A word that says the credential is published on purpose: a demo login the app pre-fills on its
# login page (Bank of Anthos `DEMO_LOGIN_PASSWORD`). Still masked in output; never "leaked".
PUBLISHED_WORDS = frozenset({"DEMO"})
_WORDS = re.compile(r"[_\-.]+")


def is_sensitive_name(name: str) -> bool:
    """SECRET_KEY, DB_PASSWORD, GITHUB_TOKEN, GOOGLE_API_KEY — judged by the name's last word.

    ``FORGOT_PASSWORD_ENABLED``, ``MAX_TOKENS``, ``SECRET_NAME`` and ``ACCESS_TOKEN_EXPIRE_MINUTES``
    name settings *about* a secret, not secrets.
    """
    words = [w for w in _WORDS.split(name.upper()) if w]
    if not words or name.upper() in NOT_CREDENTIALS:
        return False
    last = words[-1]
    if last == "PASS" and len(words) > 1 and words[-2] in PASS_DIRECTIVES:
        return False  # DD_UWSGI_PASS: where nginx passes requests, not a password
    if last in SENSITIVE_LAST_WORDS:
        return True
    return last == "KEY" and len(words) > 1 and words[-2] in KEY_QUALIFIERS


def is_published_credential(name: str) -> bool:
    """DEMO_LOGIN_PASSWORD: a credential meant to be seen (a demo login), not a leak."""
    return any(w in PUBLISHED_WORDS for w in _WORDS.split(name.upper()))


# A text that contains none of these (lower-cased) holds no sensitive name: a cheap test before
# the word-by-word one (redaction runs it on every line and message it prints). Derived from the
# table: the words no other word of it contains.
_ALL_WORDS = {w.lower() for w in SENSITIVE_LAST_WORDS | {"KEY"}}
_PARTS = tuple(sorted(w for w in _ALL_WORDS if not any(o != w and o in w for o in _ALL_WORDS)))


def may_name_a_secret(text: str) -> bool:
    """False when no name in ``text`` can be sensitive (see :func:`is_sensitive_name`)."""
    lowered = text.lower()
    return any(part in lowered for part in _PARTS)
