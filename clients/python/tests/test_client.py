"""Every call of the Client against the real daemon, with real values."""

from __future__ import annotations

import datetime
import os

import pytest

import cachemgr
from conftest import wait_for

BINARY = bytes(range(256)) + b"\x00\xff\xfe\x80\xc3(\n\xe2\x82"  # invalid UTF-8 included


def test_handshake_reports_the_peer(client):
    welcome = client.welcome
    assert welcome["protocol"] == cachemgr.PROTOCOL_VERSION == 1
    assert welcome["peer"]["pid"] == os.getpid()
    assert welcome["peer"]["uid"] == os.getuid()
    assert welcome["max_frame_bytes"] == 16 * 1024 * 1024
    assert client.ping() is True


def test_socket_path_from_the_environment(daemon, monkeypatch):
    monkeypatch.setenv("CACHEMGR_SOCKET", daemon.socket)
    with cachemgr.Client() as c:
        assert c.socket_path == daemon.socket
        assert c.ping()


def test_set_get_binary_safe(client, ns):
    assert client.get(ns, "missing") is None
    assert client.set(ns, "bin", BINARY) is True
    assert client.get(ns, "bin") == BINARY
    assert client.set(ns, "empty", b"") is True
    assert client.get(ns, "empty") == b""  # an empty value is not a miss
    assert client.set(ns, "text", "héllo") is True  # str is UTF-8 encoded
    assert client.get(ns, "text") == "héllo".encode()
    big = os.urandom(3 * 1024 * 1024)
    assert client.set(ns, "big", big)
    assert client.get(ns, "big") == big
    assert client.set(ns, "ключ/🔑", b"unicode key")
    assert client.get(ns, "ключ/🔑") == b"unicode key"


def test_overwrite_replaces_value_and_ttl(client, ns):
    client.set(ns, "k", b"1", ttl=100)
    assert client.ttl(ns, "k").ttl_ms is not None
    client.set(ns, "k", b"2")  # no TTL given: the namespace default (none)
    assert client.get(ns, "k") == b"2"
    assert client.ttl(ns, "k") == cachemgr.KeyTTL(True, None)


def test_conditions(client, ns):
    assert client.set(ns, "k", b"first", if_present=True) is False
    assert client.get(ns, "k") is None
    assert client.set(ns, "k", b"first", if_absent=True) is True
    assert client.set(ns, "k", b"second", if_absent=True) is False
    assert client.get(ns, "k") == b"first"
    assert client.set(ns, "k", b"third", if_present=True) is True
    assert client.get(ns, "k") == b"third"
    with pytest.raises(ValueError):
        client.set(ns, "k", b"x", if_absent=True, if_present=True)


def test_ttl_and_expiry(client, ns):
    assert client.ttl(ns, "nope") == cachemgr.KeyTTL(False, None)
    client.set(ns, "forever", b"v")
    assert client.ttl(ns, "forever") == cachemgr.KeyTTL(True, None)
    client.set(ns, "hour", b"v", ttl=datetime.timedelta(hours=1))
    t = client.ttl(ns, "hour")
    assert t.exists and 3_590_000 < t.ttl_ms <= 3_600_000
    assert 3590 < t.seconds <= 3600
    client.set(ns, "short", b"v", ttl=0.3)
    assert client.exists(ns, "short")
    wait_for(lambda: not client.exists(ns, "short"), what="the 300 ms key to expire")
    assert client.get(ns, "short") is None
    assert client.ttl(ns, "short") == cachemgr.KeyTTL(False, None)


def test_default_ttl_and_never(client):
    ns = "hourly"  # [namespaces.hourly] default_ttl = "1h"
    client.set(ns, "default", b"v")  # ttl=None: the namespace's default
    assert 3_590_000 < client.ttl(ns, "default").ttl_ms <= 3_600_000
    client.set(ns, "never", b"v", ttl=0)  # 0: never expires, whatever the default
    assert client.ttl(ns, "never") == cachemgr.KeyTTL(True, None)
    client.set_many(ns, [("m-default", b"v"), ("m-never", b"v", 0)])
    assert 3_590_000 < client.ttl(ns, "m-default").ttl_ms <= 3_600_000
    assert client.ttl(ns, "m-never") == cachemgr.KeyTTL(True, None)
    client.set_many(ns, {"m-batch": b"v"}, ttl=0)
    assert client.ttl(ns, "m-batch") == cachemgr.KeyTTL(True, None)


