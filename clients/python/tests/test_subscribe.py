"""client.subscribe(): change events (docs/protocol.md 6.53 and Event in section 7)."""

from __future__ import annotations

import threading
import time
from typing import List, Union

import pytest

import cachemgr
from cachemgr import Event, Missed
from conftest import wait_for

BINARY = b"\x00\xff\xfe\x80\xc3(\n\xe2\x82"


def collect(sub, n, timeout=10.0) -> List[Union[Event, Missed]]:
    """The next ``n`` events (Missed notices are kept too but not counted)."""
    items = []
    deadline = time.monotonic() + timeout
    while sum(isinstance(i, Event) for i in items) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail("got %d of %d events within %s s: %r" % (
                sum(isinstance(i, Event) for i in items), n, timeout, items))
        item = sub.next(timeout=remaining)
        if item is not None:
            items.append(item)
    return items


def events(sub, n, timeout=10.0) -> List[Event]:
    items = collect(sub, n, timeout)
    assert not [i for i in items if isinstance(i, Missed)], "unexpected missed notice"
    return items


def test_set_delete_expire_events_in_order(client, ns):
    with client.subscribe(ns=ns, values=True) as sub:
        assert sub.queue >= 1
        before_ms = int(time.time() * 1000)
        client.set(ns, "a", BINARY)
        client.set(ns, "b", b"2", ttl=0.2)
        assert client.delete(ns, "a", "missing") == 1  # one event: only "a" existed
        got = events(sub, 4)
        after_ms = int(time.time() * 1000)
    assert [(e.kind, e.ns, e.key) for e in got] == [
        ("set", ns, "a"), ("set", ns, "b"), ("delete", ns, "a"), ("expire", ns, "b")]
    assert got[0].value == BINARY and got[1].value == b"2"
    assert got[2].value is None and got[3].value is None
    seqs = [e.seq for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert all(before_ms - 1000 <= e.at_ms <= after_ms + 1000 for e in got)
    assert got[0].at.year >= 2024
    assert sub.closed and sub.received == 4 and sub.missed == 0
    assert "value=<9 bytes>" in repr(got[0]) and "\\x00" not in repr(got[0])


def test_values_are_left_out_unless_asked_for(client, ns):
    with client.subscribe(ns=ns) as sub:
        assert sub.next(timeout=0) is None  # nothing yet; the stream goes on
        assert sub.next(timeout=0.05) is None
        client.set(ns, "k", b"secret")
        (e,) = events(sub, 1)
    assert (e.kind, e.key, e.value) == ("set", "k", None)


def test_set_many_makes_one_event_per_key(client, ns):
    with client.subscribe(ns=ns, values=True) as sub:
        client.set_many(ns, [("x", b"1"), ("y", b"2"), ("x", b"3")])
        got = events(sub, 3)
    assert [(e.kind, e.key, e.value) for e in got] == [
        ("set", "x", b"1"), ("set", "y", b"2"), ("set", "x", b"3")]


def test_kinds_filter(client, ns):
    with client.subscribe(ns=ns, kinds=["delete"]) as sub:
        client.set(ns, "x", b"1")
        client.delete(ns, "x")
        client.set(ns, "z", b"1")
        client.delete(ns, "z")
        got = events(sub, 2)
    assert [(e.kind, e.key) for e in got] == [("delete", "x"), ("delete", "z")]


def test_pattern_filter(client, ns):
    with client.subscribe(ns=ns, pattern="user:*") as glob_sub, \
            client.subscribe(ns=ns, pattern=cachemgr.Regex(r"^user:[0-9]+$")) as regex_sub:
        for key in ["other:1", "user:1", "user:x", "other:2", "user:2"]:
            client.set(ns, key, b"v")
        assert [e.key for e in events(glob_sub, 3)] == ["user:1", "user:x", "user:2"]
        assert [e.key for e in events(regex_sub, 2)] == ["user:1", "user:2"]


def test_namespace_filter_and_every_namespace(client, ns):
    other = ns[:120] + ".other"
    with client.subscribe(ns=ns) as one, client.subscribe() as every:
        client.set(other, "k", b"v")
        client.set(ns, "k", b"v")
        (e,) = events(one, 1)
        assert (e.ns, e.key) == (ns, "k")
        seen = []
        while len(seen) < 2:  # the daemon-wide stream holds both, in order
            e = events(every, 1)[0]
            if e.ns in (ns, other):
                seen.append(e.ns)
        assert seen == [other, ns]


def test_pattern_delete_and_clear_events(client, ns):
    client.set_many(ns, {"user:1": b"a", "user:2": b"b", "other": b"c"})
    with client.subscribe(ns=ns, kinds=["delete", "clear"]) as sub:
        assert client.delete_pattern(ns, "user:*") == 2
        client.clear(ns)
        got = events(sub, 2)
    assert (got[0].kind, got[0].key, got[0].count, got[0].pattern) == ("delete", None, 2, "user:*")
    assert (got[1].kind, got[1].ns, got[1].count) == ("clear", ns, 1)


def test_evictions_make_evict_events(client):
    ns = "evicting"  # [namespaces.evicting] max_bytes = "8KiB", lru
    with client.subscribe(ns=ns, kinds=["evict"]) as sub:
        for i in range(12):  # 12 entries of 1 KiB + overhead do not fit in 8 KiB
            client.set(ns, "e%02d" % i, b"x" * 1024)
        got = events(sub, 2)
    # least recently used first: the oldest keys go
    assert [(e.kind, e.ns, e.key) for e in got] == [("evict", ns, "e00"), ("evict", ns, "e01")]
    assert client.get(ns, "e00") is None and client.get(ns, "e11") == b"x" * 1024


def test_slow_subscriber_gets_missed_counts(client, ns):
    """A subscriber that stops reading loses events, counted: what it is delivered plus what
    its missed notices count is everything written."""
    value = b"v" * 16384  # big events fill the socket buffers quickly
    n = 400
    with client.subscribe(ns=ns, values=True, queue=4) as sub:
        assert sub.queue == 4
        for start in range(0, n, 50):  # the subscriber reads nothing meanwhile
            client.set_many(ns, [("k%03d" % i, value) for i in range(start, start + 50)])
        # Now read. Drops at the very end are only reported before a later delivered event,
        # so write sentinels until one arrives: everything before it is then accounted for.
        delivered: List[Event] = []
        missed = 0
        sentinel = None
        written = 0
        deadline = time.monotonic() + 60
        while sentinel is None:
            assert time.monotonic() < deadline, "no sentinel event arrived"
            client.set(ns, "sentinel:%d" % written, b"s")
            written += 1
            while True:
                item = sub.next(timeout=0.5)
                if item is None:
                    break
                if isinstance(item, Missed):
                    assert item.count > 0
                    missed += item.count
                elif item.key.startswith("sentinel:"):
                    sentinel = int(item.key.split(":")[1])
                    break
                else:
                    delivered.append(item)
        assert missed > 0, "the small queue never overflowed"
        assert delivered, "nothing was delivered before the queue overflowed"
        # sentinels before the one seen were dropped too
        assert len(delivered) + missed == n + sentinel
        assert sub.missed == missed and sub.received == len(delivered) + 1
        keys = [e.key for e in delivered]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)  # in order, no repeats
        assert all(e.value == value for e in delivered)
        seqs = [e.seq for e in delivered]
        assert seqs == sorted(seqs)
        print("slow subscriber: %d delivered, %d missed, sentinel %d"
              % (len(delivered), missed, sentinel))


