"""The timers' sender is the shared one: gateway/delivery/sender.py (event batches use it
too). Re-exported here for the code and tests that import it from the timers."""

from gateway.delivery.sender import (
    GIVE_UP_AFTER,
    MAX_ANSWER_BYTES,
    MAX_IN_FLIGHT,
    MAX_RETRY_AFTER,
    RETRY_BASE,
    RETRY_CAP,
    Answer,
    AnswerTooLarge,
    HttpPoster,
    Outcome,
    Poster,
    Report,
    SenderStats,
    SignedSender,
    Signer,
    retry_after_seconds,
    retryable,
)

__all__ = [
    "GIVE_UP_AFTER",
    "MAX_ANSWER_BYTES",
    "MAX_IN_FLIGHT",
    "MAX_RETRY_AFTER",
    "RETRY_BASE",
    "RETRY_CAP",
    "Answer",
    "AnswerTooLarge",
    "HttpPoster",
    "Outcome",
    "Poster",
    "Report",
    "SenderStats",
    "SignedSender",
    "Signer",
    "retry_after_seconds",
    "retryable",
]
