"""``@cached``: keep a function's results in cachemgrd.

Key derivation (stable across processes and Python versions)::

    <ns>/<key>:  "<module>.<qualname>:" + sha256(canonical).hexdigest()

where ``canonical`` is the MessagePack encoding of the call's arguments bound to the
function's signature with defaults applied: a list of ``[name, value]`` pairs in parameter
order (``*args`` as a list, ``**kwargs`` as a map), so ``f(1)``, ``f(1, b=2)`` and ``f(a=1)``
share a key when ``b`` defaults to 2. A map (dict, and ``**kwargs``) is written as
MessagePack extension type 2 holding the array of its ``[key, value]`` pairs, each encoded
and the pairs sorted bytewise; a set as extension type 1 holding the sorted array of its
encoded members; tuples as arrays (``f((1, 2))`` and ``f([1, 2])`` share a key). Arguments of other types raise
``TypeError``: pass ``key=`` (a function of the same arguments returning the key str).

Values are stored with a serializer: :data:`MSGPACK` by default (bytes, str, int, float,
bool, None, lists, tuples as lists, dicts), or :data:`JSON`, or any object with ``dumps(obj)
-> bytes`` and ``loads(bytes) -> obj``. Never pickle by default: anyone who may write the
namespace could make a pickle that runs code when loaded.

When the cache cannot be used (the daemon is down or unreachable, the daemon refuses the
request, a stored value does not decode), the function is simply called and its result
returned: a warning is logged on the logger ``cachemgr`` when this starts, debug lines while
it lasts, and an info line when the cache works again. The cache never changes what the
function returns, only how often it runs.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import threading
from typing import Any, Callable, Optional, TypeVar

import msgpack

from ._convert import TTL, ttl_ms
from .client import Client
from .errors import CacheError

__all__ = ["cached", "MSGPACK", "JSON", "MsgpackSerializer", "JsonSerializer", "derive_key"]

log = logging.getLogger("cachemgr")
F = TypeVar("F", bound=Callable[..., Any])


class MsgpackSerializer:
    """MessagePack with bin for bytes and str for text (tuples come back as lists)."""

    def dumps(self, obj: Any) -> bytes:
        return msgpack.packb(obj, use_bin_type=True)

    def loads(self, data: bytes) -> Any:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)


class JsonSerializer:
    """UTF-8 JSON (no bytes; tuples come back as lists)."""

    def dumps(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")

    def loads(self, data: bytes) -> Any:
        return json.loads(data.decode("utf-8"))


MSGPACK = MsgpackSerializer()
JSON = JsonSerializer()

_SET_EXT = 1
_MAP_EXT = 2


def _canonical(obj: Any) -> Any:
    """``obj`` made order-independent where Python's equality is (maps, sets)."""
    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        return obj
    if isinstance(obj, (bytearray, memoryview)):
        return bytes(obj)
    if isinstance(obj, (list, tuple)):
        return [_canonical(x) for x in obj]
    if isinstance(obj, dict):
        pairs = sorted([_pack(_canonical(k)), _pack(_canonical(v))] for k, v in obj.items())
        return msgpack.ExtType(_MAP_EXT, _pack(pairs))
    if isinstance(obj, (set, frozenset)):
        packed = sorted(_pack(_canonical(x)) for x in obj)
        return msgpack.ExtType(_SET_EXT, msgpack.packb(packed, use_bin_type=True))
    raise TypeError(
        "cannot derive a cache key from an argument of type %s; pass key= to @cached"
        % type(obj).__name__
    )



def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True, strict_types=False)


def derive_key(func: Callable[..., Any], args: tuple, kwargs: dict) -> str:
    """The key ``@cached`` stores ``func(*args, **kwargs)`` under (see the module doc)."""
    signature = inspect.signature(func)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    canonical = [[name, _canonical(value)] for name, value in bound.arguments.items()]
    digest = hashlib.sha256(_pack(canonical)).hexdigest()
    return "%s.%s:%s" % (func.__module__, func.__qualname__, digest)


def cached(ttl: TTL = None, ns: str = "cached", key: Optional[Callable[..., str]] = None,
           client: Optional[Client] = None, serializer: Any = MSGPACK) -> Callable[[F], F]:
    """Caches the decorated function's results in namespace ``ns`` for ``ttl`` (seconds or
    a timedelta; ``None`` = the namespace's default TTL; ``0`` = never expires).

    ``key``: a function taking the same arguments and returning the key (default: see
    :func:`derive_key`). ``client``: the :class:`Client` to use; by default one is made on
    first use from the socket rules (``CACHEMGR_SOCKET``, ...) with a 2 s timeout and shared
    by every ``@cached`` function. ``serializer``: an object with ``dumps``/``loads``
    (default MessagePack; never pickle unless every writer of ``ns`` is trusted).

    The wrapper has ``cache_key(*args, **kwargs)`` and ``invalidate(*args, **kwargs)``.
    """
    ttl_ms(ttl)  # check it now, not at the first call

    def decorate(func: F) -> F:
        state = _State()

        def cache_key(*args: Any, **kwargs: Any) -> str:
            return key(*args, **kwargs) if key is not None else derive_key(func, args, kwargs)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            k = cache_key(*args, **kwargs)
            try:
                data = _client(client).get(ns, k)
            except CacheError as exc:
                state.failed(func, exc)
                return func(*args, **kwargs)
            if data is not None:
                try:
                    value = serializer.loads(data)
                except Exception as exc:  # a value another writer left, or a new format
                    log.warning("cachemgr: cached value of %s in namespace %s does not decode "
                                "(%s); recomputing", func.__qualname__, ns, type(exc).__name__)
                else:
                    state.ok(func)
                    return value
            value = func(*args, **kwargs)
            try:
                data = serializer.dumps(value)
            except Exception as exc:
                log.warning("cachemgr: result of %s cannot be serialized (%s); not cached",
                            func.__qualname__, exc)
                return value
            try:
                _client(client).set(ns, k, data, ttl)
            except CacheError as exc:
                state.failed(func, exc)
            else:
                state.ok(func)
            return value

        def invalidate(*args: Any, **kwargs: Any) -> bool:
            """Deletes the cached result for these arguments; whether there was one."""
            return _client(client).delete(ns, cache_key(*args, **kwargs)) > 0

        wrapper.cache_key = cache_key  # type: ignore[attr-defined]
        wrapper.invalidate = invalidate  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


class _State:
    """Whether the cache failed last time, to log a warning once per outage."""

    def __init__(self) -> None:
        self.failing = False

    def failed(self, func: Callable[..., Any], exc: CacheError) -> None:
        if not self.failing:
            self.failing = True
            log.warning("cachemgr: cache unavailable for %s (%s); calling it uncached",
                        func.__qualname__, exc)
        else:
            log.debug("cachemgr: cache still unavailable for %s (%s)", func.__qualname__, exc)

    def ok(self, func: Callable[..., Any]) -> None:
        if self.failing:
            self.failing = False
            log.info("cachemgr: cache available again for %s", func.__qualname__)


_default_client: Optional[Client] = None
_default_lock = threading.Lock()


def _client(explicit: Optional[Client]) -> Client:
    """The given client, or the shared default one (made on first use; if the daemon is
    down then, the next call tries again)."""
    global _default_client
    if explicit is not None:
        return explicit
    with _default_lock:
        if _default_client is None:
            _default_client = Client(timeout=2.0)
        return _default_client
