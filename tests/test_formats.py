"""Reasoning formats: detection from real chat templates, and prompt building per format."""

from pathlib import Path

import pytest

from s1app.errors import ConfigError
from s1app.formats import FORMATS, detect_format, get_format
from s1app.session import Turn, build_prompt_text

TEMPLATES = Path(__file__).parent / "fixtures" / "templates"


def template(name: str) -> str:
    return (TEMPLATES / name).read_text()


@pytest.mark.parametrize(
    "file, specials, model_name, expected",
    [
        ("smollm2-135m-instruct.jinja", set(), "SmolLM2-135M-Instruct", "prompted"),
        ("qwen2.5-instruct.jinja", set(), "Qwen2.5-7B-Instruct", "prompted"),
        ("qwen2.5-instruct.jinja", set(), "simplescaling_s1.1-32B-Q4_K_M", "s1"),
        ("qwen2.5-instruct.jinja", set(), "s1-32B", "s1"),
        ("deepseek-r1-distill-qwen.jinja", {"</think>"}, "DeepSeek-R1-Distill-Qwen-1.5B", "think-tags"),
        ("qwen3.jinja", {"</think>"}, "Qwen3-0.6B", "think-tags"),
    ],
)
def test_format_is_detected_from_real_templates(file, specials, model_name, expected):
    assert detect_format(template(file), specials, model_name) == expected


def test_a_think_token_in_the_vocabulary_means_think_tags_even_without_a_template():
    assert detect_format(None, {"</think>"}) == "think-tags"
    assert detect_format(None, set()) == "prompted"


def test_unknown_format_name_is_a_clear_error():
    with pytest.raises(ConfigError, match="auto, s1, think-tags, prompted"):
        get_format("tags")


def test_s1_prompt_opens_thinking_after_the_assistant_header():
    text = build_prompt_text(FORMATS["s1"], template("qwen2.5-instruct.jinja"), [], "What is 2+3?")
    assert text.startswith("<|im_start|>system\nYou are Qwen")
    assert text.endswith("<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n")


def test_template_that_prefills_think_is_not_opened_twice():
    text = build_prompt_text(FORMATS["think-tags"], template("deepseek-r1-distill-qwen.jinja"), [], "Hi", bos_text="<BOS>")
    assert text.startswith("<BOS>")
    assert text.endswith("<｜User｜>Hi<｜Assistant｜><think>\n")
    assert text.count("<think>") == 1


def test_qwen3_prompt_gets_the_think_tag_after_the_generation_prompt():
    text = build_prompt_text(FORMATS["think-tags"], template("qwen3.jinja"), [], "Hi")
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n")


def test_prompted_format_asks_an_ordinary_model_to_think_first():
    text = build_prompt_text(FORMATS["prompted"], template("smollm2-135m-instruct.jinja"), [], "Hi")
    assert "<|im_start|>system\nYou are a careful problem solver" in text
    assert text.endswith("<|im_start|>assistant\n<think>\n")


@pytest.mark.parametrize("file, fmt", [("qwen2.5-instruct.jinja", "s1"), ("qwen3.jinja", "think-tags"),
                                       ("deepseek-r1-distill-qwen.jinja", "think-tags"),
                                       ("smollm2-135m-instruct.jinja", "prompted")])
def test_earlier_turns_keep_their_answers_and_drop_their_thinking(file, fmt):
    turns = [Turn("What is 1+1?", "secret scratch work", "It is 2.")]
    text = build_prompt_text(FORMATS[fmt], template(file), turns, "And 2+2?")
    assert "What is 1+1?" in text and "It is 2." in text and "And 2+2?" in text
    assert "secret scratch work" not in text


def test_model_without_a_template_gets_chatml():
    text = build_prompt_text(FORMATS["prompted"], None, [], "Hi")
    assert "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n" in text
