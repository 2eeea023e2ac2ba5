"""Reasoning formats: the table, detection on real chat templates, prompt building per format,
template switches, and bad input (unknown names, broken user tables, switches a family lacks)."""

from pathlib import Path

import pytest

from s1app.budget import BudgetConfig
from s1app.errors import ConfigError
from s1app.formats import (
    all_formats,
    check_switches,
    detect_format,
    get_format,
    template_variables,
)
from s1app.registry import load_registry, resolve_model, with_overrides
from s1app.session import Turn, build_prompt_text, thinking_is_closed

TEMPLATES = Path(__file__).parent / "fixtures" / "templates"


def template(name: str) -> str:
    return (TEMPLATES / name).read_text()


def prompt(fmt: str, file: str | None, question: str = "Hi", config: BudgetConfig | None = None, **how) -> str:
    family = get_format(fmt)
    variables = template_variables(family, config or BudgetConfig())
    return build_prompt_text(family, template(file) if file else None, [], question, variables=variables, **how)


@pytest.mark.parametrize(
    "file, model_name, expected",
    [
        ("gpt-oss.jinja", "gpt-oss-20b", "harmony"),
        ("qwen3.jinja", "Qwen3-0.6B", "think-tags"),
        ("qwq-32b.jinja", "QwQ-32B", "think-tags"),
        ("deepseek-r1-distill-qwen.jinja", "DeepSeek-R1-Distill-Qwen-1.5B", "think-tags"),
        ("deepseek-r1-distill-llama.jinja", "DeepSeek-R1-Distill-Llama-8B", "think-tags"),
        ("magistral-small-2509.jinja", "Magistral-Small-2509", "magistral"),
        ("seed-oss.jinja", "Seed-OSS-36B-Instruct", "seed-oss"),
        ("phi-4-reasoning.jinja", "Phi-4-reasoning", "think-tags"),
        ("phi-4-mini-reasoning.jinja", "Phi-4-mini-reasoning", "think-tags"),
        ("qwen2.5-instruct.jinja", "simplescaling_s1.1-32B-Q4_K_M", "s1"),
        ("qwen2.5-instruct.jinja", "s1-32B", "s1"),
        ("qwen2.5-instruct.jinja", "Qwen2.5-7B-Instruct", "prompted"),
        ("llama-3.1-instruct.jinja", "Llama-3.1-8B-Instruct", "prompted"),
        ("smollm2-135m-instruct.jinja", "SmolLM2-135M-Instruct", "prompted"),
    ],
)
def test_format_is_detected_from_real_templates(file, model_name, expected):
    assert detect_format(template(file), set(), model_name) == expected


@pytest.mark.parametrize("token, expected", [("</think>", "think-tags"), ("<|channel|>", "harmony"),
                                             ("[/THINK]", "magistral"), ("</seed:think>", "seed-oss")])
def test_a_family_special_token_in_the_vocabulary_tells_the_family_without_a_template(token, expected):
    assert detect_format(None, {token}) == expected
    assert detect_format(None, set()) == "prompted"


def test_the_table_keeps_the_existing_names_and_knows_the_new_families():
    assert {"s1", "think-tags", "prompted", "harmony", "magistral", "seed-oss"} <= set(all_formats())


def test_unknown_format_name_is_a_clear_error_before_any_model_loads():
    with pytest.raises(ConfigError, match="auto, harmony.*think-tags.*s1.*prompted"):
        get_format("tags")
    with pytest.raises(ConfigError, match="Unknown reasoning format 'tags'"):
        with_overrides(resolve_model(None), format="tags")


def test_s1_prompt_opens_thinking_after_the_assistant_header():
    text = prompt("s1", "qwen2.5-instruct.jinja", "What is 2+3?")
    assert text.startswith("<|im_start|>system\nYou are Qwen")
    assert text.endswith("<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n")


@pytest.mark.parametrize("file", ["deepseek-r1-distill-qwen.jinja", "deepseek-r1-distill-llama.jinja", "qwq-32b.jinja"])
def test_template_that_prefills_think_is_not_opened_twice(file):
    text = prompt("think-tags", file, bos_text="<BOS>")
    assert text.endswith("<think>\n") and text.count("<think>") == 1
    assert not thinking_is_closed(get_format("think-tags"), text)


def test_qwen3_prompt_gets_the_think_tag_after_the_generation_prompt():
    assert prompt("think-tags", "qwen3.jinja").endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n")


def test_qwen3_with_thinking_off_gets_the_templates_empty_think_block_and_no_thinking_section():
    text = prompt("think-tags", "qwen3.jinja", config=BudgetConfig(thinking=False))
    assert text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert thinking_is_closed(get_format("think-tags"), text)


def test_harmony_prompt_opens_the_analysis_channel_with_the_reasoning_effort_in_the_system_message():
    text = prompt("harmony", "gpt-oss.jinja", config=BudgetConfig(reasoning_effort="high"))
    assert "Reasoning: high" in text and "Current date: " in text  # strftime_now is provided
    assert text.endswith("<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>analysis<|message|>")
    assert "Reasoning: medium" in prompt("harmony", "gpt-oss.jinja")  # the template's own default


