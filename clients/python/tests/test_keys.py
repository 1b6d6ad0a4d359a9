"""keys(): an iterator over every page of the daemon's cursor."""

from __future__ import annotations

import cachemgr


def _fill(client, ns, n):
    keys = ["key:%05d" % i for i in range(n)]
    for start in range(0, n, 500):
        client.set_many(ns, [(k, k.encode()) for k in keys[start:start + 500]])
    return keys


def test_keys_pages_through_more_than_one_page(client, ns, monkeypatch):
    keys = _fill(client, ns, 2500)
    pages = []
    real_run = cachemgr.Client._run

    def counting_run(self, op, args, answer, extract):
        result = real_run(self, op, args, answer, extract)
        if op == "keys":
            pages.append((args["cursor"], len(result["keys"]), "next_cursor" in result))
        return result

    monkeypatch.setattr(cachemgr.Client, "_run", counting_run)
    got = list(client.keys(ns))
    assert sorted(got) == keys  # every key, once
    assert len(pages) >= 3  # 2,500 keys in pages of at most 1,000
    assert pages[0][0] == 0 and all(n <= 1000 for _, n, _ in pages)
    assert [more for _, _, more in pages] == [True] * (len(pages) - 1) + [False]


def test_keys_small_pages_and_patterns(client, ns):
    keys = _fill(client, ns, 120)
    assert sorted(client.keys(ns, count=7)) == keys
    assert sorted(client.keys(ns, "key:0001?")) == ["key:%05d" % i for i in range(10, 20)]
    assert sorted(client.keys(ns, cachemgr.Regex(r"^key:0000[0-4]$"), count=2)) == keys[:5]
    assert list(client.keys(ns, "nothing*")) == []


def test_keys_of_a_missing_namespace_is_empty(client):
    assert list(client.keys("t.never-written")) == []


def test_keys_is_lazy_and_can_stop_early(client, ns):
    _fill(client, ns, 50)
    it = client.keys(ns, count=10)
    first = [next(it) for _ in range(15)]
    assert len(set(first)) == 15
    it.close()
    assert client.ping()  # the connection is in step after an abandoned iteration
