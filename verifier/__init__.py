"""verifier: prove agent capability specs, then guard every action against the proof."""

__version__ = "0.1.0"
