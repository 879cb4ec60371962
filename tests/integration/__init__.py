"""Integration tests: the real pjsh process on a real pseudo-terminal."""
