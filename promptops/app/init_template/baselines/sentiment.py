"""A keyword baseline for the sentiment prompt: what the model has to beat, offline."""

from __future__ import annotations

import re
from typing import Any

POSITIVE = {"love", "great", "excellent", "good", "perfect", "happy", "recommend"}
NEGATIVE = {"terrible", "broke", "bad", "awful", "refund", "hate", "dies", "worst"}
_WORD = re.compile(r"[a-z']+")


def classify(request: Any) -> str:
    """Count positive and negative words in the review."""
    words = _WORD.findall(str(request.inputs["review"]).lower())
    score = sum(w in POSITIVE for w in words) - sum(w in NEGATIVE for w in words)
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"
