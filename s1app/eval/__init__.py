"""Evaluation: grading answers against references (more — datasets, methods, plots — comes later)."""
