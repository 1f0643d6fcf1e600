"""Secrets never shown: the one rule that masks credentials in store URLs and storage URIs.

Every place that prints, logs or serves a URL (the CLI, reports, the dashboard, log lines, error
messages) passes it through :func:`mask_url`, or passes free text through :func:`mask_secrets`.
Masking works on the text alone (no URL parser that could refuse it), so a URL SQLAlchemy or pyarrow
cannot parse is masked too, and nothing here raises.

What is masked, with ``***`` in place of the secret:

- the password of a URL's ``user:password@`` (the user stays): ``postgresql://hpo:***@db/hpo``,
  ``s3://KEY:***@bucket/prefix``;
- the value of every query parameter whose name looks secret, case-insensitively: names holding
  ``pass``, ``pwd``, ``secret``, ``token``, ``credential`` or ``signature``, names ending in ``key``
  (``access_key``, ``secret_key``, ``api_key``, ``account_key``), and ``sig``, ``auth``,
  ``authorization``: ``?password=***``, ``?access_key=***&secret_key=***``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

__all__ = ["MASK", "error_line", "mask_secrets", "mask_url"]

MASK = "***"

# A name is secret when, decoded and lowercased, it matches: over-masking a harmless parameter
# costs a little readability, missing a secret leaks it.
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|credential|signature|key$|^(sig|auth|authorization)$")
# A URL inside free text: a scheme, `://`, then everything up to whitespace, a quote or a bracket.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"`<>]*")
# `user:password@` where the password holds `/`, `?` or `#` unescaped (AWS secret keys hold `/`),
# which end a URL's authority early: read as SQLAlchemy reads it, the password runs to the next `@`.
_LOOSE_USERINFO = re.compile(r"[^:/?#@]*:[^@]*@")
# One `name=value` of a query string; values run to the next `&` (SQLAlchemy's and urllib's split).
_QUERY_PAIR = re.compile(r"(?P<name>[^&=]*)=(?P<value>[^&]*)")


def mask_url(url: str) -> str:
    """``url`` with every secret in it replaced by ``***``; safe to print, log or serve.

    Args:
        url: One URL or path: a SQLAlchemy URL (parsable or not), a storage URI (``s3://``,
            ``gs://``...), a ``file://`` URI or a plain path (returned unchanged).

    Returns:
        The same text with the userinfo password and the values of secret-looking query
        parameters masked; everything else (scheme, user, host, path, other parameters) as written.

    Examples:
        >>> mask_url("postgresql://hpo@db:5432/hpo?password=s3cr3t&sslmode=require")
        'postgresql://hpo@db:5432/hpo?password=***&sslmode=require'
        >>> mask_url("s3://AKIA123:wJalr/XUt@bucket/runs")
        's3://AKIA123:***@bucket/runs'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    # Once its password is masked, the userinfo holds no `?`: the first one starts the query.
    path, qmark, query = _mask_userinfo(rest).partition("?")
    if not qmark:
        return f"{scheme}://{path}"
    return f"{scheme}://{path}?{_QUERY_PAIR.sub(_mask_pair, query)}"


def mask_secrets(text: str) -> str:
    """``text`` with every URL in it (``scheme://...``) masked by :func:`mask_url`.

    For free text that may quote a URL: a spec's YAML (``storage: s3://KEY:SECRET@bucket``), an
    error message, a log line. A URL runs to the next whitespace, quote or angle bracket, less the
    punctuation that ends a sentence or closes a bracket. Text without ``://`` comes back unchanged.
    """
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    # Punctuation that ends a sentence or closes a bracket around a URL is the text's, not the URL's.
    url = match.group(0)
    core = url.rstrip(".,;:!)]}")
    return mask_url(core) + url[len(core):]


def _authority_end(rest: str) -> int:
    """Where the authority (``user:password@host:port``) of ``rest`` ends: its first ``/``, ``?`` or ``#``."""
    ends = [i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0]
    return min(ends, default=len(rest))


def _mask_userinfo(rest: str) -> str:
    """``rest`` (the URL after ``scheme://``) with the password of its ``user:password@`` masked."""
    at = rest.rfind("@", 0, _authority_end(rest))
    if at < 0:
        loose = _LOOSE_USERINFO.match(rest)
        if loose is None:
            return rest
        at = loose.end() - 1
    user, colon, _password = rest[:at].partition(":")
    if not colon:
        return rest
    return f"{user}:{MASK}{rest[at:]}"


def _mask_pair(match: re.Match[str]) -> str:
    name = match.group("name")
    if not _SECRET_NAME.search(unquote_plus(name).strip().lower()):
        return match.group(0)
    return f"{name}={MASK}"


def error_line(exc: BaseException) -> str:
    """The error's first line, secrets in any URL it quotes masked (pyarrow's and Ray's errors quote URIs);
    the error's type name when it says nothing."""
    text = mask_secrets(str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
