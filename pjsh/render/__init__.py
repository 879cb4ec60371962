"""pjsh.render package."""
