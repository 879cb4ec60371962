"""The about_* help topics, shipped as package data (``about_*.md``) and read by Get-Help
through importlib.resources only when a topic is asked for."""
