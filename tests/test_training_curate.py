"""training.curate: the paper's selection, seeded and reproducible; each stage's filter trips on
rows made to trip it; the report counts what each stage dropped."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from training.curate import curate, pick_rank, quality_problem, select_diverse
from training.decontaminate import Decontaminator
from training.domains import heuristic_domain, load_classifier
from training.pool import reference_answer_of


def row(question: str, trace: str = "Some careful reasoning.", solution: str = "The answer is $\\boxed{5}$.", **extra) -> dict:
    return {"question": question, "solution": solution, "thinking_trajectories": [trace], "attempt": "5", **extra}


def pool(size: int = 60) -> list[dict]:
    topics = ["a triangle with one angle", "a prime divisor of", "the probability that a coin", "a polynomial equation with roots"]
    return [row(f"Question {index} about {topics[index % 4]} number {index}.", "step " * (5 + index % 13)) for index in range(size)]


def test_the_same_pool_and_seed_give_the_same_rows_and_another_seed_other_rows():
    first, _ = curate(pool(), 20, seed=3)
    again, _ = curate(pool(), 20, seed=3)
    other, _ = curate(pool(), 20, seed=4)
    assert first == again and len(first) == 20
    assert first != other


@pytest.mark.parametrize("bad, reason", [
    (row(""), "missing question"),
    (row("What is x?", trace=""), "missing trace"),
    (row("In the figure [asy] draw((0,0)--(1,1)); [/asy] find x."), "asymptote figure"),
    (row("Using the diagram ![graph](plot.png) find the slope."), "image reference"),
    (row("What is x?", trace="As the picture figure1.jpg shows, x = 2."), "image reference"),
])
def test_the_quality_filter_drops_missing_fields_and_formatting_artifacts(bad, reason):
    assert quality_problem(bad) == reason
    assert quality_problem(row("What is 2 + 3?")) is None
    selected, report = curate([bad, row("What is 2 + 3?")], 5)
    assert report.dropped == {reason: 1} and len(selected) == 1


def test_decontamination_drops_a_question_sharing_an_8_gram_with_an_eval_set_whatever_its_punctuation():
    eval_question = "Find the number of ordered pairs $(a,b)$ of integers such that $a^2 + b^2 = 25$."
    clean = Decontaminator([eval_question])
    copied = row("Find the number of ordered pairs (a, b) of integers such that a^2+b^2=25!")
    shared_tail = row("Consider this. Find the number of ordered pairs $(a,b)$ of integers such that it holds.")
    unrelated = row("How many apples are left if Tom eats three of his seven apples?")
    assert clean.overlap(copied["question"]) and clean.overlap(shared_tail["question"])
    selected, report = curate([copied, shared_tail, unrelated], 5, decontaminator=clean)
    assert selected == [unrelated]
    assert report.dropped == {"decontamination (8-gram overlap with an eval set)": 2}


def test_difficulty_drops_what_a_reference_model_solves_and_keeps_proofs_it_cannot_grade():
    solved = row("What is 2 + 3?", solution="5")
    unsolved = row("What is 17 * 23?", solution="391")
    proof = row("Prove that there are infinitely many primes.", solution="Suppose there were finitely many ...")
    asked: list[tuple[str, str]] = []

    def solver(question: str, reference: str) -> bool:
        asked.append((question, reference))
        return reference == "5"

    selected, report = curate([solved, unsolved, proof], 5, solver=solver)
    assert {r["question"] for r in selected} == {unsolved["question"], proof["question"]}
    assert report.dropped == {"difficulty (a reference model answers it)": 1}
    assert ("Prove that there are infinitely many primes.", "") not in asked


def test_difficulty_with_the_apps_engine_drops_what_the_embedded_model_solves(model):
    """The real solver: the embedded model through Session and the app's grading."""
    from training.difficulty import reference_solver

    solves = reference_solver("smollm2-135m", max_thinking_tokens=64, max_answer_tokens=32)
    assert solves("What is 2 + 2?", "4")
    assert not solves("What is 2 + 2?", "5")


def test_reference_answers_come_from_an_answer_column_or_the_solutions_boxed_answer():
    assert reference_answer_of({"answer": "Tom has 3.\n#### 72"}) == "72"
    assert reference_answer_of({"solution": "So $x = \\boxed{\\frac{1}{2}}$."}) == "\\frac{1}{2}"
    assert reference_answer_of({"gt": "420", "solution": "..."}) == "420"


def test_diversity_draws_domains_uniformly_whatever_their_size():
    domains = ["big"] * 90 + ["small"] * 10
    chosen = select_diverse(domains, [1] * 100, n=20, seed=0)
    counts = Counter(domains[index] for index in chosen)
    assert 6 <= counts["small"] <= 14


def test_within_a_domain_longer_traces_are_picked_with_weight_two_to_the_minus_rank():
    rng = random.Random(0)
    ranks = Counter(pick_rank(rng, 5) for _ in range(20000))
    expected = [2 ** -rank / sum(2 ** -r for r in range(5)) for rank in range(5)]
    assert all(abs(ranks[rank] / 20000 - expected[rank]) < 0.01 for rank in range(5))
    lengths = [10, 500, 30, 20, 40]
    first_picks = Counter(select_diverse(["d"] * 5, lengths, n=1, seed=seed)[0] for seed in range(400))
    assert first_picks.most_common(1)[0][0] == 1  # the longest trace


def test_the_domain_classifier_is_pluggable():
    assert heuristic_domain(row("What is the area of a triangle with sides 3, 4, 5?")) == "geometry"
    assert heuristic_domain(row("What is the probability that two dice sum to 7?")) == "combinatorics and probability"
    assert load_classifier("column:subject")({"subject": "Algebra"}) == "Algebra"
    assert load_classifier("training.domains:heuristic_domain") is heuristic_domain
    selected, report = curate(pool(), 8, classify=lambda r: "one domain")
    assert report.domains_selected == {"one domain": 8}


def test_the_curate_command_writes_the_selection_and_a_report(tmp_path, s1app):
    (tmp_path / "pool.json").write_text(json.dumps(pool(30) + [row("See [asy]draw(unitcircle);[/asy]")]))
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(json.dumps({"problem": pool(30)[0]["question"]}) + "\n")
    out = tmp_path / "selection.jsonl"
    result = s1app("curate", str(tmp_path / "pool.json"), "--n", "10", "--out", str(out), "--eval-file", str(eval_file), "--seed", "1")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    report = json.loads((tmp_path / "selection.report.json").read_text())
    assert len(rows) == report["selected"] == 10 and report["pool"] == 31
    assert report["dropped"]["asymptote figure"] == 1
    assert report["dropped"]["decontamination (8-gram overlap with an eval set)"] >= 1
    assert sum(report["domains_selected"].values()) == 10
