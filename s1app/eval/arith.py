"""arith: very easy arithmetic, generated from a seed; a demonstration set sized for a 135M model.

On every vendored benchmark the embedded SmolLM2-135M scores near zero at every budget, so its
accuracy-vs-thinking curve is a flat line. One- and two-step arithmetic is within its reach, and
there thinking changes the score. Three levels, taken in turn (item 0 is level 1, item 1 level 2,
item 2 level 3, ...), so the first N items (``--limit N``) mix them evenly:

1. one operation on two numbers ("What is 23 + 41?");
2. a product, or a one-step word problem ("Tom has 23 apples and gives away 5. ...");
3. two steps ("What is 6 times 7 plus 9?", "Mia has 12 pencils, buys 5 and gives away 3. ...").

Every user gets the same items: they come from ``random.Random(SEED)`` (whose integer draws
Python keeps stable), and the benchmark's checksum is that of the generated items, so a resumed
eval refuses if the generator ever changes. Answers are whole numbers, never negative, graded as
numbers.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

SEED = 0
SIZE = 300
NAME = "arith"


@dataclass(frozen=True, slots=True)
class _Template:
    text: str
    """The question, with {a}, {b} and {c} for the numbers drawn."""
    answer: Callable[[int, int, int], int]
    ranges: tuple[tuple[int, int], ...]
    """Inclusive range of each number, in the order a, b, c."""


LEVELS: dict[int, tuple[_Template, ...]] = {
    1: (
        _Template("What is {a} + {b}?", lambda a, b, c: a + b, ((2, 50), (2, 50))),
        _Template("What is {a} - {b}?", lambda a, b, c: a - b, ((10, 60), (1, 9))),
    ),
    2: (
        _Template("What is {a} times {b}?", lambda a, b, c: a * b, ((2, 12), (2, 12))),
        _Template("Tom has {a} apples and gives away {b}. How many apples does Tom have now?",
                  lambda a, b, c: a - b, ((10, 40), (1, 9))),
        _Template("Sam has {a} stickers and gets {b} more. How many stickers does Sam have?",
                  lambda a, b, c: a + b, ((3, 30), (2, 20))),
        _Template("A bag holds {a} marbles. How many marbles are in {b} bags?",
                  lambda a, b, c: a * b, ((2, 12), (2, 9))),
    ),
    3: (
        _Template("What is {a} + {b} + {c}?", lambda a, b, c: a + b + c, ((2, 30), (2, 30), (2, 30))),
        _Template("What is {a} times {b} plus {c}?", lambda a, b, c: a * b + c, ((2, 9), (2, 9), (1, 20))),
        _Template("Mia has {a} pencils. She buys {b} more and gives {c} to a friend. How many pencils does she have now?",
                  lambda a, b, c: a + b - c, ((5, 20), (2, 10), (1, 5))),
        _Template("There are {a} boxes with {b} books in each. {c} books are taken out. How many books are left?",
                  lambda a, b, c: a * b - c, ((2, 6), (3, 9), (1, 5))),
    ),
}


@dataclass(frozen=True, slots=True)
class ArithItem:
    item_id: str
    level: int
    question: str
    answer: int


def generate(count: int = SIZE, seed: int = SEED) -> list[ArithItem]:
    """The first ``count`` items of the set drawn from ``seed`` (the same for every user)."""
    rng = random.Random(seed)
    items = []
    for index in range(count):
        level = index % len(LEVELS) + 1
        template = rng.choice(LEVELS[level])
        numbers = [rng.randint(low, high) for low, high in template.ranges]
        numbers += [0] * (3 - len(numbers))
        items.append(ArithItem(f"arith-{index:04d}", level, template.text.format(a=numbers[0], b=numbers[1],
                                                                                   c=numbers[2]),
                               template.answer(*numbers)))
    return items


def checksum(items: list[ArithItem]) -> str:
    """sha256 of the items as JSON lines: what a resumed eval compares."""
    lines = "".join(json.dumps([item.item_id, item.question, item.answer]) + "\n" for item in items)
    return hashlib.sha256(lines.encode()).hexdigest()
