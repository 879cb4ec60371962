"""pjsh.jobs package."""
