"""pjsh.lang package."""
