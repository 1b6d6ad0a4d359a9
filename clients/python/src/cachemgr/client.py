"""The synchronous client: one connection, typed methods for the cache operations."""

from __future__ import annotations

import threading
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from ._convert import TTL, Pattern, compact, key_pattern, ttl_ms, value_bytes
from .connection import Connection, default_socket_path
from .errors import CacheConnectionError, CacheError, ProtocolError, TooLarge

if TYPE_CHECKING:
    from .subscribe import Subscription

__all__ = ["Client", "Pipeline", "KeyTTL"]

Value = Union[bytes, bytearray, memoryview, str]
Entries = Union[Mapping[str, Value], Iterable[Tuple[Any, ...]]]


class KeyTTL(NamedTuple):
    """The answer of :meth:`Client.ttl`: whether the key exists and its remaining TTL in
    milliseconds (``None`` when it never expires, or does not exist)."""

    exists: bool
    ttl_ms: Optional[int]

    @property
    def seconds(self) -> Optional[float]:
        return None if self.ttl_ms is None else self.ttl_ms / 1000.0


def _expect(name: str, fields: Any, expected: str) -> Dict[str, Any]:
    if name != expected or not isinstance(fields, dict):
        raise ProtocolError("expected a %r answer, got %r" % (expected, name))
    return fields


def _key_ttl(fields: Dict[str, Any]) -> KeyTTL:
    return KeyTTL(bool(fields["exists"]), fields.get("ttl_ms"))


def _entries(entries: Entries, ttl: TTL) -> List[Dict[str, Any]]:
    default_ms = ttl_ms(ttl)
    items = entries.items() if isinstance(entries, Mapping) else entries
    out = []
    for item in items:
        if len(item) == 2:
            key, value = item
            entry_ms = default_ms
        elif len(item) == 3:
            key, value, entry_ttl = item
            entry_ms = ttl_ms(entry_ttl)
        else:
            raise ValueError("set_many entries are (key, value) or (key, value, ttl)")
        out.append(compact(key=key, value=value_bytes(value), ttl_ms=entry_ms))
    return out


def _request_size(args: Dict[str, Any]) -> int:
    """Roughly the bytes a request puts on the wire (its strings and values)."""
    size = 64
    for v in args.values():
        if isinstance(v, (bytes, str)):
            size += len(v)
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, dict):
                    size += len(item.get("key", "")) + len(item.get("value", b"")) + 16
                else:
                    size += len(item) + 2
    return size


