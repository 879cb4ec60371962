"""pjsh.commands package."""
