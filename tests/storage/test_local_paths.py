"""LocalStorage keeps every path inside its zone: `..` and symlinks out of the zone are
refused, however its folders' resolution is cached (a burst asks for 22,000 paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medalist.storage.local import LocalStorage


def test_a_path_out_of_its_zone_is_refused_and_one_inside_is_served(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "lake")
    outside = tmp_path / "secret.csv"
    outside.write_text("not yours\n")
    landing = tmp_path / "lake" / "landing" / "orders"
    landing.mkdir()
    (landing / "a.csv").write_text("id\n1\n")
    assert storage.head("landing", "orders/a.csv", 3) == b"id\n"  # caches orders/
    (landing / "leak.csv").symlink_to(outside)  # a file in a cached folder, pointing out
    (tmp_path / "lake" / "landing" / "out").symlink_to(tmp_path)  # a folder pointing out
    for path in ("orders/leak.csv", "../secret.csv", "orders/../../secret.csv", "out/secret.csv"):
        with pytest.raises(ValueError, match="escapes the landing zone"):
            storage.head("landing", path, 3)
    (landing / "inside.csv").symlink_to(landing / "a.csv")  # a symlink within the zone
    assert storage.head("landing", "orders/inside.csv", 3) == b"id\n"
    assert storage.stat("landing", "orders/nothing.csv") is None
