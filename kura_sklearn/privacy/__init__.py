"""Privacy layers: PII scrubbing of texts, counted."""

from ._scrub import PII_PLACEHOLDERS, scrub_pii, track_pii_removed

__all__ = ["PII_PLACEHOLDERS", "scrub_pii", "track_pii_removed"]
