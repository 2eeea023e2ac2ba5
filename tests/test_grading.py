"""Answer extraction and grading (s1app.eval.grading): pure, shared by the sweep tab and eval."""

from __future__ import annotations

import threading

import pytest

from s1app.eval.grading import extract_answer, grade, last_boxed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"first \boxed{1} then \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"nested \boxed{\sqrt{x^{2}}} done", r"\sqrt{x^{2}}"),
        ("I think 3.\nFinal Answer: 42.", "42"),
        ("Answer: x = 7", "x = 7"),
        ("The answer is: 12", "12"),
        ("we get 3 apples, then 1,200 pears", "1200"),
        ("no digits here", None),
    ],
)
def test_extraction_prefers_boxed_then_answer_line_then_last_number(text, expected):
    assert extract_answer(text) == expected


def test_an_unclosed_boxed_falls_back_to_the_answer_line():
    assert last_boxed(r"\boxed{1 + ") is None
    assert extract_answer("Final Answer: 5 \\boxed{1 + ") == r"5 \boxed{1 +"


@pytest.mark.parametrize(
    ("output", "reference", "correct"),
    [
        (r"\boxed{\frac{1}{2}}", "0.5", True),
        ("Final Answer: 2/4", r"\frac{1}{2}", True),
        ("so it is 41", "42", False),
        (r"\boxed{\text{Paris}}", "Paris", True),
        ("nothing to extract", "1", False),
    ],
)
def test_grading_is_mathematical_equivalence(output, reference, correct):
    assert grade(output, reference).correct is correct


def test_without_a_reference_there_is_no_verdict():
    result = grade("Final Answer: 9", None)
    assert result.extracted == "9" and result.correct is None


def test_grading_works_off_the_main_thread():
    # math-verify's timeouts use signals; a UI handler thread must still grade.
    results = []
    worker = threading.Thread(target=lambda: results.append(grade(r"\boxed{3/6}", "1/2")))
    worker.start()
    worker.join()
    assert results[0].correct is True
