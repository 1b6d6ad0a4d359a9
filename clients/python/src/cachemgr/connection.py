"""Socket path, framing and one handshaken connection (docs/protocol.md, sections 1, 2, 4, 5).

A frame is a big-endian u32 length followed by that many bytes of one MessagePack document,
the envelope ``{"id": u64, "body": {"<name>": {<fields>}}}``. This module knows nothing of
the individual operations: :class:`Connection` sends request bodies and hands back
``(id, name, fields)`` triples.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import struct
from typing import Any, Dict, Optional, Tuple

import msgpack

from .errors import (
    CLOSING_KINDS,
    CacheConnectionError,
    CacheError,
    CacheTimeoutError,
    ProtocolError,
    TooLarge,
    from_wire,
)

log = logging.getLogger("cachemgr")

PROTOCOL_VERSION = 1
#: The daemon's default frame cap; used until ``welcome.max_frame_bytes`` says otherwise.
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
_PREFIX = struct.Struct(">I")


def default_socket_path() -> str:
    """The daemon's socket as clients resolve it (section 1, rules 2 to 5): a non-empty
    ``CACHEMGR_SOCKET``, else ``$XDG_RUNTIME_DIR/cachemgr/cachemgrd.sock`` when
    ``XDG_RUNTIME_DIR`` is non-empty, else ``/run/cachemgr/cachemgrd.sock`` for root, else
    ``/tmp/cachemgr-<uid>/cachemgrd.sock``."""
    explicit = os.environ.get("CACHEMGR_SOCKET")
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "cachemgr", "cachemgrd.sock")
    uid = os.getuid()
    if uid == 0:
        return "/run/cachemgr/cachemgrd.sock"
    return "/tmp/cachemgr-%d/cachemgrd.sock" % uid


def encode_frame(request_id: int, op: str, args: Dict[str, Any]) -> bytes:
    """One request frame. ``args`` must already leave out absent optional fields."""
    body = msgpack.packb({"id": request_id, "body": {op: args}}, use_bin_type=True)
    return _PREFIX.pack(len(body)) + body


def decode_body(body: bytes) -> Tuple[int, str, Any]:
    """``(id, answer name, fields)`` of one response frame's body."""
    try:
        message = msgpack.unpackb(body, raw=False)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError("undecodable frame from the daemon: %s" % exc) from None
    if not isinstance(message, dict) or not isinstance(message.get("body"), dict):
        raise ProtocolError("response is not an envelope")
    request_id = message.get("id")
    answer = message["body"]
    if not isinstance(request_id, int) or len(answer) != 1:
        raise ProtocolError("response envelope has a bad id or body")
    ((name, fields),) = answer.items()
    return request_id, name, fields


class FrameReader:
    """Reassembles frames from a stream socket. Bytes of a partly received frame stay
    buffered across a timeout, so a reader may wait with a timeout and try again."""

    def __init__(self, sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME):
        self.sock = sock
        self.max_frame = max_frame
        self._buf = bytearray()

    def _frame_ready(self) -> Optional[bytes]:
        if len(self._buf) < 4:
            return None
        (length,) = _PREFIX.unpack_from(self._buf)
        if length > self.max_frame:
            raise ProtocolError(
                "frame of %d bytes from the daemon is over the cap of %d" % (length, self.max_frame)
            )
        if len(self._buf) < 4 + length:
            return None
        body = bytes(self._buf[4 : 4 + length])
        del self._buf[: 4 + length]
        return body

    def read(self) -> bytes:
        """The next frame's body. Raises ``socket.timeout`` (buffer kept), or
        :class:`CacheConnectionError` at end-of-file."""
        while True:
            body = self._frame_ready()
            if body is not None:
                return body
            chunk = self.sock.recv(1 << 18)
            if not chunk:
                raise CacheConnectionError(
                    "connection closed by cachemgrd"
                    + (" in the middle of a frame" if self._buf else "")
                )
            self._buf += chunk


