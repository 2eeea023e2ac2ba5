"""Local grading (s1app.eval.grading), pure and shared by eval, the Benchmark and the Sweep tabs:
extraction, equivalence by answer kind, real-looking answer sections and the references themselves."""

from __future__ import annotations

import threading

import pytest

from s1app.eval.benches import load_bench
from s1app.eval.grading import Grade, extract_answer, extract_choice, extract_number, grade, last_boxed
from s1app.eval.policies import majority


@pytest.mark.parametrize(
    ("answer_section", "reference", "kind", "extracted", "correct"),
    [
        # MATH / AMC: math-verify
        (r"Final Answer: The area is \boxed{\frac{3}{4}}.", "0.75", "math", r"\frac{3}{4}", True),
        (r"so \boxed{\left( 3, \frac{\pi}{2} \right)}", r"\left( 3, \frac{\pi}{2} \right)", "math",
         r"\left( 3, \frac{\pi}{2} \right)", True),
        (r"nested \boxed{\sqrt{x^{2}+1}} done", r"\sqrt{x^2+1}", "math", r"\sqrt{x^{2}+1}", True),
        ("Final Answer: 27", "27", "math", "27", True),
        ("Final Answer: 2/4", "0.5", "math", "2/4", True),
        (r"\boxed{\text{Evelyn}}", r"\text{Evelyn}", "math", r"\text{Evelyn}", True),
        # AIME: integers, zero-padded references
        (r"Final Answer: \boxed{023}", "023", "integer", "23", True),
        ("Answer: 204", "204", "integer", "204", True),
        (r"\boxed{204.5}", "204", "integer", "204.5", False),
        # GSM8K: the number, whatever its dress
        ("Final Answer: $1,200.00 per day", "1200", "number", "1200", True),
        ("Final Answer: 2 * 1.5 = 2.5 bolts\n\nSo, there are 2.5 bolts in total.", "3", "number", "2.5", False),
        ("Final Answer: 18\n\nShe makes $18 every day.", "18", "number", "18", True),
        ("she makes 9 * 2 = 18 dollars", "18", "number", "18", True),
        (r"\boxed{0.50}", "1/2", "number", "0.5", True),
        # GPQA: the option letter, never the text
        ("Answer: C", "C", "choice", "C", True),
        ("Final Answer: (B) because the spin is", "B", "choice", "B", True),
        (r"\boxed{\text{D}}", "D", "choice", "D", True),
        ("The answer is A) the first one", "C", "choice", "A", False),
        ("Based on Drake's equation, I cannot tell", "A", "choice", None, False),
        # nothing to extract
        ("I am not sure.", "42", "math", None, False),
        ("", "42", "number", None, False),
    ],
)
def test_grading_finds_the_final_answer_and_compares_it_by_kind(answer_section, reference, kind, extracted, correct):
    assert grade(answer_section, reference, kind) == Grade(extracted, correct)


def test_the_choice_extractor_returns_only_a_letter_or_nothing():
    for text in ("Answer: Because of the Krebs cycle", "Final Answer: the membrane", "blah (E) blah", "B-cells"):
        assert extract_choice(text) is None
    assert extract_choice("A") == "A"


def test_numbers_are_canonical_so_votes_agree():
    assert extract_number("Final Answer: 2.50") == extract_number(r"\boxed{5/2}") == "2.5"
    assert extract_number("Answer: 1/3") == "1/3"


def test_every_math500_reference_solution_grades_correct():
    bench = load_bench("math500")
    solutions = {row_id: solution for row_id, solution in _math500_solutions()}
    wrong = [item.item_id for item in bench.items if not grade(solutions[item.item_id], item.reference, "math").correct]
    assert len(bench.items) == 500 and wrong == []


def test_every_gsm8k_aime_and_amc_reference_grades_correct_when_answered_back():
    for name in ("gsm8k", "aime24", "aime25", "amc23"):
        bench = load_bench(name)
        wrong = [item.item_id for item in bench.items
                 if not grade(f"Final Answer: {item.reference}", item.reference, item.kind).correct]
        assert wrong == [], name


def test_majority_vote_takes_the_most_common_answer_and_its_grade():
    grades = [Grade("18", True), Grade("17", False), Grade(None, False), Grade("17", False)]
    assert majority(grades) == Grade("17", False)
    assert majority([Grade("3", False), Grade("4", True)]) == Grade("3", False)  # a tie: the first seen
    assert majority([Grade(None, False)]) == Grade(None, False)


def _math500_solutions():
    import json

    from s1app.eval.benches import data_path

    for line in data_path("math500.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        yield row["unique_id"], row["solution"]


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
