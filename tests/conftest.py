"""Fixtures shared by the test directories."""

from tests.ssh_fixture import ssh_home, sshd

__all__ = ["ssh_home", "sshd"]
