"""Benchmarks: the vendored sets load offline with stable ids; user JSONL; bad input is a clear error."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from s1app.errors import BenchmarkError
from s1app.eval.benches import load_bench
from s1app.eval.gpqa import diamond_rows


@pytest.mark.parametrize(("name", "count", "kind", "first_id"), [
    ("gsm8k", 1319, "number", "gsm8k-0000"),
    ("math500", 500, "math", "test/precalculus/807.json"),
    ("aime24", 30, "integer", "aime24-60"),
    ("aime25", 30, "integer", "aime25-I-1"),
    ("amc23", 40, "math", "amc23-0"),
    ("gpqa", 198, "choice", None),
])
def test_every_vendored_benchmark_loads_offline(name, count, kind, first_id):
    bench = load_bench(name)
    assert len(bench.items) == count and {item.kind for item in bench.items} == {kind}
    assert len({item.item_id for item in bench.items}) == count
    if first_id:
        assert bench.items[0].item_id == first_id


def test_references_are_plain_answers():
    assert load_bench("gsm8k").items[0].reference == "18"  # after '#### '
    assert load_bench("aime24").items[0].reference == "204"
    assert load_bench("amc23").items[0].reference == "27"  # stored as 27.0 upstream


def test_limit_takes_the_first_questions_in_file_order():
    assert [i.item_id for i in load_bench("gsm8k", limit=3).items] == ["gsm8k-0000", "gsm8k-0001", "gsm8k-0002"]


def test_gpqa_counts_198_questions_with_fixed_option_order_and_balanced_letters():
    rows = diamond_rows()
    assert len(rows) == 198
    letters = Counter(letter for _, _, letter in rows)
    assert set(letters) == {"A", "B", "C", "D"} and min(letters.values()) > 25  # shuffled, not always "A"
    diamond_rows.cache_clear()
    assert diamond_rows() == rows  # the same shuffle every time


def test_gpqa_items_are_private_and_never_show_their_text():
    bench = load_bench("gpqa", limit=2)
    assert bench.private and all(item.private for item in bench.items)
    # compared as booleans so that a failure could never print the question itself
    shown = [item.question[:20] in repr(item) or item.question[:20] in repr(bench) for item in bench.items]
    assert shown == [False, False]
    assert [i.item_id.startswith("gpqa-rec") for i in bench.items] == [True, True]


def test_a_user_jsonl_with_question_and_answer_is_a_benchmark(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in [
        {"question": "What is 2+3?", "answer": 5}, {"id": "x", "question": "Capital of France?", "answer": "Paris"},
    ]) + "\n")
    bench = load_bench(str(path))
    assert [(i.item_id, i.reference, i.kind) for i in bench.items] == [("0", "5", "math"), ("x", "Paris", "math")]


@pytest.mark.parametrize(("content", "phrase"), [
    ('{"question": "Q"}\n', "line 1 has no 'answer' field"),
    ('{"prompt": "Q", "target": 1}\n', "no 'question' or 'answer' field"),
    ("not json\n", "line 1 is not JSON"),
    ("", "has no questions"),
    ('{"id": 1, "question": "a", "answer": 1}\n{"id": 1, "question": "b", "answer": 2}\n', 'repeats an "id"'),
])
def test_a_jsonl_without_the_fields_is_a_clear_error(tmp_path, content, phrase):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(BenchmarkError, match=phrase):
        load_bench(str(path))


def test_an_unknown_benchmark_names_the_known_ones(tmp_path):
    with pytest.raises(BenchmarkError, match="gsm8k, math500, aime24, aime25, amc23, gpqa"):
        load_bench("mmlu")
    with pytest.raises(BenchmarkError, match="No benchmark file"):
        load_bench(str(tmp_path / "missing.jsonl"))
