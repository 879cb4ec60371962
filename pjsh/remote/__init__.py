"""Remoting over SSH: the transport, the engine bundle and its protocol, remote sessions and
their cmdlets. Importing this package costs nothing: asyncssh and the cmdlets load on use."""

from __future__ import annotations

# The remoting cmdlets' module and what it provides, added to the built-in commands by the
# console and scripted modes (see pjsh.commands.BUILTIN_MANIFEST for the format).
REMOTE_MANIFEST: dict[str, tuple[str, ...]] = {
    "pjsh.remote.commands": (
        "New-Session New-PSSession nsn", "Get-Session Get-PSSession gsn",
        "Remove-Session Remove-PSSession rsn", "Enter-Session Enter-PSSession etsn",
        "Exit-Session Exit-PSSession exsn", "Invoke-Command icm"),
}