class _Commands:
    """The cache operations, written once for :class:`Client` (which runs each at once) and
    :class:`Pipeline` (which queues them). ``_run(op, args, answer, extract)`` sends ``op``
    and turns the answer named ``answer`` into a result with ``extract(fields)``."""

    def _run(self, op: str, args: Dict[str, Any], answer: str,
             extract: Callable[[Dict[str, Any]], Any]) -> Any:
        raise NotImplementedError

    def ping(self) -> Any:
        """``True`` when the daemon answers."""
        return self._run("ping", {}, "pong", lambda f: True)

    def get(self, ns: str, key: str) -> Any:
        """The value (``bytes``), or ``None`` when the key does not exist or has expired."""
        return self._run("get", {"ns": ns, "key": key}, "value", lambda f: f["value"])

    def set(self, ns: str, key: str, value: Value, ttl: TTL = None, *,
            if_absent: bool = False, if_present: bool = False) -> Any:
        """Stores ``value`` (bytes; a str is UTF-8 encoded). ``ttl``: seconds or a
        timedelta; ``None`` = the namespace's default TTL; ``0`` = never expires.
        ``if_absent``/``if_present`` make the write conditional (Redis NX/XX). Returns
        whether it was written (``False`` when the condition was not met)."""
        if if_absent and if_present:
            raise ValueError("if_absent and if_present exclude each other")
        condition = "if_absent" if if_absent else "if_present" if if_present else None
        args = compact(ns=ns, key=key, value=value_bytes(value), ttl_ms=ttl_ms(ttl),
                       condition=condition)
        return self._run("set", args, "stored", lambda f: bool(f["stored"]))

    def delete(self, ns: str, *keys: Union[str, Iterable[str]]) -> Any:
        """Deletes the keys (``delete(ns, "a", "b")`` or ``delete(ns, ["a", "b"])``);
        returns how many existed."""
        if len(keys) == 1 and not isinstance(keys[0], str):
            keys = tuple(keys[0])  # type: ignore[assignment]
        return self._run("delete", {"ns": ns, "keys": list(keys)}, "count",
                         lambda f: f["count"])

    def exists(self, ns: str, key: str) -> Any:
        """Whether the key exists (and has not expired)."""
        return self._run("exists", {"ns": ns, "key": key}, "count", lambda f: f["count"] > 0)

    def ttl(self, ns: str, key: str) -> Any:
        """A :class:`KeyTTL`: ``exists``, and ``ttl_ms`` (``None`` = never expires)."""
        return self._run("ttl", {"ns": ns, "key": key}, "ttl", _key_ttl)

    def expire(self, ns: str, key: str, ttl: TTL) -> Any:
        """Gives the key a new TTL from now (seconds or a timedelta; ``0`` or ``None``
        removes its expiry: unlike Redis, this never deletes the key). Returns whether the
        key existed (only then was its TTL changed)."""
        args = compact(ns=ns, key=key, ttl_ms=ttl_ms(ttl) or None)
        return self._run("expire", args, "ttl", lambda f: bool(f["exists"]))

    def get_many(self, ns: str, keys: Sequence[str]) -> Any:
        """The values of ``keys`` as a list in the same order, ``None`` where a key does not
        exist. Raises :class:`TooLarge` when the values together exceed the frame cap."""
        return self._run("get_many", {"ns": ns, "keys": list(keys)}, "values",
                         lambda f: list(f["values"]))

    def set_many(self, ns: str, entries: Entries, ttl: TTL = None) -> Any:
        """Writes every entry, unconditionally and in order: a mapping ``{key: value}`` or
        an iterable of ``(key, value)`` / ``(key, value, ttl)``. ``ttl`` applies to the pairs;
        a triple's own ttl wins (``None`` there = the namespace's default). All or nothing:
        an error means nothing was written. Returns the number of entries."""
        return self._run("set_many", {"ns": ns, "entries": _entries(entries, ttl)}, "count",
                         lambda f: f["count"])

    def delete_pattern(self, ns: str, pattern: Pattern) -> Any:
        """Deletes every key matching ``pattern`` (a glob str or a :class:`Regex`); returns
        how many were deleted."""
        args = {"ns": ns, "pattern": key_pattern(pattern)}
        return self._run("delete_pattern", args, "count", lambda f: f["count"])

    def clear(self, ns: str) -> Any:
        """Drops every entry of the namespace; returns ``{"entries": n, "bytes": m}``."""
        return self._run("clear", {"ns": ns}, "cleared", dict)

    def stats(self, ns: Optional[str] = None) -> Any:
        """The daemon's counters: ``{"total": CacheStats, "namespaces": [NamespaceStats]}``
        as plain dicts (docs/protocol.md section 7), all namespaces or only ``ns``."""
        return self._run("stats", compact(ns=ns), "stats", dict)

    def info(self) -> Any:
        """The daemon's ``info`` answer as a dict (version, pid, socket, notices, ...)."""
        return self._run("info", {}, "info", dict)

    def namespaces(self) -> Any:
        """The ``NamespaceSummary`` rows (dicts), sorted by name."""
        return self._run("list_namespaces", {}, "namespaces", lambda f: list(f["namespaces"]))


