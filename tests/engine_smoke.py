"""A script for tests/test_engine_py38.py: runs PowerShell through the engine alone (no console)
and prints what a user would see, so the same run on two Pythons can be compared.

Usage: ``python engine_smoke.py WORKDIR``. Only the standard library and the engine are
imported: the older interpreter it runs on has none of the console's packages.
"""

from __future__ import annotations

import sys

from pjsh.engine import local_options
from pjsh.runtime.host import MemoryHost
from pjsh.runtime.runspace import create_runspace

SCRIPT = r"""
$n = 6; $name = 'pjsh'
"vars: $name $($n * 7) $(7 / 2) $(2 -shl 3) $('a' + 'b' * 3)"
function Get-Square {
    param([Parameter(ValueFromPipeline)] [int] $Value)
    begin { $seen = 0 }
    process { $seen++; $Value * $Value }
    end { "squared $seen" }
}
1..5 | Get-Square
1..20 | Where-Object { $_ % 3 -eq 0 } | ForEach-Object { $_ * 10 } | Sort-Object -Descending |
    Select-Object -First 3
$m = 1..10 | Measure-Object -Sum -Average -Maximum
"sum=$($m.Sum) avg=$($m.Average) max=$($m.Maximum) count=$($m.Count)"
'{0,-6}|{1,5:N2}|{2:X4}' -f 'left', 3.14159, 255
'Hello World' -replace 'World', 'There'
'a,b,,c' -split ',' | Measure-Object | Select-Object -ExpandProperty Count
'abc' -like 'a*'; 'abc' -match '^(?<first>.)b'; $Matches.first
$h = @{ Name = 'x'; Size = 3 }
$h.Size += 1; $h['Extra'] = $true
$h.Keys | Sort-Object
[pscustomobject]@{ Name = 'alpha'; Value = 1 }, [pscustomobject]@{ Name = 'beta'; Value = 22 } |
    Format-Table
[pscustomobject]@{ Name = 'gamma'; Tags = @('a', 'b') } | Format-List
try { throw 'boom' } catch { "caught: $($_.Exception.Message)" } finally { 'finally ran' }
try { Get-Item ./missing.txt -ErrorAction Stop } catch { "error id: $($_.FullyQualifiedErrorId)" }
/bin/echo native says hi
"exit code $LASTEXITCODE"
'line one', 'line two' > out.txt
'line three' >> out.txt
/bin/echo from native >> out.txt
Get-Content out.txt
(Get-ChildItem -Name | Sort-Object) -join ','
Get-ChildItem out.txt | Select-Object Name, Length
$json = @{ a = 1; b = @(1, 2); c = @{ d = 'e' } } | ConvertTo-Json -Compress -Depth 3
$json.Length
$back = '{"name":"n","list":[1,2,3],"inner":{"ok":true}}' | ConvertFrom-Json
"$($back.name) $($back.list[2]) $($back.inner.ok)"
$back | ConvertTo-Json
$t = Start-ThreadJob { 1..3 | ForEach-Object { "thread $_" } }
Receive-Job $t -Wait
$native = /bin/echo background native &
$native | Wait-Job | Out-Null
Receive-Job $native
$job = Start-Job { param($x) "process job got $x"; 2 + 3 } -ArgumentList 'arg'
$job | Wait-Job | Out-Null
Receive-Job $job
Get-Job
Get-Job | Remove-Job
"jobs left: $(@(Get-Job).Count)"
"""

WORKER_PYTHON = r"""
$w = Start-Job { (Get-Process -Id $PID).Path }
$w | Wait-Job | Out-Null
Receive-Job $w
Remove-Job $w
"""


def main() -> int:
    """Run SCRIPT in ``sys.argv[1]`` and print the host's text, then the errors."""
    host = MemoryHost()
    runspace = create_runspace(local_options(host, cwd=sys.argv[1]))
    try:
        runspace.run(SCRIPT)
        text = "".join(host.text)
        # The interpreter a Start-Job worker runs on (it differs between the two runs, so it
        # is printed apart, last).
        runspace.run(WORKER_PYTHON)
        worker = "".join(host.text)[len(text):].strip()
    finally:
        runspace.session.shutdown()
        runspace.close()
    sys.stdout.write(text)
    for record in host.errors:
        sys.stdout.write(f"ERROR: {record.message}\n")
    sys.stdout.write(f"WORKER PYTHON: {worker}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