def test_expire(client, ns):
    assert client.expire(ns, "nope", 10) is False
    client.set(ns, "k", b"v")
    assert client.expire(ns, "k", 60) is True
    assert 59_000 < client.ttl(ns, "k").ttl_ms <= 60_000
    assert client.expire(ns, "k", 0) is True  # 0 removes the expiry, never deletes
    assert client.ttl(ns, "k") == cachemgr.KeyTTL(True, None)
    assert client.get(ns, "k") == b"v"
    assert client.expire(ns, "k", 0.2) is True
    wait_for(lambda: client.get(ns, "k") is None, what="the expired key to go")


def test_delete_and_exists(client, ns):
    client.set(ns, "a", b"1")
    client.set(ns, "b", b"2")
    assert client.exists(ns, "a") is True
    assert client.delete(ns, "a", "b", "c") == 2
    assert client.exists(ns, "a") is False
    assert client.delete(ns, []) == 0
    client.set(ns, "d", b"4")
    assert client.delete(ns, ["d", "e"]) == 1


def test_get_many_and_set_many(client, ns):
    assert client.set_many(ns, {"a": b"1", "b": "two", "c": BINARY}) == 3
    assert client.get_many(ns, ["c", "nope", "a", "b"]) == [BINARY, None, b"1", b"two"]
    assert client.get_many(ns, []) == []
    # pairs and triples; per-entry TTL beats the batch TTL; later duplicates win
    count = client.set_many(ns, [("x", b"1"), ("y", b"2", 0.2), ("x", b"3")], ttl=3600)
    assert count == 3
    assert client.get(ns, "x") == b"3"
    assert client.ttl(ns, "x").ttl_ms > 3_500_000
    wait_for(lambda: client.get_many(ns, ["y"]) == [None], what="entry y to expire")


def test_delete_pattern_and_clear(client, ns):
    client.set_many(ns, {"user:1": b"a", "user:2": b"b", "other": b"c"})
    assert client.delete_pattern(ns, "user:*") == 2
    assert sorted(client.keys(ns)) == ["other"]
    assert client.clear(ns)["entries"] == 1
    assert list(client.keys(ns)) == []


def test_stats(client, ns):
    client.set(ns, "k", b"value")
    client.get(ns, "k")
    client.get(ns, "missing")
    stats = client.stats(ns)
    (row,) = stats["namespaces"]
    assert row["ns"] == ns
    assert row["stats"]["sets"] == 1
    assert row["stats"]["hits"] == 1
    assert row["stats"]["misses"] == 1
    assert row["stats"]["entries"] == 1
    assert stats["total"]["entries"] == 1
    everything = client.stats()
    assert ns in [r["ns"] for r in everything["namespaces"]]
    with pytest.raises(cachemgr.UnknownNamespace):
        client.stats("no-such-namespace")


def test_info_and_namespaces(client, daemon, ns):
    info = client.info()
    assert info["socket"] == daemon.socket
    assert info["protocol"] == 1
    client.set(ns, "k", b"v")
    (row,) = [r for r in client.namespaces() if r["ns"] == ns]
    assert row["entries"] == 1 and row["configured"] is False


def test_pipeline(client, ns):
    pipe = client.pipeline()
    for i in range(300):  # more than one batch
        pipe.set(ns, "k%d" % i, b"%d" % i)
    pipe.get(ns, "k7").exists(ns, "k299").delete(ns, "k0", "k1").ttl(ns, "k2")
    results = pipe.execute()
    assert results[:300] == [True] * 300
    assert results[300:] == [b"7", True, 2, cachemgr.KeyTTL(True, None)]
    # an error answer takes its place; the requests around it are answered
    results = (client.pipeline().get(ns, "k5").set("bad name!", "k", b"v").get(ns, "k6")
               .execute(raise_on_error=False))
    assert results[0] == b"5" and results[2] == b"6"
    assert isinstance(results[1], cachemgr.InvalidArgument)
    with pytest.raises(cachemgr.InvalidArgument):
        client.pipeline().set("bad name!", "k", b"v").ping().execute()
    assert client.ping()


def test_generic_call(client, ns):
    client.set(ns, "a", b"12345")
    assert client.call("pattern_stats", ns=ns, pattern=None) == {"keys": 1, "bytes": 6,
                                                                "with_ttl": 0}


def test_a_client_is_shared_between_threads(client, ns):
    import threading

    errors = []

    def work(t):
        try:
            for i in range(50):
                key = "t%d-%d" % (t, i)
                assert client.set(ns, key, key)
                assert client.get(ns, key) == key.encode()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(client.keys(ns))) == 200
