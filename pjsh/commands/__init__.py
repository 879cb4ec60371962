"""The built-in cmdlets, one module per family, and the registry a runspace starts from."""

from __future__ import annotations

from pjsh.runtime.cmdlet import Registry

# Every module of built-in cmdlets, in registration order, with what it provides: "Name alias
# ...". The registry is built from this table alone (adding a command module means adding it
# here) and imports a module only when one of its commands is first used, so a script pays
# start-up only for the command families it runs (PowerShell's module manifests list their
# cmdlets for the same reason). tests/unit/test_runspace_factory.py checks the table against
# the modules themselves.
BUILTIN_MANIFEST: dict[str, tuple[str, ...]] = {
    "pjsh.commands.location": ("Get-Location gl pwd", "Set-Location cd sl chdir",
        "Push-Location pushd", "Pop-Location popd"),
    "pjsh.commands.items": ("Get-ChildItem gci dir", "Get-Item gi", "Get-Content gc type",
        "Set-Content", "Add-Content", "Out-File", "Test-Path", "New-Item ni",
        "Remove-Item ri del erase rd"),
    "pjsh.commands.process": ("Get-Process gps", "Stop-Process spps"),
    "pjsh.commands.json": ("ConvertTo-Json", "ConvertFrom-Json"),
    "pjsh.commands.utility": ("Start-Sleep", "Clear-Host cls", "Get-History h history ghy",
        "Get-Date", "Select-String sls", "Measure-Command"),
    "pjsh.commands.objects": ("Where-Object where ?", "ForEach-Object foreach %",
        "Select-Object select", "Sort-Object", "Measure-Object measure", "Group-Object group",
        "Get-Member gm"),
    "pjsh.commands.output": ("Write-Output echo", "Write-Error", "Write-Host", "Write-Warning",
        "Write-Verbose", "Write-Debug", "Write-Information", "Write-Progress", "Out-Null",
        "Out-Host", "Out-String", "Format-Table ft", "Format-List fl", "Tee-Object"),
    "pjsh.commands.commandinfo": ("Get-Command gcm",),
    "pjsh.commands.variables": ("Get-Variable gv", "Set-Variable set sv", "New-Variable nv",
        "Remove-Variable rv", "Clear-Variable clv", "Get-Alias gal", "Set-Alias sal",
        "New-Alias nal"),
    "pjsh.commands.jobs": ("Start-Job sajb", "Start-ThreadJob", "Get-Job gjb jobs",
        "Receive-Job rcjb", "Wait-Job wjb", "Stop-Job spjb", "Remove-Job rjb", "Suspend-Job sujb",
        "Resume-Job rujb bg", "Enter-Job fg"),
    "pjsh.commands.help": ("Get-Help help",),
    "pjsh.commands.hostui": ("Read-Host", "ConvertTo-SecureString", "ConvertFrom-SecureString"),
}
BUILTIN_MODULES: tuple[str, ...] = tuple(BUILTIN_MANIFEST)
# The modules above that add default views (a ``format_views`` function): only these are
# imported when an object first needs a view (tests/unit/test_runspace_factory.py checks).
VIEW_MODULES: tuple[str, ...] = ("pjsh.commands.objects", "pjsh.commands.variables")

_builtins: Registry | None = None


def builtin_registry() -> Registry:
    """A fresh copy of the built-in command table (each module is imported once, on first
    use of one of its commands)."""
    global _builtins
    if _builtins is None:
        _builtins = Registry.from_manifest(BUILTIN_MANIFEST, VIEW_MODULES)
    return _builtins.copy()
