"""What the session log may keep of a private item's run (GPQA).

The item's label instead of the question, the token counts, the engine's own interventions
("Wait", the delimiter, "Final Answer:") and the stats: no question and no model text (it may
quote the question). Grading reads the real Run; the store's recorder writes the run with
``private_label`` and keeps none of the model's text (s1app.store.recorder).
"""

from __future__ import annotations

from s1app.eval.benches import Item


def private_label(item: Item) -> str:
    return f"{item.item_id} (private benchmark: text not logged)"
