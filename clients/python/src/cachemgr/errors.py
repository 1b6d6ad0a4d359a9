"""Exceptions: one per error kind of the protocol (docs/protocol.md, section 9).

Every exception the client raises for the daemon's answers or for a broken connection is a
:class:`CacheError`. It carries ``kind`` (the wire kind, e.g. ``"too_large"``) and
``message`` (the daemon's text, for humans). Branch on the class or on ``kind``, never on the
message. A kind this version does not know still arrives as a plain :class:`CacheError` with
that ``kind``.
"""

from __future__ import annotations

from typing import Dict, Type


class CacheError(Exception):
    """Base of every error of this package. ``kind`` is the wire error kind (section 9), or
    one of the client-side kinds ``"connection"`` and ``"protocol"``."""

    kind = "unknown"

    def __init__(self, message: str, kind: str = None):
        if kind is not None:
            self.kind = kind
        self.message = message
        super().__init__("%s: %s" % (self.kind, message))


# --- errors the daemon sends (section 9) ---------------------------------------------------


class Malformed(CacheError):
    """The request did not have the shape of a request (a client bug, or an operation this
    daemon does not know)."""

    kind = "malformed"


class FrameTooLarge(CacheError):
    """A frame exceeded the daemon's frame cap; the daemon closed the connection."""

    kind = "frame_too_large"


class HandshakeRequired(CacheError):
    kind = "handshake_required"


class UnsupportedProtocol(CacheError):
    """The daemon speaks another protocol version; the message names both."""

    kind = "unsupported_protocol"


class HandshakeTimeout(CacheError):
    """The daemon's ``timeout`` kind: no ``hello`` within its handshake timeout."""

    kind = "timeout"


class InvalidArgument(CacheError, ValueError):
    """A well-formed request with a bad argument: a bad namespace name, a bad pattern, ..."""

    kind = "invalid_argument"


class TooLarge(CacheError, ValueError):
    """A key over 65,535 bytes, an entry that does not fit the namespace, or a request or
    answer over the frame cap."""

    kind = "too_large"


class UnknownNamespace(CacheError, KeyError):
    kind = "unknown_namespace"

    def __str__(self) -> str:  # KeyError would quote the text
        return "%s: %s" % (self.kind, self.message)


class PermissionDenied(CacheError, PermissionError):
    kind = "permission_denied"


class Unavailable(CacheError):
    """The daemon refuses new work: it is stopping, or at its connection cap."""

    kind = "unavailable"


class InternalError(CacheError):
    """A bug inside the daemon, or an operation this daemon build does not implement yet."""

    kind = "internal"


class StorageError(CacheError):
    kind = "storage"


class Corrupt(CacheError):
    kind = "corrupt"


class Busy(CacheError):
    kind = "busy"


# --- errors made on the client side ----------------------------------------------------------


class CacheConnectionError(CacheError, ConnectionError):
    """No daemon could be reached (no socket, connection refused), or the connection broke
    (end-of-file, a reset, a timeout). ``kind`` is ``"connection"``. A request that was sent
    when this happened may or may not have been carried out."""

    kind = "connection"


class CacheTimeoutError(CacheConnectionError, TimeoutError):
    """No answer within the client's ``timeout``; the connection is closed (the next call
    opens a new one)."""


class ProtocolError(CacheError):
    """The daemon sent something this client cannot make sense of; the connection is closed.
    ``kind`` is ``"protocol"``."""

    kind = "protocol"


_BY_KIND: Dict[str, Type[CacheError]] = {
    cls.kind: cls
    for cls in (
        Malformed,
        FrameTooLarge,
        HandshakeRequired,
        UnsupportedProtocol,
        HandshakeTimeout,
        InvalidArgument,
        TooLarge,
        UnknownNamespace,
        PermissionDenied,
        Unavailable,
        InternalError,
        StorageError,
        Corrupt,
        Busy,
    )
}

#: Kinds after which the daemon closes the connection (section 9).
CLOSING_KINDS = frozenset(
    {"frame_too_large", "handshake_required", "unsupported_protocol", "timeout"}
)


def from_wire(fields: object) -> CacheError:
    """The exception for an ``error`` answer's fields ``{kind, message}``; an unknown kind
    gives a plain :class:`CacheError` carrying it."""
    if not isinstance(fields, dict):
        return ProtocolError("error answer is not a map: %r" % (fields,))
    kind = fields.get("kind")
    message = fields.get("message", "")
    if not isinstance(kind, str):
        return ProtocolError("error answer without a kind: %r" % (fields,))
    if not isinstance(message, str):
        message = str(message)
    cls = _BY_KIND.get(kind)
    if cls is None:
        return CacheError(message, kind=kind)
    return cls(message)
