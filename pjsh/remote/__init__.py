"""pjsh.remote package."""
