"""Python client for cachemgrd (docs/protocol.md): a synchronous :class:`Client`, the
``@cached`` decorator and change subscriptions."""

__version__ = "0.1.0"

from ._convert import Regex
from .client import Client, KeyTTL, Pipeline
from .connection import PROTOCOL_VERSION, default_socket_path
from .decorator import JSON, MSGPACK, JsonSerializer, MsgpackSerializer, cached, derive_key
from .errors import (
    Busy,
    CacheConnectionError,
    CacheError,
    CacheTimeoutError,
    Corrupt,
    FrameTooLarge,
    HandshakeRequired,
    HandshakeTimeout,
    InternalError,
    InvalidArgument,
    Malformed,
    PermissionDenied,
    ProtocolError,
    StorageError,
    TooLarge,
    Unavailable,
    UnknownNamespace,
    UnsupportedProtocol,
)
from .subscribe import Event, Missed, Subscription

__all__ = [
    "__version__", "PROTOCOL_VERSION", "default_socket_path",
    "Client", "Pipeline", "KeyTTL", "Regex",
    "cached", "derive_key", "MSGPACK", "JSON", "MsgpackSerializer", "JsonSerializer",
    "Event", "Missed", "Subscription",
    "CacheError", "CacheConnectionError", "CacheTimeoutError", "ProtocolError",
    "Malformed", "FrameTooLarge", "HandshakeRequired", "UnsupportedProtocol",
    "HandshakeTimeout", "InvalidArgument", "TooLarge", "UnknownNamespace", "PermissionDenied",
    "Unavailable", "InternalError", "StorageError", "Corrupt", "Busy",
]
