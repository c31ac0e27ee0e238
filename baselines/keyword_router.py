"""Keyword-matching ticket router: the non-AI fallback for the customer-support-router prompt.

Used in production when the model is unavailable (fallbackBehavior: keyword-matching). It only
understands English keywords, so it misses paraphrases, other languages and adversarial tickets;
the eval suite measures exactly how much worse than the model it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Order doubles as the tie-break priority (security and legal queues first), matching the prompt.
QUEUES: tuple[str, ...] = (
    "account_access",
    "data_privacy",
    "billing_dispute",
    "payment_failure",
    "refund_request",
    "cancellation",
    "subscription_change",
    "shipping_delivery",
    "bug_report",
    "technical_support",
    "feature_request",
    "general_inquiry",
)

FALLBACK_QUEUE = "general_inquiry"

# Weights: 3 = phrase that almost only means this queue, 2 = strong hint, 1 = weak hint.
# Phrases are comma-separated and written without apostrophes (the text is normalised the same way).
_KEYWORDS: dict[str, dict[int, str]] = {
    "account_access": {
        3: (
            "locked out, cant log in, cannot log in, unable to log in, hacked, compromised, "
            "unauthorized access, 2fa, mfa, two factor, reset my password, password reset, "
            "account locked"
        ),
        2: "password, login, log in, sign in, sso, authenticator, verification code",
        1: "username",
    },
    "data_privacy": {
        3: (
            "gdpr, ccpa, personal data, delete my data, erasure, right to be forgotten, "
            "data protection, subject access"
        ),
        2: "personal information, privacy, dpa, subprocessor, sub processor",
        1: "consent",
    },
    "billing_dispute": {
        3: (
            "charged twice, double charged, duplicate charge, overcharged, wrong amount, "
            "unauthorized charge, incorrect invoice, billing error"
        ),
        2: "dont recognize",
        1: "invoice, charge, charged, billed, billing, vat",
    },
    "payment_failure": {
        3: "card declined, declined, payment failed, payment failure",
        2: (
            "update my card, update payment, payment method, expired card, unpaid, overdue, "
            "past due"
        ),
        1: "suspended, credit card, payment",
    },
    "refund_request": {
        3: "refund, money back",
        2: "reimburse, reimbursement",
        1: "credit, prorated",
    },
    "cancellation": {
        3: "cancel, cancelled, canceled, cancellation, close my account, close our account",
        2: "terminate, not renew",
        1: "auto renew, unsubscribe",
    },
    "subscription_change": {
        3: "upgrade, downgrade, change my plan, change plan, switch plan, add seats, more seats",
        2: "seat, licenses",
        1: "annual, monthly, plan",
    },
    "shipping_delivery": {
        3: "shipping, tracking",
        2: (
            "shipped, delivery, delivered, package, parcel, courier, hardware, card reader, "
            "printer, ups, fedex, dhl"
        ),
        1: "arrived, order",
    },
    "bug_report": {
        3: "bug, crash, stopped working",
        2: "error, broken, not working, doesnt work, glitch, freezes",
        1: "wrong, issue",
    },
    "technical_support": {
        3: "how do i",
        2: (
            "how can i, how to, set up, setup, configure, integration, api, install, "
            "documentation, webhook"
        ),
        1: "import, export, help",
    },
    "feature_request": {
        3: (
            "feature request, would be great, would be nice, please add, roadmap, any plans, "
            "add support for"
        ),
        2: "would love, suggestion, wish, feature",
    },
    "general_inquiry": {
        2: "partnership, partner, reseller, demo, sales",
        1: "pricing, discount, question",
    },
}


def _compile(phrase: str) -> re.Pattern[str]:
    # Word boundaries avoid "ups" matching "groups"; the suffix group accepts simple inflections
    # ("refunds", "crashes", "charged") so each list needs only the base form.
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"\b{body}(?:s|es|ed|d|ing)?\b")


# Compiled once at import: the fallback must stay cheap when the model is down and traffic spikes.
_PATTERNS: tuple[tuple[str, tuple[tuple[re.Pattern[str], int], ...]], ...] = tuple(
    (
        queue,
        tuple(
            (_compile(phrase), weight)
            for weight, phrases in _KEYWORDS[queue].items()
            for phrase in phrases.split(",")
        ),
    )
    for queue in QUEUES
)


def _normalise(text: str) -> str:
    # Lowercase, drop apostrophes ("can't" -> "cant") and treat hyphens/underscores as spaces.
    text = text.lower().replace("'", "").replace("\u2019", "")
    return re.sub(r"[-_/]+", " ", text)


def route_text(ticket: str, min_weight: int = 1) -> str:
    """Return the queue whose keywords score highest for the ticket text, or general_inquiry."""
    text = _normalise(ticket)
    best_queue, best_score = FALLBACK_QUEUE, 0
    for queue, patterns in _PATTERNS:
        score = sum(weight for pattern, weight in patterns
                    if weight >= min_weight and pattern.search(text))
        # Strictly greater: on a tie the queue earlier in QUEUES (higher priority) keeps the win.
        if score > best_score:
            best_queue, best_score = queue, score
    return best_queue


def route(request: object) -> str:
    """Route a ticket to a queue by keyword matching (the non-AI fallback)."""
    return route_text(_ticket(request))


def route_strict(request: object) -> str:
    """The same router keeping only strong hints (weight >= 2): the README's regression demo."""
    return route_text(_ticket(request), min_weight=2)


def _ticket(request: object) -> str:
    inputs = getattr(request, "inputs", None)
    if not isinstance(inputs, Mapping):
        msg = "request.inputs must be a mapping with a 'ticket' key"
        raise TypeError(msg)
    ticket = inputs["ticket"]
    # A missing or non-string ticket is routed like an empty one rather than crashing the fallback.
    return ticket if isinstance(ticket, str) else ""
