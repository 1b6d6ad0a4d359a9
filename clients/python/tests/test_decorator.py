"""@cached against the real daemon."""

from __future__ import annotations

import logging

import pytest

import cachemgr
from conftest import wait_for


def test_runs_once_within_the_ttl_and_again_after_expiry(client, ns):
    calls = []

    @cachemgr.cached(ttl=1.5, ns=ns, client=client)
    def square(x):
        calls.append(x)
        return {"x": x, "square": x * x, "blob": b"\x00\xff"}

    expected = {"x": 4, "square": 16, "blob": b"\x00\xff"}
    assert square(4) == expected
    assert square(4) == expected
    assert calls == [4]
    key = square.cache_key(4)
    assert client.exists(ns, key)
    assert 0 < client.ttl(ns, key).ttl_ms <= 1500
    wait_for(lambda: not client.exists(ns, key), what="the cached result to expire")
    assert square(4) == expected
    assert calls == [4, 4]


def test_different_arguments_different_keys(client, ns):
    calls = []

    @cachemgr.cached(ttl=60, ns=ns, client=client)
    def add(a, b=0, *, scale=1):
        calls.append((a, b, scale))
        return (a + b) * scale

    assert add(1, 2) == 3
    assert add(1, b=2) == 3  # same call, spelt differently: cached
    assert add(2, 1) == 3
    assert add(1, 2, scale=10) == 30
    assert add(1) == 1
    assert add(1, 0) == 1  # the default made explicit: cached
    assert calls == [(1, 2, 1), (2, 1, 1), (1, 2, 10), (1, 0, 1)]
    assert len(set(client.keys(ns))) == 4
    assert all(k.startswith("test_decorator.test_different_arguments_different_keys."
                            "<locals>.add:") for k in client.keys(ns))


def test_values_round_trip_including_none(client, ns):
    calls = []

    @cachemgr.cached(ttl=60, ns=ns, client=client)
    def f(x):
        calls.append(x)
        return None if x == 0 else [x, "s", 1.5, True, b"b"]

    assert f(0) is None and f(0) is None  # a cached None is a hit, not a miss
    assert f(1) == [1, "s", 1.5, True, b"b"] == f(1)
    assert calls == [0, 1]


def test_custom_key_and_json_serializer(client, ns):
    calls = []

    @cachemgr.cached(ttl=60, ns=ns, client=client, key=lambda user_id: "user:%d" % user_id,
                     serializer=cachemgr.JSON)
    def profile(user_id):
        calls.append(user_id)
        return {"id": user_id, "name": "Ada"}

    assert profile(7) == {"id": 7, "name": "Ada"}
    assert client.get(ns, "user:7") == b'{"id":7,"name":"Ada"}'
    assert profile(7) == {"id": 7, "name": "Ada"}
    assert calls == [7]
    assert profile.invalidate(7) is True
    assert profile(7) == {"id": 7, "name": "Ada"}
    assert calls == [7, 7]


def test_undecodable_cached_value_is_recomputed(client, ns, caplog):
    @cachemgr.cached(ttl=60, ns=ns, client=client)
    def f():
        return "fresh"

    client.set(ns, f.cache_key(), b"\xc1 not msgpack")  # e.g. written by someone else
    with caplog.at_level(logging.WARNING, logger="cachemgr"):
        assert f() == "fresh"
    assert "does not decode" in caplog.text
    assert client.get(ns, f.cache_key()) == cachemgr.MSGPACK.dumps("fresh")


def test_unserializable_result_is_returned_uncached(client, ns, caplog):
    @cachemgr.cached(ttl=60, ns=ns, client=client)
    def f():
        return object

    with caplog.at_level(logging.WARNING, logger="cachemgr"):
        assert f() is object
    assert "cannot be serialized" in caplog.text
    assert list(client.keys(ns)) == []


def test_daemon_down_still_returns_the_computed_value(make_daemon, ns, caplog):
    d = make_daemon()
    c = d.client()
    calls = []

    @cachemgr.cached(ttl=60, ns=ns, client=c)
    def f(x):
        calls.append(x)
        return x * 2

    try:
        assert f(1) == 2 and f(1) == 2
        assert calls == [1]
        d.stop()
        with caplog.at_level(logging.WARNING, logger="cachemgr"):
            assert f(1) == 2  # the daemon is gone: computed again, no exception
            assert f(1) == 2
        assert calls == [1, 1, 1]
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1  # once per outage, not once per call
        assert "cache unavailable" in warnings[0].getMessage()
        d.start()
        assert f(1) == 2  # back: stored again ...
        assert f(1) == 2  # ... and read
        assert calls == [1, 1, 1, 1]
    finally:
        c.close()


def test_no_daemon_at_all_with_the_default_client(tmp_path, monkeypatch, caplog):
    from cachemgr import decorator

    monkeypatch.setenv("CACHEMGR_SOCKET", str(tmp_path / "none.sock"))
    monkeypatch.setattr(decorator, "_default_client", None)

    @cachemgr.cached(ttl=60)
    def f(x):
        return x + 1

    with caplog.at_level(logging.WARNING, logger="cachemgr"):
        assert f(1) == 2
    assert "cache unavailable" in caplog.text


def test_arguments_without_a_key_derivation_raise(client, ns):
    @cachemgr.cached(ttl=60, ns=ns, client=client)
    def f(x):
        return 1

    with pytest.raises(TypeError, match="key="):
        f(object())


def test_bad_ttl_is_refused_at_decoration():
    with pytest.raises(ValueError):
        cachemgr.cached(ttl=-1)
