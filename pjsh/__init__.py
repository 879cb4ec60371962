"""pjsh: a job-control shell with PowerShell's job model for the POSIX terminal."""

__version__ = "0.1.0"
