"""training.data: s1K rows become the app's own s1 prompt + a completion the engine parses back,
with the loss only on thinking, answer and end token; the block-size cut is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from s1app.errors import ConfigError, DatasetError
from s1app.formats import FormatTokens, get_format
from s1app.session import Session
from training.data import IGNORE_INDEX, Example, Formatter, build_samples, example_from_row, load_rows
from training_support import smollm2_folder

FIXTURES = Path(__file__).parent / "fixtures" / "training"
S1K_ROW = {
    "question": "What is 6 times 7?", "solution": "42", "cot_type": "math", "source_type": "test", "metadata": "{}",
    "cot": None, "thinking_trajectories": ["Six sevens.", "7+7+7+7+7+7 = 42."], "attempt": "$\\boxed{42}$",
}


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_folder())


def test_labels_are_ignored_exactly_over_the_prompt_and_real_over_thinking_answer_and_end(tokenizer):
    formatter = Formatter(tokenizer)
    example = example_from_row(S1K_ROW, None)
    prompt, completion = formatter.texts(example)
    sample, _ = formatter.sample(example)
    prompt_ids = tokenizer(prompt)["input_ids"]
    assert sample.labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
    assert sample.labels[len(prompt_ids):] == sample.input_ids[len(prompt_ids):]
    assert IGNORE_INDEX not in sample.labels[len(prompt_ids):]
    assert tokenizer.decode(sample.input_ids[len(prompt_ids):]) == completion
    assert completion == "Six sevens.\n7+7+7+7+7+7 = 42.\n<|im_start|>answer\nAnswer: $\\boxed{42}$<|im_end|>"
    assert sample.input_ids[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_the_training_prompt_is_the_prompt_the_app_sends_token_for_token(tokenizer, model):
    s1_model = _as_s1(model)
    question = "What is 6 times 7?"
    prompt, _ = Formatter(tokenizer).texts(Example(question, "t", "a"))
    assert prompt.endswith("<|im_start|>assistant\n<|im_start|>think\n")
    assert tokenizer(prompt)["input_ids"] == Session(s1_model).prompt_ids(question)


def test_the_formatted_text_parses_back_through_the_apps_s1_format(tokenizer, model):
    """The engine, reading the trained completion, would see thinking end exactly at the
    delimiter it writes itself, and the answer end at the format's end-of-answer token."""
    tokens = _as_s1(model).format_tokens
    sample, answer_start = Formatter(tokenizer).sample(example_from_row(S1K_ROW, None))
    prompt_length = sum(label == IGNORE_INDEX for label in sample.labels)
    completion = sample.input_ids[prompt_length:]
    first_stop = next(i for i, token in enumerate(completion) if token in tokens.thinking_stop_ids)
    assert prompt_length + first_stop == answer_start
    delimiter = tuple(completion[first_stop:first_stop + len(tokens.end_of_thinking_ids)])
    assert delimiter == tokens.end_of_thinking_ids
    answer = completion[first_stop + len(delimiter):]
    assert answer[-1] in tokens.answer_stop_ids
    assert not any(token in tokens.answer_stop_ids for token in answer[:-1])


def _as_s1(model):
    from dataclasses import replace

    return replace(model, format_tokens=FormatTokens.resolve(get_format("s1"), model.backend))


def test_s1k_1_1_rows_train_on_the_chosen_teachers_trajectory():
    rows = load_rows(str(FIXTURES / "s1k-1.1-rows.jsonl"))
    deepseek = example_from_row(rows[0], "deepseek")
    gemini = example_from_row(rows[0], "gemini")
    assert deepseek.thinking.startswith("6 x 7") and "**Final Answer**" in deepseek.attempt
    assert gemini.thinking.startswith("Six sevens") and gemini.attempt.startswith("The product")


def test_a_dataset_missing_a_column_is_a_clear_error_naming_the_fix():
    rows = load_rows(str(FIXTURES / "s1k-1.1-rows.jsonl"))
    with pytest.raises(DatasetError, match="trajectory: deepseek or gemini"):
        example_from_row(rows[0], None)
    with pytest.raises(DatasetError, match="remove it from the config"):
        example_from_row(S1K_ROW, "gemini")
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['question'"):
        example_from_row({"prompt": "x"}, None)


def test_local_jsonl_json_and_parquet_read_the_same_rows(tmp_path):
    import pyarrow
    import pyarrow.parquet

    rows = load_rows(str(FIXTURES / "s1k-1.1-rows.jsonl"))
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), tmp_path / "rows.parquet")
    assert load_rows(str(tmp_path / "rows.json")) == rows == load_rows(str(tmp_path / "rows.parquet"))
    with pytest.raises(DatasetError, match="does not exist"):
        load_rows(str(tmp_path / "missing.jsonl"))


def test_the_block_size_cut_is_reported_with_whether_it_removes_the_answer(tokenizer):
    samples, report = build_samples([S1K_ROW], tokenizer, block_size=4096)
    full = len(samples[0].input_ids)
    _, answer_start = Formatter(tokenizer).sample(example_from_row(S1K_ROW, None))
    _, inside_answer = build_samples([S1K_ROW], tokenizer, block_size=full - 2)
    assert (report.cut, inside_answer.cut, inside_answer.cut_answer_truncated) == (0, 1, 1)
    cut_samples, before_answer = build_samples([S1K_ROW], tokenizer, block_size=answer_start)
    assert before_answer.cut_answer_removed == 1 and len(cut_samples[0].input_ids) == answer_start
    assert "1 lose the whole answer" in before_answer.summary()


def test_a_block_smaller_than_a_prompt_is_a_clear_error(tokenizer):
    with pytest.raises(ConfigError, match="prompt alone is .* tokens, the block_size is 16: raise block_size"):
        build_samples([S1K_ROW], tokenizer, block_size=16)


def test_the_vendored_small_cpu_data_is_in_the_s1k_schema_and_disjoint_from_the_held_out_questions():
    traces = load_rows("training/data/small-cpu-traces.jsonl")
    heldout = load_rows("training/data/heldout-gsm8k-test-50.jsonl")
    assert len(traces) > 1000 and len(heldout) == 50
    assert {"question", "solution", "thinking_trajectories", "attempt", "source_type"} <= set(traces[0])
    assert not {row["question"] for row in traces} & {row["question"] for row in heldout}
    assert not any("<<" in row["thinking_trajectories"][0] for row in traces)  # calculator annotations removed
