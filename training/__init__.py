"""Reproduce s1's training on your own hardware: curate -> sft -> export, then chat in the app.

- ``training.curate``: the paper's selection of N questions from a pool (quality, difficulty,
  diversity) with 8-gram decontamination against the eval sets; seeded and reproducible.
- ``training.data``: s1K rows -> token ids and labels in the s1 format, built by the app's own
  prompt code so training and inference cannot drift.
- ``training.sft``: the fine-tune, one plain-PyTorch FSDP2 recipe, launched with torchrun.
- ``training.export``: a checkpoint -> a GGUF registered as an s1-format model in the app.

Configs live in ``training/configs/*.yaml``; docs/training.md has the commands and measured runs.
"""
