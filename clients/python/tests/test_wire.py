"""Unit tests that need no daemon: frames against the bytes docs/protocol.md quotes, the
socket path rules, argument conversion, error mapping and key derivation."""

from __future__ import annotations

import datetime
import hashlib
import os
import socket
import struct

import msgpack
import pytest

import cachemgr
from cachemgr import connection, errors
from cachemgr._convert import key_pattern, ttl_ms, value_bytes

# docs/protocol.md section 11, fixture request_hello (id 1, protocol 1, "cachectl/0.1.0")
REQUEST_HELLO = bytes.fromhex(
    "00000032" "82" "a26964" "01" "a4626f6479" "81" "a568656c6c6f" "82"
    "a870726f746f636f6c" "01" "a6636c69656e74" "ae63616368656374 6c2f302e312e30".replace(" ", "")
)
# fixture request_set (id 7: sessions/user:42 = b"Ada", TTL 60 s, condition always)
REQUEST_SET = bytes.fromhex(
    "0000004e" "82" "a26964" "07" "a4626f6479" "81" "a3736574" "85"
    "a26e73" "a873657373696f6e73" "a36b6579" "a7757365723a3432" "a576616c7565" "c403416461"
    "a6747 46c5f6d73".replace(" ", "") + "cdea60" "a9636f6e646974696f6e" "a6616c77617973"
)
# fixture response_stored (id 7)
RESPONSE_STORED = bytes.fromhex("0000001b82a2696407a4626f647981a673746f72656481a673746f726564c3")


def test_hello_frame_matches_the_documented_bytes():
    frame = connection.encode_frame(1, "hello", {"protocol": 1, "client": "cachectl/0.1.0"})
    assert frame == REQUEST_HELLO
    assert struct.unpack(">I", frame[:4])[0] == len(frame) - 4 == 50


def test_set_frame_matches_the_documented_bytes():
    args = {"ns": "sessions", "key": "user:42", "value": value_bytes(b"Ada"),
            "ttl_ms": ttl_ms(60), "condition": "always"}
    assert connection.encode_frame(7, "set", args) == REQUEST_SET


def test_response_decodes():
    assert connection.decode_body(RESPONSE_STORED[4:]) == (7, "stored", {"stored": True})


def test_decode_rejects_a_non_envelope():
    with pytest.raises(cachemgr.ProtocolError):
        connection.decode_body(msgpack.packb({"id": 1, "body": {"a": {}, "b": {}}}))
    with pytest.raises(cachemgr.ProtocolError):
        connection.decode_body(b"\xc1")


def test_frame_reader_keeps_partial_frames_across_timeouts():
    a, b = socket.socketpair()
    try:
        reader = connection.FrameReader(a)
        frame = connection.encode_frame(3, "ping", {})
        b.sendall(frame[:5])
        a.settimeout(0.05)
        with pytest.raises(socket.timeout):
            reader.read()
        b.sendall(frame[5:] + frame)  # the rest, then a whole second frame
        a.settimeout(2)
        assert connection.decode_body(reader.read()) == (3, "ping", {})
        assert connection.decode_body(reader.read()) == (3, "ping", {})
        b.close()
        with pytest.raises(cachemgr.CacheConnectionError):
            reader.read()
    finally:
        a.close()
        b.close()


