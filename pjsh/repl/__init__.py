"""pjsh.repl package."""
