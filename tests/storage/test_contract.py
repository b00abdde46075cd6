"""The Storage port's behaviour, written once and run on every adapter and layout: what the
states rely on (find, stat, head, checksum, stage → publish, unstage, discard) must hold the
same on local folders and on S3."""

from __future__ import annotations

import pytest

from tests.storage.conftest import Lake


def test_find_lists_what_a_glob_matches_sorted_with_sizes(lake: Lake) -> None:
    for path, data in [
        ("orders/b.csv", b"bb"),
        ("orders/a.csv", b"a"),
        ("orders/a.txt", b"not csv"),
        ("orders/.partial.csv", b"hidden: still being copied"),
        ("orders/2026/c.csv", b"ccc"),
        ("orders_old/z.csv", b"zz"),
        ("customers/x.csv", b"x"),
    ]:
        lake.put("landing", path, data)

    found = lake.storage.find("landing", "orders/*.csv")
    assert [(f.zone, f.path, f.size) for f in found] == [
        ("landing", "orders/a.csv", 1),
        ("landing", "orders/b.csv", 2),
    ]
    assert [f.path for f in lake.storage.find("landing", "orders/**/*.csv")] == [
        "orders/2026/c.csv",
        "orders/a.csv",
        "orders/b.csv",
    ]
    assert [f.path for f in lake.storage.find("landing", "*/?.csv")] == [
        "customers/x.csv",
        "orders/a.csv",
        "orders/b.csv",
        "orders_old/z.csv",
    ]
    assert lake.storage.find("landing", "nothing/*.csv") == []
    assert lake.storage.find("silver", "orders/*.csv") == []  # zones are apart


def test_stat_and_head_read_only_what_they_say(lake: Lake) -> None:
    lake.put("landing", "orders/a.csv", b"id,name\n1,ann\n")
    lake.put("landing", "orders/empty.csv", b"")

    found = lake.storage.stat("landing", "orders/a.csv")
    assert found is not None and (found.path, found.size) == ("orders/a.csv", 14)
    assert found.mtime == lake.storage.find("landing", "orders/a.csv")[0].mtime
    assert lake.storage.stat("landing", "orders/missing.csv") is None
    assert lake.storage.head("landing", "orders/a.csv", 7) == b"id,name"
    assert lake.storage.head("landing", "orders/a.csv", 1000) == b"id,name\n1,ann\n"
    assert lake.storage.head("landing", "orders/empty.csv", 10) == b""
    with pytest.raises(FileNotFoundError):
        lake.storage.head("landing", "orders/missing.csv", 10)


def test_checksum_names_the_content_not_the_write(lake: Lake) -> None:
    lake.put("landing", "orders/a.csv", b"id\n1\n")
    first = lake.storage.checksum("landing", "orders/a.csv")

    lake.put("landing", "orders/a.csv", b"id\n1\n")  # delivered again, same bytes
    assert lake.storage.checksum("landing", "orders/a.csv") == first
    lake.put("landing", "orders/copy.csv", b"id\n1\n")  # same bytes under another name
    assert lake.storage.checksum("landing", "orders/copy.csv") == first

    lake.put("landing", "orders/a.csv", b"id\n2\n")  # same size, other content
    assert lake.storage.checksum("landing", "orders/a.csv") != first
    with pytest.raises(FileNotFoundError):
        lake.storage.checksum("landing", "orders/missing.csv")


def test_a_staged_object_is_invisible_until_published(lake: Lake) -> None:
    storage = lake.storage
    lake.put("silver", "orders/r1.parquet", b"old version")
    url = storage.staging_url("silver", "orders/r1.parquet", "r1")
    lake.write_url(url, b"new version")

    assert storage.find("silver", "**/*.parquet") == [storage.stat("silver", "orders/r1.parquet")]
    assert storage.head("silver", "orders/r1.parquet", 100) == b"old version"

    storage.publish("silver", "orders/r1.parquet", "r1")
    assert storage.head("silver", "orders/r1.parquet", 100) == b"new version"
    assert [f.path for f in storage.find("silver", "**/*")] == ["orders/r1.parquet"]
    assert storage.discard_staged("silver", keep=set()) == []  # nothing left staged


def test_publishing_a_new_path_and_unstaging(lake: Lake) -> None:
    storage = lake.storage
    lake.write_url(storage.staging_url("gold", "sales/r2.parquet", "r2"), b"gold")
    lake.write_url(storage.staging_url("quarantine", "orders/r2.parquet", "r2"), b"none bad")

    storage.publish("gold", "sales/r2.parquet", "r2")
    storage.unstage("quarantine", "orders/r2.parquet", "r2")

    assert storage.head("gold", "sales/r2.parquet", 10) == b"gold"
    assert storage.stat("quarantine", "orders/r2.parquet") is None
    assert storage.discard_staged("quarantine", keep=set()) == []
    with pytest.raises(FileNotFoundError):  # nothing staged any more
        storage.publish("quarantine", "orders/r2.parquet", "r2")


def test_discard_staged_keeps_the_tokens_of_live_writers(lake: Lake) -> None:
    storage = lake.storage
    lake.write_url(storage.staging_url("silver", "orders/dead.parquet", "dead"), b"x")
    lake.write_url(storage.staging_url("silver", "orders/live.parquet", "live"), b"y")

    assert storage.discard_staged("silver", keep={"live"}) == ["orders/dead.parquet"]

    storage.publish("silver", "orders/live.parquet", "live")  # the live writer still can
    assert storage.head("silver", "orders/live.parquet", 10) == b"y"
    with pytest.raises(FileNotFoundError):
        storage.publish("silver", "orders/dead.parquet", "dead")


def test_a_staging_url_starts_empty(lake: Lake) -> None:
    """A failed attempt's leftover under the same token never passes for the next one's."""
    storage = lake.storage
    lake.write_url(storage.staging_url("silver", "orders/r3.parquet", "r3"), b"attempt 1")
    storage.staging_url("silver", "orders/r3.parquet", "r3")  # attempt 2 starts, writes nothing

    with pytest.raises(FileNotFoundError):
        storage.publish("silver", "orders/r3.parquet", "r3")


def test_remove_deletes_and_tolerates_what_is_gone(lake: Lake) -> None:
    lake.put("gold", "sales/r1.parquet", b"v1")
    lake.storage.remove("gold", "sales/r1.parquet")
    lake.storage.remove("gold", "sales/r1.parquet")
    assert lake.storage.stat("gold", "sales/r1.parquet") is None


@pytest.mark.parametrize("path", ["../landing/orders/a.csv", "orders/../../x"], ids=["up", "deep"])
def test_a_path_escaping_its_zone_is_refused(lake: Lake, path: str) -> None:
    lake.put("landing", "orders/a.csv", b"secret")
    for attempt in (
        lambda: lake.storage.stat("silver", path),
        lambda: lake.storage.head("silver", path, 10),
        lambda: lake.storage.staging_url("silver", path, "r1"),
        lambda: lake.storage.remove("silver", path),
    ):
        with pytest.raises(ValueError, match="escapes the silver zone"):
            attempt()
    assert lake.storage.head("landing", "orders/a.csv", 10) == b"secret"