def test_frame_reader_refuses_frames_over_the_cap():
    a, b = socket.socketpair()
    try:
        reader = connection.FrameReader(a, max_frame=16)
        b.sendall(struct.pack(">I", 17))
        # names the length read and the cap
        with pytest.raises(cachemgr.ProtocolError, match=r"\b17\b.*\b16\b"):
            reader.read()
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"CACHEMGR_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/5"}, "/x/y.sock"),
        ({"CACHEMGR_SOCKET": "", "XDG_RUNTIME_DIR": "/run/user/5"},
         "/run/user/5/cachemgr/cachemgrd.sock"),
        ({"CACHEMGR_SOCKET": "", "XDG_RUNTIME_DIR": ""}, None),
    ],
)
def test_socket_path_rules(monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if expected is None:  # rules 4 and 5: root, else /tmp/cachemgr-<uid>
        uid = os.getuid()
        expected = ("/run/cachemgr/cachemgrd.sock" if uid == 0
                    else "/tmp/cachemgr-%d/cachemgrd.sock" % uid)
    assert cachemgr.default_socket_path() == expected


def test_socket_path_for_root_and_users(monkeypatch):
    monkeypatch.delenv("CACHEMGR_SOCKET", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert cachemgr.default_socket_path() == "/run/cachemgr/cachemgrd.sock"
    monkeypatch.setattr(os, "getuid", lambda: 1234)
    assert cachemgr.default_socket_path() == "/tmp/cachemgr-1234/cachemgrd.sock"


def test_ttl_conversion():
    assert ttl_ms(None) is None
    assert ttl_ms(0) == 0
    assert ttl_ms(60) == 60000
    assert ttl_ms(1.5) == 1500
    assert ttl_ms(0.0001) == 1  # rounded up: a positive TTL never becomes "never expires"
    assert ttl_ms(datetime.timedelta(minutes=2)) == 120000
    with pytest.raises(ValueError):
        ttl_ms(-1)
    with pytest.raises(TypeError):
        ttl_ms("10s")
    with pytest.raises(TypeError):
        ttl_ms(True)


def test_pattern_and_value_conversion():
    assert key_pattern("user:*") == {"syntax": "glob", "pattern": "user:*"}
    assert key_pattern(cachemgr.Regex("^a$")) == {"syntax": "regex", "pattern": "^a$"}
    assert value_bytes("é") == b"\xc3\xa9"
    assert value_bytes(bytearray(b"\x00")) == b"\x00"
    with pytest.raises(TypeError):
        value_bytes(12)


def test_errors_map_kinds_to_classes():
    e = errors.from_wire({"kind": "too_large", "message": "key of 70000 bytes"})
    assert isinstance(e, cachemgr.TooLarge) and isinstance(e, cachemgr.CacheError)
    assert (e.kind, e.message) == ("too_large", "key of 70000 bytes")
    assert isinstance(errors.from_wire({"kind": "permission_denied", "message": "m"}),
                      cachemgr.PermissionDenied)
    assert isinstance(errors.from_wire({"kind": "unavailable", "message": "m"}),
                      cachemgr.Unavailable)
    assert isinstance(errors.from_wire({"kind": "invalid_argument", "message": "m"}),
                      cachemgr.InvalidArgument)
    # a kind this client does not know is still a CacheError carrying it
    future = errors.from_wire({"kind": "quota_exceeded", "message": "over quota"})
    assert type(future) is cachemgr.CacheError
    assert (future.kind, future.message, str(future)) == (
        "quota_exceeded", "over quota", "quota_exceeded: over quota")


def _f(a, b=2, *rest, c=None, **kw):
    return a


def test_derived_keys_are_stable_and_canonical():
    key = cachemgr.derive_key(_f, (1,), {})
    assert key.startswith("test_wire._f:") and len(key) == len("test_wire._f:") + 64
    # the same call spelt differently gives the same key
    assert cachemgr.derive_key(_f, (), {"a": 1}) == key
    assert cachemgr.derive_key(_f, (1, 2), {}) == key
    # map and set order do not matter; types do
    assert (cachemgr.derive_key(_f, ({"x": 1, "y": [1, 2]},), {})
            == cachemgr.derive_key(_f, ({"y": (1, 2), "x": 1},), {}))
    assert (cachemgr.derive_key(_f, ({3, 1, 2},), {})
            == cachemgr.derive_key(_f, (frozenset([2, 3, 1]),), {}))
    assert (cachemgr.derive_key(_f, (1,), {"z": 1, "y": 2})
            == cachemgr.derive_key(_f, (1,), {"y": 2, "z": 1}))
    different = {
        cachemgr.derive_key(_f, args, kwargs)
        for args, kwargs in [((1,), {}), ((2,), {}), (("1",), {}), ((b"1",), {}), ((1.0,), {}),
                             ((True,), {}), ((1, 3), {}), ((1, 2, 3), {}), ((1,), {"c": 0}),
                             ((1,), {"d": 0}), (([1],), {}), (({1: 2},), {}), (({1},), {})]
    }
    assert len(different) == 13
    # pinned: the derivation is part of the documented behaviour (keys survive upgrades)
    # bound arguments with defaults, in parameter order; **kw an (empty) map: ext type 2
    spec = [["a", 1], ["b", 2], ["rest", []], ["c", None],
            ["kw", msgpack.ExtType(2, msgpack.packb([]))]]
    assert key == "test_wire._f:" + hashlib.sha256(msgpack.packb(spec)).hexdigest()
    assert key == ("test_wire._f:"
                   "a4da853d27343b304b2d6839a9c5b713e5d940322a27600ff9632fbce08a242a")


def test_derived_keys_refuse_unknown_types():
    with pytest.raises(TypeError, match="key="):
        cachemgr.derive_key(_f, (object(),), {})
