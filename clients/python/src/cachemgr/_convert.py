"""Turning Python arguments into wire fields: TTLs, patterns, values."""

from __future__ import annotations

import datetime
import math
from typing import Any, Dict, Optional, Union

TTL = Union[int, float, datetime.timedelta, None]


class Regex(str):
    """A key pattern in regex syntax (unanchored; section 8): ``Regex(r"^user:[0-9]+$")``.
    A plain ``str`` pattern is a glob."""


Pattern = Union[str, Regex, Dict[str, str], None]


def ttl_ms(ttl: TTL) -> Optional[int]:
    """Seconds (int/float) or a timedelta to whole milliseconds, rounded up so that a
    positive TTL never becomes 0 (which means "never expires"). ``None`` stays ``None``
    (the namespace's default TTL); ``0`` stays 0 (never expires)."""
    if ttl is None:
        return None
    if isinstance(ttl, datetime.timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError("ttl must be seconds (int or float) or a timedelta, not %r" % (ttl,))
    else:
        seconds = ttl
    if seconds < 0 or math.isnan(seconds) or math.isinf(seconds):
        raise ValueError("ttl must be a finite number of seconds >= 0, not %r" % (ttl,))
    if isinstance(ttl, int) and not isinstance(ttl, bool):
        return ttl * 1000
    return math.ceil(seconds * 1000)


def key_pattern(pattern: Pattern) -> Optional[Dict[str, str]]:
    """A ``KeyPattern`` map: a ``str`` is a glob, a :class:`Regex` a regex, a dict is sent as
    it is."""
    if pattern is None:
        return None
    if isinstance(pattern, Regex):
        return {"syntax": "regex", "pattern": str(pattern)}
    if isinstance(pattern, str):
        return {"syntax": "glob", "pattern": pattern}
    if isinstance(pattern, dict):
        return dict(pattern)
    raise TypeError("pattern must be a str (glob), a Regex or a KeyPattern dict")


def value_bytes(value: Any) -> bytes:
    """Values are bytes; a ``str`` is UTF-8 encoded; ``bytearray``/``memoryview`` are
    copied to ``bytes``."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError("values are bytes (or str, UTF-8 encoded), not %s" % type(value).__name__)


def compact(**fields: Any) -> Dict[str, Any]:
    """The fields without those that are ``None`` (absent optional fields are left out)."""
    return {k: v for k, v in fields.items() if v is not None}
