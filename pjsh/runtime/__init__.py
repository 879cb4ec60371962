"""pjsh.runtime package."""