def test_subscribe_errors(client, ns):
    with pytest.raises(cachemgr.InvalidArgument):  # a kind the daemon does not know
        client.subscribe(ns=ns, kinds=["no_such_kind"])
    with pytest.raises(cachemgr.InvalidArgument):
        client.subscribe(ns=ns, queue=0)
    with pytest.raises(cachemgr.InvalidArgument):
        client.subscribe(ns=ns, pattern="[unclosed")
    assert client.ping()  # the subscriptions had connections of their own


def test_queue_is_clamped_to_the_daemons_maximum(client, ns):
    with client.subscribe(ns=ns, queue=4_000_000_000) as sub:
        assert 1 <= sub.queue < 4_000_000_000


def test_close_from_another_thread_ends_the_iteration(client, ns):
    sub = client.subscribe(ns=ns)
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(sub))
    reader.start()
    client.set(ns, "k", b"v")
    wait_for(lambda: seen, what="the reader thread to see the set")
    sub.close()
    reader.join(10)
    assert not reader.is_alive()
    assert [(e.kind, e.key) for e in seen] == [("set", "k")]
    assert sub.next(timeout=0) is None


def test_daemon_shutdown_ends_the_stream(make_daemon, ns):
    d = make_daemon()
    with d.client() as c, c.subscribe(ns=ns) as sub:
        c.set(ns, "k", b"v")
        assert events(sub, 1)[0].key == "k"
        d.stop()
        assert list(sub) == []  # end-of-file: the iteration ends
        assert sub.closed
