"""Errors: kinds as exceptions, the connection surviving them, a broken or absent daemon."""

from __future__ import annotations

import pytest

import cachemgr
from cachemgr import connection


def test_oversized_key_is_too_large_and_the_connection_survives(client, ns):
    with pytest.raises(cachemgr.TooLarge) as info:
        client.set(ns, "k" * 65_536, b"v")
    assert info.value.kind == "too_large"
    assert "65535" in info.value.message or "65,535" in info.value.message
    assert client.set(ns, "k" * 65_535, b"v")  # the limit itself is fine
    assert client.ping()
    with pytest.raises(cachemgr.TooLarge):
        client.set_many(ns, {"k" * 65_536: b"v"})
    # only writes check the length: elsewhere such a key simply does not exist
    assert client.get(ns, "k" * 65_536) is None
    assert client.exists(ns, "k" * 65_536) is False


def test_entry_over_the_namespace_limit_is_too_large(client):
    with pytest.raises(cachemgr.TooLarge):
        client.set("tiny", "k", b"x" * 5000)  # [namespaces.tiny] max_bytes = "4KiB"
    with pytest.raises(cachemgr.TooLarge):  # set_many is all or nothing
        client.set_many("tiny", {"small": b"1", "big": b"x" * 5000})
    assert client.get("tiny", "small") is None
    assert client.set("tiny", "k", b"x" * 100)


def test_bad_namespace_name_is_invalid_argument(client):
    with pytest.raises(cachemgr.InvalidArgument) as info:
        client.set("no spaces allowed", "k", b"v")
    assert info.value.kind == "invalid_argument"
    assert isinstance(info.value, cachemgr.CacheError)
    with pytest.raises(cachemgr.InvalidArgument):
        client.set("x" * 129, "k", b"v")
    assert client.ping()


def test_bad_pattern_is_invalid_argument(client, ns):
    with pytest.raises(cachemgr.InvalidArgument):
        list(client.keys(ns, "[unclosed"))
    with pytest.raises(cachemgr.InvalidArgument):
        list(client.keys(ns, cachemgr.Regex("(")))
    assert client.ping()


def test_unknown_operation_is_malformed(client):
    with pytest.raises(cachemgr.Malformed):
        client.call("no_such_operation")
    assert client.ping()


def test_unsupported_protocol(daemon, monkeypatch):
    monkeypatch.setattr(connection, "PROTOCOL_VERSION", 2)
    with pytest.raises(cachemgr.UnsupportedProtocol) as info:
        daemon.client()
    assert "protocol 2" in info.value.message and "protocol 1" in info.value.message


def test_no_daemon_is_a_connection_error(tmp_path):
    with pytest.raises(cachemgr.CacheConnectionError) as info:
        cachemgr.Client(str(tmp_path / "nothing.sock"))
    assert info.value.kind == "connection"
    assert isinstance(info.value, ConnectionError)


def test_frame_cap_and_too_large_answers(make_daemon, ns):
    d = make_daemon('max_frame_bytes = "64KiB"\n')
    with d.client() as c:
        assert c.welcome["max_frame_bytes"] == 64 * 1024
        # a request over the cap is refused here, never sent: the connection goes on
        # names the cap it was checked against (the daemon's, from its welcome)
        with pytest.raises(cachemgr.TooLarge, match=r"\b65536\b"):
            c.set(ns, "big", b"x" * (65 * 1024))
        assert c.ping()
        # an answer over the cap is the daemon's too_large; the connection goes on
        for i in range(3):
            assert c.set(ns, "v%d" % i, b"x" * (30 * 1024))
        with pytest.raises(cachemgr.TooLarge):
            c.get_many(ns, ["v0", "v1", "v2"])
        assert c.get_many(ns, ["v0", "v1"]) == [b"x" * (30 * 1024)] * 2
        # keys() halves its page size when a page would not fit
        long_keys = ["%04d" % i + "k" * 1000 for i in range(200)]
        for i in range(0, 200, 20):
            c.set_many(ns, [(k, b"") for k in long_keys[i:i + 20]])
        assert sorted(k for k in c.keys(ns) if not k.startswith("v")) == long_keys
        assert c.ping()


def test_a_restarted_daemon_is_reconnected_to(make_daemon, ns):
    d = make_daemon()
    c = d.client()
    try:
        c.set(ns, "k", b"v")
        d.stop()
        with pytest.raises(cachemgr.CacheConnectionError):
            c.get(ns, "k")
        with pytest.raises(cachemgr.CacheConnectionError):  # still down: no daemon
            c.ping()
        d.start()
        assert c.ping()  # a new connection, opened by the call
        assert c.get(ns, "k") is None  # a memory namespace starts empty
    finally:
        c.close()


def test_client_timeout(make_daemon, ns):
    import socket
    import threading

    # a "daemon" that accepts and never answers
    path = str(make_daemon().root / "silent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(server.accept()))
    t.start()
    try:
        with pytest.raises(cachemgr.CacheTimeoutError):
            cachemgr.Client(path, timeout=0.2)
    finally:
        t.join(5)
        for conn, _ in accepted:
            conn.close()
        server.close()