class Connection:
    """One connection to the daemon, handshaken. Not thread-safe: :class:`cachemgr.Client`
    serialises its use.

    ``timeout`` (seconds, ``None`` = wait forever) bounds connecting and each wait for an
    answer; after a timeout the connection is closed, since an answer may still be on its
    way.
    """

    def __init__(self, socket_path: Optional[str] = None, client_name: str = "python",
                 timeout: Optional[float] = 5.0):
        self.socket_path = socket_path or default_socket_path()
        self.timeout = timeout
        self._ids = itertools.count(1)  # 0 is reserved for the daemon
        self.sock: Optional[socket.socket] = None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.socket_path)
        except socket.timeout:
            sock.close()
            raise CacheTimeoutError("connecting to %s timed out" % self.socket_path) from None
        except OSError as exc:
            sock.close()
            raise CacheConnectionError(
                "cannot connect to cachemgrd at %s: %s" % (self.socket_path, exc.strerror or exc)
            ) from None
        self.sock = sock
        self.reader = FrameReader(sock)
        self.max_frame = DEFAULT_MAX_FRAME
        try:
            self.welcome = self.call("hello", {"protocol": PROTOCOL_VERSION, "client": client_name})
        except CacheError:
            self.close()  # any error answering the first frame closes the connection
            raise
        self.max_frame = int(self.welcome.get("max_frame_bytes", DEFAULT_MAX_FRAME))
        self.reader.max_frame = self.max_frame
        log.debug("connected to %s (server %s)", self.socket_path,
                  self.welcome.get("server_version"))

    @property
    def closed(self) -> bool:
        return self.sock is None

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _live_socket(self) -> socket.socket:
        if self.sock is None:
            raise CacheConnectionError("connection is closed")
        return self.sock

    def send(self, op: str, args: Dict[str, Any]) -> int:
        """Sends one request without waiting; returns its id. A request over the daemon's
        frame cap raises :class:`TooLarge` and is not sent (the connection stays usable)."""
        sock = self._live_socket()
        request_id = next(self._ids)
        frame = encode_frame(request_id, op, args)
        if len(frame) - 4 > self.max_frame:
            raise TooLarge(
                "the %s request is %d bytes, over the daemon's frame cap of %d"
                % (op, len(frame) - 4, self.max_frame)
            )
        try:
            sock.sendall(frame)
        except socket.timeout:
            self.close()
            raise CacheTimeoutError("sending to cachemgrd timed out") from None
        except OSError as exc:
            self.close()
            raise CacheConnectionError("lost the connection to cachemgrd: %s" % exc) from None
        return request_id

    def receive(self) -> Tuple[int, str, Any]:
        """The next response ``(id, name, fields)``. An unsolicited error (id 0) is raised
        and closes the connection: it means a request will never be answered."""
        self._live_socket()
        try:
            request_id, name, fields = decode_body(self.reader.read())
        except socket.timeout:
            self.close()
            raise CacheTimeoutError(
                "no answer from cachemgrd within %s s" % self.timeout
            ) from None
        except CacheError:
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise CacheConnectionError("lost the connection to cachemgrd: %s" % exc) from None
        if request_id == 0:
            self.close()
            if name == "error":
                raise from_wire(fields)
            raise ProtocolError("unsolicited %r answer under id 0" % name)
        if name == "error" and isinstance(fields, dict) and fields.get("kind") in CLOSING_KINDS:
            self.close()
        return request_id, name, fields

    def result(self, request_id: int, on_progress=None) -> Any:
        """Waits for ``request_id``'s terminal answer (skipping ``progress``, passed to
        ``on_progress`` when given) and returns its ``(name, fields)``; an ``error`` answer is
        raised. Answers must arrive in order: one for another id is a protocol error."""
        while True:
            got_id, name, fields = self.receive()
            if got_id != request_id:
                self.close()
                raise ProtocolError("answer for id %d while waiting for %d" % (got_id, request_id))
            if name == "progress":
                if on_progress is not None:
                    on_progress(fields)
                continue
            if name == "error":
                raise from_wire(fields)
            return name, fields

    def call(self, op: str, args: Dict[str, Any], on_progress=None) -> Any:
        """One request, its answer's fields."""
        return self.result(self.send(op, args), on_progress)[1]
