"""Events of a private item's run (GPQA) with every piece of question or model text taken out.

What is left is what the session log may keep: the item's label instead of the question, the
token counts, the engine's own interventions ("Wait", the delimiter, "Final Answer:") and the
stats. The model's text may quote the question, so it goes too. Grading reads the real events;
only the copy sent to the log is redacted.
"""

from __future__ import annotations

import dataclasses

from s1app.events import AnswerDelta, Event, LoopDetected, RunStarted, ThinkingDelta


def redacted(event: Event, label: str) -> Event:
    match event:
        case RunStarted():
            return dataclasses.replace(event, question=label)
        case ThinkingDelta(forced=False) | AnswerDelta(forced=False):
            return dataclasses.replace(event, text="")
        case LoopDetected():
            return dataclasses.replace(event, repeated_text="")
    return event
