"""docs/benchmarks.md is rewritten a section at a time (benchmarks/doc.py): pure text."""

from __future__ import annotations

from benchmarks.doc import Section, Target, render, rewrite, sections_of, targets_of

HEADER = ["# Benchmarks", "", "- Machine: 2 cores"]


def _burst(ratio: float, when: str) -> str:
    section = Section(
        "burst",
        ["## Bursts of small files", "", f"1,000 files: {ratio} x one file."],
        [Target("burst", "1,000-file burst ≤ 3 x one file", f"{ratio} x", ratio <= 3)],
    )
    return render(section, f"Measured {when}, load average 1.0 → 1.2")


def _extract(ratio: float) -> str:
    target = Target("extract", "extract ≤ 1.5 x psql \\copy", f"{ratio} x", ratio <= 1.5)
    return render(Section("extract", ["## Extract", "", "psql | 4.9 |"], [target]), "Measured 1")


def test_rewriting_one_section_keeps_the_others_word_for_word():
    page = rewrite("", HEADER, {"burst": _burst(24.5, "day 1"), "extract": _extract(1.57)})

    again = rewrite(page, HEADER, {"burst": _burst(2.1, "day 2")})

    assert sections_of(again)["extract"] == sections_of(page)["extract"]
    assert "Measured day 2" in again and "Measured day 1" not in again
    assert "2.1 x one file" in again and "24.5" not in again
    assert again.count("<!-- section: burst -->") == 1
    assert rewrite(again, HEADER, {}) == again  # nothing measured: the page is stable


def test_the_targets_table_gathers_every_section_and_names_the_unmeasured():
    page = rewrite("", HEADER, {"burst": _burst(2.1, "today"), "extract": _extract(1.62)})
    table = page.split("## Targets", 1)[1].split("<a id=", 1)[0]

    assert "| 1,000-file burst ≤ 3 x one file | [burst](#burst) | 2.1 x | yes |" in table
    assert "| extract ≤ 1.5 x psql \\copy | [extract](#extract) | 1.62 x | no |" in table
    assert "| RSS at 20M rows ≤ RSS at 1M + 10% | scaling | not measured | - |" in table
    assert "| medalist on Spark ≤ 1.5 x Spark's floor at 20M rows | spark | not measured" in table


def test_sections_keep_the_page_order_whatever_order_they_were_measured_in():
    page = rewrite("", HEADER, {"extract": _extract(1.4)})
    page = rewrite(page, HEADER, {"burst": _burst(2.0, "later")})

    assert page.index("<!-- section: burst -->") < page.index("<!-- section: extract -->")
    assert page.startswith("# Benchmarks\n")


def test_a_target_survives_the_round_trip_through_its_hidden_line():
    target = Target("s3", 'peak RSS "≤" 1 GB -- streamed', "612 MB", None)

    (back,) = targets_of(render(Section("s3", ["## S3"], [target]), "Measured now"))

    assert back == target


def test_text_outside_any_section_is_not_carried_over():
    """Only sections survive a rewrite: the header is made anew, stray text is generated
    text from before the markers (docs/benchmarks.md was converted by hand once)."""
    page = rewrite("# Benchmarks\n\nold text without markers\n", HEADER, {"extract": _extract(1.4)})

    assert list(sections_of(page)) == ["extract"]


def test_the_spark_target_is_read_from_the_largest_size_of_its_table():
    from benchmarks.more_sections import x_floor

    table = [
        "| rows | contender | what it does | total s | JVM start s | without JVM s | x floor |",
        "|---:|---|---|---:|---:|---:|---:|",
        "| 5,000,000 | medalist-spark | medalist | 60.0 | 20.0 | 40.0 | 2.00 |",
        "| 20,000,000 | spark-floor | PySpark | 90.0 | 20.0 | 70.0 | 1.00 |",
        "| 20,000,000 | medalist-spark | medalist | 125.0 | 20.0 | 105.0 | 1.50 |",
    ]

    assert x_floor(table, "20,000,000", "medalist-spark") == 1.5
    assert x_floor(table, "1,000", "medalist-spark") is None