class Client(_Commands):
    """A connection to ``cachemgrd``.

    ``socket_path`` defaults to the protocol's rules (``CACHEMGR_SOCKET``, then
    ``$XDG_RUNTIME_DIR/cachemgr/cachemgrd.sock``, then ``/run/cachemgr/cachemgrd.sock`` for
    root, then ``/tmp/cachemgr-<uid>/cachemgrd.sock``). ``timeout`` (seconds, ``None`` =
    none) bounds connecting and each wait for an answer.

    The connection is opened (and handshaken) at once. When it breaks, the call that saw it
    raises :class:`~cachemgr.CacheConnectionError` and the next call opens a new one. A
    Client may be shared between threads: calls are serialised.
    """

    def __init__(self, socket_path: Optional[str] = None, client_name: Optional[str] = None,
                 timeout: Optional[float] = 5.0):
        from . import __version__

        self.socket_path = socket_path or default_socket_path()
        self.client_name = client_name or "python/cachemgr-client-%s" % __version__
        self.timeout = timeout
        self._lock = threading.RLock()
        self._conn: Optional[Connection] = None
        self._connect()

    # --- connection ------------------------------------------------------------------------
    def _connect(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = None
            self._conn = Connection(self.socket_path, self.client_name, self.timeout)
        return self._conn

    @property
    def welcome(self) -> Dict[str, Any]:
        """The handshake's ``welcome`` fields: ``protocol``, ``server_version``, ``peer``
        (the caller as the kernel reports it), ``max_frame_bytes``."""
        with self._lock:
            return self._connect().welcome

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "Client(%r)" % self.socket_path

    # --- requests --------------------------------------------------------------------------
    def _run(self, op, args, answer, extract):
        with self._lock:
            conn = self._connect()
            name, fields = conn.result(conn.send(op, args))
        return extract(_expect(name, fields, answer))

    def call(self, op: str, on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
             **args: Any) -> Dict[str, Any]:
        """Any operation of docs/protocol.md section 6 by name, arguments as keywords
        (``None`` ones are left out); returns the answer's fields. ``progress`` answers go
        to ``on_progress(fields)`` when given."""
        with self._lock:
            conn = self._connect()
            return conn.result(conn.send(op, compact(**args)), on_progress)[1]

    def pipeline(self) -> "Pipeline":
        """A :class:`Pipeline` that queues the cache operations and sends them together."""
        return Pipeline(self)

    def keys(self, ns: str, pattern: Pattern = None, count: int = 1000) -> Iterator[str]:
        """Every key of ``ns`` matching ``pattern`` (a glob str, a :class:`Regex`, or
        ``None`` for all), paging with the daemon's cursor until the end; ``count`` keys are
        asked for per page (halved when a page would exceed the frame cap). Keys written or
        deleted meanwhile may or may not be returned; the order is unspecified."""
        pat = key_pattern(pattern)
        cursor = 0
        while True:
            try:
                page = self._run("keys", compact(ns=ns, pattern=pat, cursor=cursor, count=count),
                                 "keys", dict)
            except TooLarge:
                if count <= 1:
                    raise
                count = max(1, count // 2)
                continue
            yield from page["keys"]
            next_cursor = page.get("next_cursor")
            if next_cursor is None:
                return
            cursor = next_cursor

    def subscribe(self, ns: Optional[str] = None, pattern: Pattern = None,
                  kinds: Optional[Iterable[str]] = None, values: bool = False,
                  queue: Optional[int] = None) -> "Subscription":
        """Opens a second connection that streams change events (docs/protocol.md 6.53):
        iterate the returned :class:`~cachemgr.Subscription` for :class:`~cachemgr.Event`
        and :class:`~cachemgr.Missed` objects; close it (or leave its ``with`` block) to
        stop."""
        from .subscribe import Subscription

        return Subscription(self.socket_path, self.client_name, self.timeout, ns=ns,
                            pattern=pattern, kinds=kinds, values=values, queue=queue)


class Pipeline(_Commands):
    """Queues operations and sends them without waiting for each answer:

        results = client.pipeline().set("ns", "a", b"1").get("ns", "a").execute()
        # [True, b'1']

    Every method returns the pipeline (so calls chain); :meth:`execute` sends the queue,
    reads every answer (matched by id) and returns the results in order. Requests go out in
    batches of at most ``batch`` requests (and about 256 KiB), so a long pipeline cannot
    fill both directions of the socket at once.
    """

    _BATCH_BYTES = 256 * 1024

    def __init__(self, client: Client, batch: int = 128):
        self._client = client
        self._batch = batch
        self._queued: List[Tuple[str, Dict[str, Any], str, Callable[[Dict[str, Any]], Any]]] = []

    def _run(self, op, args, answer, extract):
        self._queued.append((op, args, answer, extract))
        return self

    def __len__(self) -> int:
        return len(self._queued)

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        """The results in order. An error answer is raised (the first one, after every answer
        was read, so the connection stays in step) or, with ``raise_on_error=False``, put in
        the list in its request's place. A broken connection raises at once."""
        queued, self._queued = self._queued, []
        results: List[Any] = []
        with self._client._lock:
            conn = self._client._connect()
            start = 0
            while start < len(queued):
                # send one batch: (index, id) of each request sent; a request over the frame
                # cap is not sent and gets its TooLarge in place
                sent: List[Tuple[int, int]] = []
                size = 0
                end = start
                while end < len(queued) and len(sent) < self._batch and size < self._BATCH_BYTES:
                    op, args, _, _ = queued[end]
                    results.append(None)
                    try:
                        sent.append((end, conn.send(op, args)))
                    except TooLarge as exc:
                        results[end] = exc
                    size += _request_size(args)
                    end += 1
                for index, request_id in sent:
                    _, _, answer, extract = queued[index]
                    try:
                        name, fields = conn.result(request_id)
                        results[index] = extract(_expect(name, fields, answer))
                    except CacheConnectionError:
                        raise
                    except CacheError as exc:
                        if conn.closed:
                            raise
                        results[index] = exc
                start = end
        if raise_on_error:
            for result in results:
                if isinstance(result, CacheError):
                    raise result
        return results

