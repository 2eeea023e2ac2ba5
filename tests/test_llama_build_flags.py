"""The llama.cpp build flags (scripts/llama_cpp_wheel.py): a portable target per platform, the
user's CMAKE_ARGS on top, and a wheelhouse key that changes with every flag."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "llama_cpp_wheel.py"
spec = importlib.util.spec_from_file_location("llama_cpp_wheel", SCRIPT)
wheel = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wheel)

NATIVE_CPU_FLAGS = ("-DGGML_NATIVE=ON", "-march=native", "AMX")


def test_x86_64_builds_for_avx2_without_native_tuning_amx_or_llamafile():
    args = wheel.portable_cmake_args("Linux", "x86_64", {"avx", "avx2", "fma", "amx_tile", "amx_int8", "avx512f"})
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_AVX2=ON" in args and "-DGGML_LLAMAFILE=OFF" in args
    assert not any(flag in " ".join(args) for flag in NATIVE_CPU_FLAGS)
    assert not any("AVX512" in flag and flag.endswith("=ON") for flag in args)


def test_an_x86_64_cpu_without_avx2_gets_the_sse_baseline():
    args = wheel.portable_cmake_args("Linux", "x86_64", {"sse4_2"})
    assert "-DGGML_AVX2=OFF" in args and "-DGGML_AVX=OFF" in args and "-DGGML_NATIVE=OFF" in args


@pytest.mark.parametrize(("features", "arch"), [({"asimd", "asimddp"}, "armv8.2-a+dotprod"), ({"asimd"}, "armv8-a")])
def test_arm64_linux_builds_for_an_explicit_arm_level(features, arch):
    args = wheel.portable_cmake_args("Linux", "aarch64", features)
    assert f"-DGGML_CPU_ARM_ARCH={arch}" in args and "-DGGML_NATIVE=OFF" in args


def test_apple_silicon_builds_with_metal():
    assert "-DGGML_METAL=ON" in wheel.portable_cmake_args("Darwin", "arm64", set())


def test_a_users_cmake_args_are_appended_so_their_flags_win():
    args, origin = wheel.chosen_cmake_args({"CMAKE_ARGS": "-DGGML_CUDA=on -DGGML_NATIVE=ON"})
    assert args.endswith("-DGGML_CUDA=on -DGGML_NATIVE=ON") and args.startswith("-DGGML_NATIVE=OFF")
    assert "CMAKE_ARGS" in origin
    only_theirs, origin = wheel.chosen_cmake_args({"CMAKE_ARGS": "-DGGML_VULKAN=on", "S1APP_LLAMA_PORTABLE": "0"})
    assert only_theirs == "-DGGML_VULKAN=on" and "only" in origin


def test_other_flags_never_reuse_a_wheel_built_with_these():
    default, _ = wheel.chosen_cmake_args({})
    cuda, _ = wheel.chosen_cmake_args({"CMAKE_ARGS": "-DGGML_CUDA=on"})
    assert wheel.build_key(default) != wheel.build_key(cuda)
    assert wheel.build_key(default) == wheel.build_key(default)


def test_show_reports_the_flags_and_the_installed_build(tmp_path):
    shown = subprocess.run([sys.executable, str(SCRIPT), "show"], capture_output=True, text=True, check=True,
                           env={"PATH": "/usr/bin:/bin", "S1APP_WHEELHOUSE": str(tmp_path)})
    report = json.loads(shown.stdout)
    assert report["wheelhouse"].startswith(str(tmp_path)) and report["key"] == wheel.build_key(report["cmake_args"])
    assert report["installed"].get("cmake_args"), "make installed this venv's llama-cpp-python through the script"
