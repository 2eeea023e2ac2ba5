"""Domain classifiers for curation's diversity stage: a cheap keyword heuristic by default, or any
``module:function`` taking a row and returning a domain name, or a column of the pool.

The paper classified its 59K pool into Mathematics Subject Classification domains with an LLM;
the heuristic stands in for that at no cost, and is replaceable without touching curation.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from s1app.errors import ConfigError
from training.pool import question_of

Classifier = Callable[[dict[str, Any]], str]

_DOMAIN_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("geometry", ("triangle", "circle", "angle", "polygon", "square", "rectangle", "area", "perimeter", "radius", "tangent", "hexagon", "parallel")),
    ("number theory", ("prime", "divisor", "divisible", "remainder", "modulo", "mod ", "gcd", "lcm", "digit", "integer solutions")),
    ("combinatorics and probability", ("probability", "how many ways", "arrangements", "choose", "permutation", "combination", "dice", "coin", "expected")),
    ("calculus and analysis", ("derivative", "integral", "limit", "converge", "continuous", "differentiable", "series", "\\int", "\\lim")),
    ("physics", ("velocity", "acceleration", "force", "energy", "momentum", "mass", "electric", "magnetic", "photon", "quantum", "kg")),
    ("chemistry and biology", ("molecule", "reaction", "compound", "acid", "enzyme", "cell", "protein", "mol", "solution of", "organic")),
    ("computer science", ("algorithm", "program", "complexity", "graph", "string", "array", "code", "bit")),
    ("algebra", ("polynomial", "equation", "solve for", "roots", "function", "sequence", "inequality", "x^", "matrix")),
)


def heuristic_domain(row: dict[str, Any]) -> str:
    """The first domain whose keywords the question mentions most; "other" when none."""
    text = question_of(row).lower()
    best, best_hits = "other", 0
    for domain, keywords in _DOMAIN_KEYWORDS:
        hits = sum(len(re.findall(re.escape(keyword), text)) for keyword in keywords)
        if hits > best_hits:
            best, best_hits = domain, hits
    return best


def load_classifier(spec: str | None) -> Classifier:
    """``None``/``heuristic``; ``column:NAME`` (a pool column, e.g. the 59K pool's domain); ``module:function``."""
    if spec in (None, "heuristic"):
        return heuristic_domain
    if spec.startswith("column:"):
        column = spec.removeprefix("column:")
        return lambda row: str(row.get(column) or "other")
    module_name, _, function_name = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError, ValueError) as failure:
        raise ConfigError(
            f"Cannot load the domain classifier {spec!r} ({failure}): use heuristic, column:NAME, or module:function."
        ) from failure
    return function
