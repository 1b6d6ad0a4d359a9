"""Change notifications: ``subscribe`` turns a connection into an event stream
(docs/protocol.md section 6.53; the ``Event`` structure in section 7)."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import socket
from typing import Any, Dict, Iterable, Optional, Union

from ._convert import Pattern, compact, key_pattern
from .connection import Connection, decode_body
from .errors import CacheConnectionError, ProtocolError, from_wire

__all__ = ["Event", "Missed", "Subscription"]

log = logging.getLogger("cachemgr")


@dataclasses.dataclass(frozen=True)
class Event:
    """One change. ``seq`` grows by one per change daemon-wide (gaps are changes this
    subscriber does not see); ``at_ms`` is Unix time in ms. Which optional fields are set
    depends on ``kind`` (``set``, ``delete``, ``expire``, ``evict``, ``clear``,
    ``backup_made``, ``backup_failed``, ``pressure``, or a kind added later). Fields this
    version does not know are kept in ``extra``."""

    seq: int
    at_ms: int
    kind: str
    ns: Optional[str] = None
    key: Optional[str] = None
    value: Optional[bytes] = None
    count: Optional[int] = None
    pattern: Optional[str] = None
    app: Optional[str] = None
    message: Optional[str] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def at(self) -> datetime.datetime:
        """``at_ms`` as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.at_ms / 1000.0, tz=datetime.timezone.utc)

    @classmethod
    def from_wire(cls, fields: Dict[str, Any]) -> "Event":
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        try:
            return cls(
                extra={k: v for k, v in fields.items() if k not in known},
                **{k: v for k, v in fields.items() if k in known},
            )
        except TypeError as exc:  # a required field missing
            raise ProtocolError("bad event %r: %s" % (sorted(fields), exc)) from None

    def __repr__(self) -> str:  # values may be secrets: show their size only
        parts = ["seq=%d" % self.seq, "kind=%r" % self.kind]
        for name in ("ns", "key", "count", "pattern", "app", "message"):
            if getattr(self, name) is not None:
                parts.append("%s=%r" % (name, getattr(self, name)))
        if self.value is not None:
            parts.append("value=<%d bytes>" % len(self.value))
        return "Event(%s)" % ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class Missed:
    """``count`` matching events were dropped for this subscriber because its queue was full
    (it read too slowly). It comes before the next event delivered."""

    count: int


class Subscription:
    """An event stream on a connection of its own. Iterate it for :class:`Event` and
    :class:`Missed` items, in the daemon's order; iteration ends when the connection closes
    (:meth:`close`, or the daemon shutting down). ``missed`` totals the ``count`` of every
    :class:`Missed` seen and ``received`` the events seen; ``queue`` is the queue length the
    daemon granted.

    Made by :meth:`cachemgr.Client.subscribe`; errors of the ``subscribe`` request itself
    (``permission_denied``, ``invalid_argument``) are raised there.
    """

    def __init__(self, socket_path: Optional[str], client_name: str, timeout: Optional[float],
                 ns: Optional[str] = None, pattern: Pattern = None,
                 kinds: Optional[Iterable[str]] = None, values: bool = False,
                 queue: Optional[int] = None):
        self._conn = Connection(socket_path, client_name, timeout)
        self.missed = 0
        self.received = 0
        try:
            args = compact(ns=ns, pattern=key_pattern(pattern),
                           kinds=None if kinds is None else [str(k) for k in kinds],
                           values=bool(values), queue=queue)
            self.id = self._conn.send("subscribe", args)
            name, fields = self._conn.result(self.id)
            if name != "subscribed" or not isinstance(fields, dict):
                raise ProtocolError("expected 'subscribed', got %r" % (name,))
        except BaseException:
            self._conn.close()
            raise
        self.queue: int = fields.get("queue", 0)

    @property
    def closed(self) -> bool:
        return self._conn.closed

    def close(self) -> None:
        """Ends the stream (closing the connection). Safe to call from another thread to
        wake up a reader blocked in :meth:`next` or a ``for`` loop."""
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._conn.close()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> Union[Event, Missed]:
        item = self.next(timeout=None)
        if item is None:
            raise StopIteration
        return item

    def next(self, timeout: Optional[float] = None) -> Optional[Union[Event, Missed]]:
        """The next :class:`Event` or :class:`Missed`; waits at most ``timeout`` seconds
        (``None``: as long as it takes) and returns ``None`` when nothing came in time or the
        stream has ended (see :attr:`closed`). Nothing is lost on a timeout."""
        while True:
            sock = self._conn.sock
            if sock is None:
                return None
            try:
                sock.settimeout(timeout)
                body = self._conn.reader.read()
            except (socket.timeout, BlockingIOError):  # BlockingIOError: timeout 0
                return None
            except (CacheConnectionError, OSError):
                self._conn.close()  # end-of-file: the daemon stopped, or close() was called
                return None
            request_id, name, fields = decode_body(body)
            if name == "error":
                error = from_wire(fields)
                if request_id == 0:
                    self._conn.close()
                raise error
            if request_id != self.id:
                log.debug("subscription: skipping %r under id %d", name, request_id)
                continue
            if name == "event" and isinstance(fields, dict) and isinstance(fields.get("event"), dict):
                self.received += 1
                return Event.from_wire(fields["event"])
            if name == "missed" and isinstance(fields, dict):
                count = int(fields.get("count", 0))
                self.missed += count
                return Missed(count)
            log.debug("subscription: skipping unknown answer %r", name)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return "Subscription(%s, queue=%d, received=%d, missed=%d)" % (
            state, self.queue, self.received, self.missed)