def test_seed_oss_budget_reaches_the_template():
    text = prompt("seed-oss", "seed-oss.jinja", config=BudgetConfig(max_thinking_tokens=512))
    assert "follow the thinking budget, which is 512" in text
    assert text.endswith("<seed:bos>assistant\n<seed:think>")
    unbudgeted = prompt("seed-oss", "seed-oss.jinja")
    assert "thinking budget" not in unbudgeted


def test_seed_oss_with_a_zero_budget_is_closed_by_its_template():
    text = prompt("seed-oss", "seed-oss.jinja", config=BudgetConfig(max_thinking_tokens=0))
    assert thinking_is_closed(get_format("seed-oss"), text)


def test_magistral_prompt_opens_think_after_the_instruction():
    assert prompt("magistral", "magistral-small-2509.jinja", bos_text="<s>").endswith("[INST]Hi[/INST][THINK]")


def test_prompted_format_asks_an_ordinary_model_to_think_first():
    text = prompt("prompted", "smollm2-135m-instruct.jinja")
    assert "<|im_start|>system\nYou are a careful problem solver" in text
    assert text.endswith("<|im_start|>assistant\n<think>\n")


@pytest.mark.parametrize("file, fmt", [("qwen2.5-instruct.jinja", "s1"), ("qwen3.jinja", "think-tags"),
                                       ("deepseek-r1-distill-qwen.jinja", "think-tags"), ("gpt-oss.jinja", "harmony"),
                                       ("seed-oss.jinja", "seed-oss"), ("magistral-small-2509.jinja", "magistral"),
                                       ("smollm2-135m-instruct.jinja", "prompted")])
def test_earlier_turns_keep_their_answers_and_drop_their_thinking(file, fmt):
    turns = [Turn("What is 1+1?", "secret scratch work", "It is 2.")]
    family = get_format(fmt)
    text = build_prompt_text(family, template(file), turns, "And 2+2?", variables=template_variables(family, BudgetConfig()))
    assert "What is 1+1?" in text and "It is 2." in text and "And 2+2?" in text
    assert "secret scratch work" not in text


def test_model_without_a_template_gets_chatml():
    assert "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n" in prompt("prompted", None)


def test_a_reasoning_effort_the_family_does_not_take_is_a_clear_error():
    with pytest.raises(ConfigError, match="think-tags format takes no reasoning effort"):
        check_switches(get_format("think-tags"), BudgetConfig(reasoning_effort="high"))
    with pytest.raises(ConfigError, match="takes low, medium, high"):
        check_switches(get_format("harmony"), BudgetConfig(reasoning_effort="extreme"))
    check_switches(get_format("harmony"), BudgetConfig(reasoning_effort="low"), template("gpt-oss.jinja"))


def test_thinking_off_needs_a_template_with_the_switch():
    check_switches(get_format("think-tags"), BudgetConfig(thinking=False), template("qwen3.jinja"))
    with pytest.raises(ConfigError, match="no thinking switch"):
        check_switches(get_format("think-tags"), BudgetConfig(thinking=False), template("deepseek-r1-distill-qwen.jinja"))
    with pytest.raises(ConfigError, match="no thinking switch"):
        check_switches(get_format("harmony"), BudgetConfig(thinking=False))


USER_FAMILY = """
[formats.answer-tags]
thinking_open = "<reasoning>"
end_of_thinking = "</reasoning><answer>"
end_markers = ["</reasoning>"]
answer_end_markers = ["</answer>"]
detect_template = ["<reasoning>"]

[models.my-model]
source = "my-model.gguf"
format = "answer-tags"
"""


def test_a_user_adds_a_family_in_their_models_toml(tmp_path, monkeypatch):
    (tmp_path / "models.toml").write_text(USER_FAMILY)
    monkeypatch.setenv("S1APP_USER_MODELS_DIR", str(tmp_path))
    family = get_format("answer-tags")
    assert family.end_markers == ("</reasoning>",) and family.final_answer == "Final Answer:"
    assert detect_format("{{ '<reasoning>' }}", set()) == "answer-tags"
    assert load_registry()["my-model"].format == "answer-tags"
    assert build_prompt_text(family, None, [], "Hi").endswith("<|im_start|>assistant\n<reasoning>")


@pytest.mark.parametrize("table, message", [
    ('thinking_open = "<r>"\nend_markers = ["</r>"]', r"\[formats.broken\] is missing the field 'end_of_thinking'"),
    ('thinking_open = "<r>"\nend_of_thinking = "</r>"\nend_markers = "</r>"', r"field 'end_markers' must be a list of strings"),
    ('thinking_open = "<r>"\nend_of_thinking = "</r>"\nend_markers = ["</r>"]\nopens = "x"', r"unknown field\(s\) \['opens'\]"),
    ('thinking_open = "<r>"\nend_of_thinking = "</r>"\nend_markers = ["</r>"]\ntemplate_switches = ["effort"]', "template_switches"),
])
def test_a_broken_user_entry_names_the_field_and_the_file(tmp_path, monkeypatch, table, message):
    (tmp_path / "models.toml").write_text(f"[formats.broken]\n{table}\n")
    monkeypatch.setenv("S1APP_USER_MODELS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=message) as failure:
        get_format("prompted")
    assert str(tmp_path / "models.toml") in str(failure.value)
