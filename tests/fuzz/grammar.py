"""A grammar of pjsh scripts for the fuzzer: statements, expressions, pipelines, redirections,
control flow, functions and jobs of every kind, and cmdlet calls built from the built-in
parameter tables (``builtin_registry()``: each cmdlet's names, types, parameter sets and
aliases), with values of the right type and of wrong ones.

Generation is a pure function of the seed (``generate(seed)``), so a finding is reproduced from
its seed alone. What the generator never writes, and why, is listed in ``EXCLUDED_CMDLETS`` and
``EXCLUDED_PARAMS``: everything else in the registry is reachable.

Scripts stay inside their sandbox by construction: every path the grammar writes is relative and
without ``..``, loops are bounded, functions call only functions defined before them (no
recursion), and sleeps are short. The only long-running pieces are the "tail" jobs
(``tail=True``), which the runner puts last in a pjsh process, to check that leaving pjsh ends
them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pjsh.commands import builtin_registry
from pjsh.runtime.cmdlet import CommandSpec, Param

# Cmdlets the fuzzer never calls.
EXCLUDED_CMDLETS: dict[str, str] = {
    "Stop-Process": "takes any process id or name: a generated one could end a process of "
                    "another user of the machine",
    "Read-Host": "reads the next line of the script's own input in a stdin batch (as pwsh "
                 "does), which swallows the rest of the batch",
}

# Parameters the fuzzer never passes: each one waits for something that never comes (by design).
EXCLUDED_PARAMS: dict[tuple[str, str], str] = {
    ("Get-Content", "Wait"): "follows the file forever, as tail -f does",
    ("Get-Help", "Online"): "opens a web browser",
    ("Get-Help", "ShowWindow"): "opens a window",
    ("Out-Host", "Paging"): "waits for a key press",
}

# Harmless programs the sandbox's PATH holds (symlinks in a temporary bin directory).
NATIVES = ("true", "false", "echo", "printf", "cat", "head", "wc", "seq", "sleep")

# Files and directories every sandbox starts with (made by the runner; see ``SANDBOX_FILES``).
SANDBOX_FILES: dict[str, str] = {
    "a.txt": "alpha\nbeta\ngamma\n",
    "b.txt": "1\n2\n3\n10\n",
    "sub/c.txt": "in sub\n",
    "sub/deeper/d.log": "deep\n",
    "data.json": '{"a": 1, "b": [1, 2, {"c": "x"}], "d": null}\n',
    "job.ps1": "'from job.ps1'; $args; 1 + 1\n",
}
FILES = ("a.txt", "b.txt", "sub/c.txt", "data.json", "job.ps1", "out1.txt", "out2.txt",
         "sub/out3.txt", "missing.txt", "*.txt", "sub/*", "nodir/x.txt", "new.txt", "sub")
DIRS = (".", "sub", "sub/deeper", "~", "missingdir", "sub/../sub", "newdir")
REDIRECT_TARGETS = ("out1.txt", "out2.txt", "sub/out3.txt", "$null", "nodir/x.txt", "sub",
                    "'sp ace.txt'")
VARIABLES = ("fx", "fy", "fz", "fa", "fb")
SPECIAL_VARIABLE_NAMES = ("ErrorActionPreference", "PWD", "null", "true", "Error", "HOME",
                          "fx*", "f?", "LASTEXITCODE", "args", "nonexistent")
ALIAS_NAMES = ("fzal1", "fzal2", "cat", "gdt")
COMMAND_NAMES = ("Get-Date", "Write-Output", "echo", "true", "seq", "Get-Location",
                 "nosuchcommand", "Get-*", "*-Job")
TYPES = ("int", "string", "double", "bool", "char", "long", "datetime", "array", "hashtable",
         "pscustomobject", "regex", "System.IO.FileInfo", "nosuchtype")
CATCH_TYPES = ("System.DivideByZeroException", "System.Management.Automation.RuntimeException",
               "System.Exception", "System.IO.IOException",
               "System.Management.Automation.ItemNotFoundException")
STRINGS = ("a", "hello world", "", " ", "x*", "a,b,c", "[a-c]", "1", "-1", "0x10", "1e3",
           "tab`there", "$fx", "é ü ✓", "line1`nline2", "%s", "a'b", "Alpha", "true")
ACTIONS = ("SilentlyContinue", "Stop", "Continue", "Ignore", "Inquire", "Suspend", "Break",
           "Bogus")


@dataclass
class Script:
    """One generated script: its text and what the runner must know about it."""

    seed: str
    text: str
    tail: bool = False  # ends with long-running jobs: must be the last script of a process
    solo: bool = False  # may `exit`: runs in a pjsh process of its own


@dataclass
class _Scope:
    """What the statement being generated may refer to."""

    loop_depth: int = 0
    in_function: bool = False
    in_job: bool = False
    depth: int = 0
    functions: list[str] = field(default_factory=list)


def _cmdlets() -> list[CommandSpec]:
    specs = {cls.spec.name: cls.spec for cls in builtin_registry().commands.values()}
    return [specs[name] for name in sorted(specs) if name not in EXCLUDED_CMDLETS]


CMDLETS: list[CommandSpec] = _cmdlets()


class Generator:
    """Generates one script from a ``random.Random``; every choice goes through ``self.r``."""

    def __init__(self, seed: str) -> None:
        self.r = random.Random(seed)
        self.seed = seed
        self.tag = "".join(c for c in seed if c.isalnum())
        self.counter = 0
        self.jobs: list[str] = []

    # ---------------------------------------------------------------- helpers

    def pick(self, seq: tuple[str, ...] | list[str]) -> str:
        """One element of a sequence."""
        return seq[self.r.randrange(len(seq))]

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.r.random() < p

    def fresh(self, stem: str) -> str:
        """A new unique name."""
        self.counter += 1
        return f"{stem}{self.counter}"

    # ---------------------------------------------------------------- values

    def small_int(self) -> str:
        """A small integer literal."""
        return str(self.r.choice((0, 1, 2, 3, 5, 7, 10, -1, -3, 42)))

    def int_value(self) -> str:
        """A value for an Int32 parameter, sometimes out of range or not a number."""
        return self.pick(("0", "1", "2", "3", "5", "-1", "100", "2147483647", "2147483648",
                          "'7'", "0x10", "1.5", "'12abc'", "-2147483649", "1kb", "$true"))

    def string_literal(self) -> str:
        """A single- or double-quoted string."""
        s = self.pick(STRINGS)
        if self.chance(0.5) and "`" not in s and "$" not in s:
            return "'" + s.replace("'", "''") + "'"
        return '"' + s.replace('"', '`"') + '"'

    def variable(self) -> str:
        """A variable reference."""
        if self.chance(0.85):
            return "$" + self.pick(VARIABLES)
        return self.pick(("$_", "$args", "$PWD", "$HOME", "$Error", "$LASTEXITCODE", "$?",
                          "$env:HOME", "$Matches", "$null", "$input", "$PID", "$true",
                          "$false", "${f x}", "$global:fx", "$script:fy", "$env:NOPE"))

    def string_expansion(self, scope: _Scope) -> str:
        """An expandable string with variables and sub-expressions."""
        parts = ["x"]
        for _ in range(self.r.randint(1, 3)):
            parts.append(self.pick(("$fx", "${fy}", "$($fz)", "`t", " ", "$env:HOME",
                                    "$(1 + 2)", "@", "$", "`$")))
        if scope.depth < 2 and self.chance(0.3):
            parts.append("$(" + self.expr(self._deeper(scope)) + ")")
        return '"' + "".join(parts) + '"'

    def here_string(self) -> str:
        """A here-string."""
        if self.chance(0.5):
            return "@'\nraw $fx `n\n  two\n'@"
        return "@\"\nline $fx $(2 * 3)\n  two\n\"@"

    def literal(self, scope: _Scope) -> str:
        """A literal value: number, string, range, array, hashtable or variable."""
        k = self.r.randrange(12)
        if k < 3:
            return self.small_int()
        if k < 5:
            return self.string_literal()
        if k == 5:
            return self.pick(("$true", "$false", "$null", "1.5", "-0.5", "1e3", "0x1F", "10kb",
                              "[int]::MaxValue", "'9' * 3", "[char]65", "0.1 + 0.2"))
        if k == 6:
            lo, hi = self.r.randint(-3, 5), self.r.randint(-3, 8)
            return f"({lo}..{hi})"
        if k == 7:
            return "@(" + ", ".join(self.expr(self._deeper(scope))
                                    for _ in range(self.r.randint(0, 3))) + ")"
        if k == 8:
            pairs = "; ".join(f"{self.pick(('a', 'b', 'Name', 'Size', 'x y'))!r} = "
                              f"{self.expr(self._deeper(scope))}"
                              for _ in range(self.r.randint(0, 3)))
            prefix = "[pscustomobject]" if self.chance(0.4) else ""
            return prefix + "@{" + pairs + "}"
        if k == 9:
            return self.string_expansion(scope)
        if k == 10:
            return self.here_string() if self.chance(0.2) else self.variable()
        return self.variable()

    def expr(self, scope: _Scope) -> str:
        """An expression (operators, member access, casts, sub-expressions)."""
        if scope.depth >= 3:
            return self.literal(scope) if self.chance(0.6) else self.variable()
        inner = self._deeper(scope)
        k = self.r.randrange(14)
        if k < 4:
            return self.literal(scope)
        if k < 7:
            op = self.pick(("+", "-", "*", "/", "%", "-eq", "-ne", "-gt", "-lt", "-ge", "-le",
                            "-like", "-notlike", "-match", "-notmatch", "-cmatch", "-ieq",
                            "-contains", "-notcontains", "-in", "-notin", "-replace", "-split",
                            "-join", "-f", "-and", "-or", "-xor", "-band", "-bor", "-bxor",
                            "-shl", "-shr", "-is", "-isnot", "-as", ".."))
            left = self.expr(inner)
            if op in ("-is", "-isnot", "-as"):
                right = f"[{self.pick(TYPES)}]"
            elif op == "*":
                # Keep repetition small: a string or array times a big number fills memory.
                right = self.small_int()
            elif op == "..":
                left, right = self.small_int(), self.small_int()
            elif op in ("-replace", "-split") and self.chance(0.4):
                right = f"{self.string_literal()}, {self.string_literal()}"
            else:
                right = self.expr(inner)
            return f"({left} {op} {right})"
        if k == 7:
            op = self.pick(("-not ", "!", "-bnot ", "-", "-split ", "-join ", "+", "[int]",
                            "[string]", "[double]", "[bool]", "[array]", "[long]", "[char]",
                            "[datetime]", "[hashtable]", "[regex]", f"[{self.pick(TYPES)}]"))
            return f"{op}{self.expr(inner)}"
        if k == 8:
            member = self.pick(("Count", "Length", "ToUpper()", "ToString()", "Trim()",
                                "Split(',')", "Replace('a', 'b')", "Substring(1)", "Keys",
                                "GetType().Name", "a", "Name", "Contains('a')", "IndexOf('b')",
                                "PadLeft(3)", "Nope", "Values", "ToLower()", "Invoke()"))
            return f"({self.expr(inner)}).{member}"
        if k == 9:
            index = self.pick(("0", "-1", "1..2", "'a'", "5", "$null", "0, 1"))
            return f"({self.expr(inner)})[{index}]"
        if k == 10:
            call = self.pick(("[math]::Round({0})", "[math]::Abs({0})", "[math]::Max({0}, 1)",
                              "[math]::Pow(2, 3)", "[math]::Floor({0})", "[string]::Join(',', {0})",
                              "[string]::IsNullOrEmpty({0})", "[int]::Parse('5')",
                              "[datetime]::Now.Year", "[System.IO.Path]::GetFileName('a/b.txt')"))
            return call.format(self.expr(inner))
        if k == 11:
            return "$(" + self.statement_list(inner, self.r.randint(1, 2), sep="; ") + ")"
        if k == 12:
            return "@(" + self.pipeline(inner) + ")"
        return "(" + self.pipeline(inner) + ")"

    def script_block(self, scope: _Scope, params: bool = False) -> str:
        """A script block literal, sometimes with a param block."""
        inner = self._deeper(scope)
        body = self.statement_list(inner, self.r.randint(0, 2), sep="; ")
        if params and self.chance(0.4):
            body = "param($p, $q = 2) " + body
        return "{ " + body + " }"

    # ---------------------------------------------------------------- parameter values

    def value_for(self, spec: CommandSpec, param: Param, scope: _Scope) -> str:
        """A value for a parameter: usually of its type, sometimes of a wrong one."""
        if self.chance(0.12):
            return self.wrong_value(scope)
        key = (spec.name, param.name)
        if key == ("Start-Sleep", "Seconds"):
            return self.pick(("0", "0.01", "0.02", "'0.01'", "-1", "1e20", "abc"))
        if key == ("Start-Sleep", "Milliseconds"):
            return self.pick(("0", "5", "20", "-5", "'x'", "2147483648"))
        if key == ("New-Item", "ItemType"):
            return self.pick(("File", "Directory", "SymbolicLink", "'file'", "Bogus"))
        if key == ("Wait-Job", "Timeout"):
            return self.pick(("0", "1", "-1", "'x'"))
        t = param.type
        name = t.name
        if t.choices:
            one = self.pick([*t.choices, "Bogus"])
            return repr(one) if self.chance(0.5) else one
        comp = param.completer
        if comp in ("path", "directory"):
            return self.list_of(lambda: self.path_value(comp == "directory"), t.is_array)
        if comp == "variable":
            return self.list_of(lambda: self.pick(VARIABLES + SPECIAL_VARIABLE_NAMES), t.is_array)
        if comp == "command" or key in (("New-Alias", "Name"), ("Set-Alias", "Name")):
            pool = ALIAS_NAMES if param.name == "Name" and "Alias" in spec.name else COMMAND_NAMES
            return self.list_of(lambda: self.pick(pool), t.is_array)
        if comp == "job" or name.endswith("Job[]"):
            return self.job_ref(param)
        if "ScriptBlock" in name:
            return self.script_block(scope, params=True)
        if "Int32" in name:
            return self.list_of(self.int_value, t.is_array)
        if "Double" in name:
            return self.pick(("0", "0.5", "1.5", "'2'", "-1", "1e3"))
        if "DateTime" in name:
            return self.pick(("'2024-01-02'", "(Get-Date)", "'1/2/2003 4:05'", "'notadate'",
                              "0", "'2024-02-30'"))
        if "Boolean" in name:
            return self.pick(("$true", "$false", "1", "0", "'x'"))
        if "String" in name:
            return self.list_of(self.string_literal, t.is_array)
        return self.list_of(lambda: self.argument(scope), t.is_array)

    def argument(self, scope: _Scope) -> str:
        """An expression as a command argument: in parentheses unless it is a simple value."""
        text = self.expr(self._deeper(scope))
        simple = text.startswith(("$", "'", '"', "(", "@(")) and " " not in text
        return text if simple or text.lstrip("-").isdigit() else f"({text})"

    def list_of(self, one: Callable[[], str], array: bool) -> str:
        """One value, or (for an array parameter) sometimes several."""
        if array and self.chance(0.3):
            return ", ".join(one() for _ in range(self.r.randint(2, 3)))
        return one()

    def path_value(self, directory: bool) -> str:
        """A relative path inside the sandbox."""
        value = self.pick(DIRS if directory or self.chance(0.1) else FILES)
        return "'" + value + "'" if self.chance(0.5) or " " in value else value

    def job_ref(self, param: Param) -> str:
        """A job, an id, a name or something that is not a job."""
        if param.name in ("Id",):
            return self.pick(("1", "2", "$j1.Id", "999", "'x'"))
        if param.name in ("Name",):
            return self.pick(("fzjob", "'Job*'", "nosuch", "$j1.Name"))
        if param.name == "InstanceId":
            return self.pick(("$j1.InstanceId", "'00000000-0000-0000-0000-000000000000'"))
        if self.jobs and self.chance(0.7):
            return "$" + self.pick(self.jobs)
        return self.pick(("(Get-Job)", "$j1", "$null", "(Get-Job -Newest 1)", "5"))

    def wrong_value(self, scope: _Scope) -> str:
        """A value of a type no parameter expects."""
        return self.pick(("@{a = 1}", "{ 1 }", "$null", "@()", "'abc'", "(Get-Date)", "1, 2",
                          "-1", "''", "$true", "(1..3)", "[pscustomobject]@{Name = 'n'}",
                          "'a`0b'" if self.chance(0.05) else "'nul-free'", "99999999999"))

    # ---------------------------------------------------------------- commands

    def cmdlet_call(self, scope: _Scope, spec: CommandSpec | None = None) -> str:
        """A cmdlet call built from the cmdlet's parameter table."""
        spec = spec or self.r.choice(CMDLETS)
        sets = spec.set_names()
        chosen = self.pick(sets)
        usable = [p for p in spec.params
                  if (spec.name, p.name) not in EXCLUDED_PARAMS
                  and (not p.sets or chosen in p.sets)]
        name = spec.name
        # `foreach` first in a statement is the keyword, not ForEach-Object's alias.
        aliases = tuple(a for a in spec.aliases if a != "foreach")
        if aliases and self.chance(0.2):
            name = self.pick(aliases)
        elif self.chance(0.1):
            name = name.lower()
        words = [name]
        seen: set[str] = set()
        positional: list[Param] = sorted((p for p in usable if p.position is not None),
                                         key=lambda p: p.position or 0)
        use_positional = positional and self.chance(0.3)
        for p in usable:
            if p.name in seen or (p.pipeline and not p.mandatory and self.chance(0.7)):
                continue
            if not (p.mandatory and self.chance(0.9)) and not self.chance(0.25):
                continue
            seen.add(p.name)
            if p.type.is_switch:
                words.append(self.param_name(p) + self.pick(("", "", ":$false", ":$true")))
            elif use_positional and p is positional[0]:
                words.append(self.value_for(spec, p, scope))
            else:
                words.append(self.param_name(p) + " " + self.value_for(spec, p, scope))
        if self.chance(0.15):
            words.append(self.common_parameter(spec))
        if self.chance(0.02):
            words.append(self.pick(("-Bogus", "-Bogus 1", "extra", "-")))
        return " ".join(words)

    def param_name(self, p: Param) -> str:
        """A parameter spelled by name, alias, prefix or lower case."""
        k = self.r.randrange(10)
        if k == 0 and p.aliases:
            return "-" + self.pick(p.aliases)
        if k == 1 and len(p.name) > 3:
            return "-" + p.name[: self.r.randint(2, len(p.name) - 1)]  # a prefix (maybe ambiguous)
        if k == 2:
            return "-" + p.name.lower()
        return "-" + p.name

    def common_parameter(self, spec: CommandSpec) -> str:
        """One of the common parameters."""
        k = self.r.randrange(8)
        if k == 0:
            return "-ErrorAction " + self.pick(ACTIONS)
        if k == 1:
            return "-ErrorVariable " + self.pick(("ev", "+ev"))
        if k == 2:
            return "-OutVariable " + self.pick(("ov", "+ov"))
        if k == 3:
            return "-WarningAction " + self.pick(ACTIONS)
        if k == 4:
            return self.pick(("-Verbose", "-Debug", "-Verbose:$false"))
        if k == 5:
            return "-WarningVariable wv"
        if k == 6:
            return "-InformationAction " + self.pick(ACTIONS)
        return "-AsJob" if spec.supports_as_job else "-Verbose"

    def native_call(self, scope: _Scope) -> str:
        """A call of a harmless native with small arguments."""
        name = self.pick(NATIVES)
        args: list[str] = []
        if name == "seq":
            args = [self.pick(("1", "3", "5")), *([self.pick(("3", "8", "20"))]
                                                 if self.chance(0.6) else [])]
        elif name == "sleep":
            args = [self.pick(("0", "0.01", "0.05", "x"))]
        elif name == "head":
            args = [self.pick(("-n", "-c")), self.pick(("1", "2", "5"))]
            if self.chance(0.4):
                args.append(self.pick(FILES))
        elif name == "wc":
            args = [self.pick(("-l", "-c", "-w"))]
            if self.chance(0.4):
                args.append(self.pick(FILES))
        elif name == "cat":
            if self.chance(0.6):
                args = [self.pick(FILES)]
        elif name == "printf":
            args = [self.pick(("'%s\\n'", "'%d\\n'", "'%s-%s\\n'", "x")),
                    *(self.native_arg(scope) for _ in range(self.r.randint(0, 3)))]
        else:
            args = [self.native_arg(scope) for _ in range(self.r.randint(0, 3))]
        prefix = "& " if self.chance(0.1) else ""
        return prefix + " ".join([name, *args])

    def native_arg(self, scope: _Scope) -> str:
        """An argument for a native."""
        k = self.r.randrange(6)
        if k == 0:
            return self.variable()
        if k == 1:
            return self.argument(scope)
        if k == 2:
            return self.string_literal()
        if k == 3:
            return "--%" if self.chance(0.05) else "-n"
        return self.pick(("a", "b.txt", "x$fx", "@fx", "1", "--", "'-e'", "*"))

    def command(self, scope: _Scope) -> str:
        """A cmdlet, native, function or script block call."""
        k = self.r.randrange(10)
        if k < 5:
            return self.cmdlet_call(scope)
        if k < 8:
            return self.native_call(scope)
        if scope.functions and k == 8:
            return self.pick(scope.functions) + " " + " ".join(
                self.native_arg(scope) for _ in range(self.r.randint(0, 2)))
        return self.pick(("& $sb", ". $sb", "& { 'inline' }", "& 'Write-Output' call",
                          "& $fx", "nosuchcommand", "& ('Get-' + 'Location')"))

    def filter_stage(self, scope: _Scope) -> str:
        """A pipeline stage after the first."""
        inner = self._deeper(scope)
        k = self.r.randrange(9)
        if k == 0:
            return "ForEach-Object " + self.script_block(inner)
        if k == 1:
            return "Where-Object " + self.pick(("{ $_ -gt 2 }", "{ $_ }", "Length -gt 3",
                                                "Name -like 'a*'", "{ $_ -match 'a' }"))
        if k == 2:
            return self.pick(("Sort-Object", "Sort-Object -Descending", "Sort-Object -Unique",
                              "Select-Object -First 2", "Select-Object -Last 1",
                              "Select-Object -Skip 1", "Measure-Object", "Group-Object",
                              "Out-String", "Format-Table", "Format-List", "Out-Null",
                              "ConvertTo-Json -Compress", "Get-Member", "Select-String a"))
        if k == 3:
            return self.native_filter()
        if k == 4 and scope.functions:
            return self.pick(scope.functions)
        if k == 5:
            return "Tee-Object -Variable tv"
        return self.cmdlet_call(inner)

    def native_filter(self) -> str:
        """A native that reads its input."""
        return self.pick(("cat", "head -n 2", "wc -l", "head -c 5", "cat -", "wc -c",
                          "sleep 0", "true", "echo ignored"))

    def source(self, scope: _Scope) -> str:
        """The first stage of a pipeline."""
        k = self.r.randrange(6)
        if k < 2:
            return self.command(scope)
        if k == 2:
            return self.pick(("1..5", "'a', 'b', 'c'", "Get-ChildItem", "Get-Content a.txt",
                              "seq 1 10", "cat b.txt", "Get-Job", "@()", "$null",
                              "Get-ChildItem -Recurse"))
        return self.expr(self._deeper(scope))

    def pipeline(self, scope: _Scope) -> str:
        """A pipeline, sometimes with a redirection."""
        stages = [self.source(scope)]
        for _ in range(self.r.choice((0, 0, 1, 1, 2, 3))):
            stages.append(self.filter_stage(scope))
        text = " | ".join(stages)
        if self.chance(0.15):
            text += " " + self.redirection()
        return text

    def redirection(self) -> str:
        """A redirection of one or all streams."""
        k = self.r.randrange(8)
        target = self.pick(REDIRECT_TARGETS)
        if k == 0:
            return f"> {target}"
        if k == 1:
            return f">> {target}"
        if k == 2:
            return "2>&1"
        if k == 3:
            return f"*> {target}"
        if k == 4:
            return f"2> {target}"
        if k == 5:
            return self.pick(("3>&1", "*>&1", "4>&1", "6>&1", "5>&1"))
        if k == 6:
            return f"{self.pick(('3', '4', '5', '6', '*'))}>> {target}"
        return f"2>&1 > {target}"

    # ---------------------------------------------------------------- statements

    def _deeper(self, scope: _Scope, **changes: object) -> _Scope:
        new = _Scope(scope.loop_depth, scope.in_function, scope.in_job, scope.depth + 1,
                     list(scope.functions))
        for key, value in changes.items():
            setattr(new, key, value)
        return new

    def block(self, scope: _Scope, loop: bool = False) -> str:
        """A statement block."""
        inner = self._deeper(scope, loop_depth=scope.loop_depth + (1 if loop else 0))
        n = self.r.randint(0, 3 if scope.depth < 2 else 1)
        return "{ " + self.statement_list(inner, n, sep="; ") + " }"

    def statement_list(self, scope: _Scope, n: int, sep: str) -> str:
        """Statements joined by sep."""
        return sep.join(self.statement(scope) for _ in range(n))

    def statement(self, scope: _Scope) -> str:
        """A statement: pipeline, assignment, control flow, error handling or job."""
        if scope.depth >= 4:
            return self.pipeline(scope) if self.chance(0.5) else self.expr(scope)
        k = self.r.randrange(30)
        if k < 6:
            return self.pipeline(scope)
        if k < 9:
            return f"${self.pick(VARIABLES)} {self.pick(('=', '=', '+=', '-=', '*='))} " + (
                self.pipeline(scope) if self.chance(0.4) else self.expr(scope))
        if k == 9:
            return self.expr(scope)
        if k == 10:
            text = f"if ({self.expr(scope)}) {self.block(scope)}"
            if self.chance(0.3):
                text += f" elseif ({self.expr(scope)}) {self.block(scope)}"
            if self.chance(0.4):
                text += f" else {self.block(scope)}"
            return text
        if k == 11:
            var = self.fresh("fzv")
            return f"foreach (${var} in {self.expr(scope)}) {self.block(scope, loop=True)}"
        if k == 12:
            var = self.fresh("fzi")
            return (f"for (${var} = 0; ${var} -lt {self.r.randint(0, 4)}; ${var}++) "
                    f"{self.block(scope, loop=True)}")
        if k == 13:
            var = self.fresh("fzw")
            body = self.block(scope, loop=True)[1:]
            if self.chance(0.5):
                return (f"${var} = 0; while (${var} -lt {self.r.randint(0, 4)}) "
                        f"{{ ${var}++; {body}")
            kind = self.pick(("while", "until"))
            cond = f"${var} -lt {self.r.randint(0, 4)}" if kind == "while" else \
                f"${var} -ge {self.r.randint(0, 4)}"
            return f"${var} = 0; do {{ ${var}++; {body} {kind} ({cond})"
        if k == 14:
            labels = ("1", "a", "2", "{ $_ -gt 1 }", "x*", "'[ab]'")
            cases = " ".join(f"{self.pick(labels)} {self.block(scope, loop=True)}"
                             for _ in range(self.r.randint(1, 3)))
            if self.chance(0.5):
                cases += f" default {self.block(scope, loop=True)}"
            opts = self.pick(("", "", "-regex ", "-wildcard ", "-exact ", "-casesensitive "))
            return f"switch {opts}({self.expr(scope)}) {{ {cases} }}"
        if k == 15:
            text = f"try {self.block(scope)}"
            n = self.r.randint(0 if self.chance(0.5) else 1, 2)
            for _ in range(n):
                typed = f"[{self.pick(CATCH_TYPES)}] " if self.chance(0.4) else ""
                text += f" catch {typed}{self.block(scope)}"
            if n == 0 or self.chance(0.4):
                text += f" finally {self.block(scope)}"
            return text
        if k == 16:
            return "throw " + (self.expr(scope) if self.chance(0.7) else "")
        if k == 17 and scope.loop_depth:
            return self.pick(("break", "continue"))
        if k == 18 and scope.in_function:
            return "return " + (self.expr(scope) if self.chance(0.5) else "")
        if k in (19, 20) and not scope.in_job:
            return self.job_statement(scope)
        if k == 21:
            return f"$sb = {self.script_block(scope, params=True)}"
        if k == 22:
            return "$ErrorActionPreference = " + repr(self.pick(ACTIONS[:4]))
        if k == 23:
            return self.pipeline(scope) + " " + self.pick(("&&", "||")) + " " + \
                self.pipeline(scope)
        if k == 24 and scope.depth < 2:
            return self.cmdlet_call(scope, self.r.choice(
                [s for s in CMDLETS if s.name.endswith("-Job")]))
        return self.command(scope) + (" " + self.redirection() if self.chance(0.2) else "")

    def job_body(self, scope: _Scope) -> str:
        """The script block of a job."""
        inner = self._deeper(scope, in_job=True)
        return "{ " + self.statement_list(inner, self.r.randint(1, 2), sep="; ") + " }"

    def job_statement(self, scope: _Scope) -> str:
        """Start a job (of any kind), or wait for, receive, stop or remove one."""
        k = self.r.randrange(10)
        if k < 5 or not self.jobs:
            var = self.pick(("j1", "j2", "j3"))
            if var not in self.jobs:
                self.jobs.append(var)
            kind = self.r.randrange(5)
            inner = self._deeper(scope, in_job=True)
            if kind == 0:
                body = self.native_call(inner) if self.chance(0.6) else self.pipeline(inner)
                start = body + " &"
            elif kind == 1:
                start = "Start-Job " + self.job_body(scope)
                if self.chance(0.3):
                    start += " -ArgumentList " + self.argument(inner)
                if self.chance(0.2):
                    start += " -Name fzjob"
                if self.chance(0.2):
                    start = "1, 2 | " + start.replace("Start-Job {", "Start-Job { $input; ", 1)
            elif kind == 2:
                start = "Start-ThreadJob " + self.job_body(scope)
                if self.chance(0.3):
                    start += " -ArgumentList " + self.argument(inner)
            elif kind == 3:
                start = self.cmdlet_call(inner) + " -AsJob"
            else:
                start = "Start-Job -FilePath job.ps1 -ArgumentList 1, 2"
            return f"${var} = {start}" if self.chance(0.8) else start
        var = "$" + self.pick(self.jobs)
        return self.pick((
            f"Wait-Job {var} | Out-Null", f"Receive-Job {var} -Wait", f"Receive-Job {var}",
            f"{var} | Wait-Job | Receive-Job", f"Remove-Job {var} -Force", f"Stop-Job {var}",
            f"Receive-Job {var} -Wait -AutoRemoveJob", f"{var}.State", f"Receive-Job {var} -Keep",
            "Get-Job | Wait-Job | Receive-Job", "Get-Job | Remove-Job -Force",
            f"Wait-Job {var} -Timeout 1", f"{var}.ChildJobs[0].JobStateInfo.Reason",
            f"Suspend-Job {var}; Resume-Job {var}", f"Wait-Job {var} -Any", f"{var}.Output",
            f"Receive-Job {var} 2>&1 > out1.txt"))

    def function_definition(self, scope: _Scope) -> str:
        """A function or filter (begin/process/end blocks sometimes)."""
        name = f"fz{self.tag}f{len(scope.functions)}"
        inner = _Scope(0, True, scope.in_job, 1, list(scope.functions))
        kind = self.r.randrange(4)
        if kind == 0:
            body = self.statement_list(inner, self.r.randint(1, 3), sep="; ")
            text = f"function {name} {{ {body} }}"
        elif kind == 1:
            params = self.pick(("param($a, $b = 10)", "param([int]$n = 1)",
                                "param([Parameter(Mandatory)]$m)",
                                "param([Parameter(ValueFromPipeline)]$v)",
                                "param([string[]]$s, [switch]$w)"))
            body = self.statement_list(inner, self.r.randint(1, 2), sep="; ")
            text = f"function {name} {{ {params} {body} }}"
        elif kind == 2:
            blocks = []
            for block in ("begin", "process", "end"):
                if self.chance(0.7):
                    blocks.append(f"{block} {{ {self.statement_list(inner, self.r.randint(0, 2), '; ')} }}")
            params = "param([Parameter(ValueFromPipeline)]$v) " if self.chance(0.4) else ""
            text = f"function {name} {{ {params}{' '.join(blocks)} }}"
        else:
            text = f"filter {name} {{ {self.statement_list(inner, self.r.randint(1, 2), '; ')} }}"
        scope.functions.append(name)
        return text

    def top_statement(self, scope: _Scope) -> str:
        """A top-level statement."""
        k = self.r.randrange(10)
        if k == 0:
            return self.function_definition(scope)
        if k == 1 and scope.functions:
            fn = self.pick(scope.functions)
            return self.pick((f"1, 2, 3 | {fn}", f"{fn} 1 2", f"{fn} -a x", f"$fx = {fn}",
                              f"seq 1 3 | {fn} | cat", f"{fn} | Select-Object -First 1",
                              f"'a' | {fn} > out1.txt", f"{fn} &"))
        if k == 2:
            return self.job_statement(scope)
        return self.statement(scope)

    def tail_jobs(self) -> str:
        """Jobs that outlive the script: leaving pjsh must end them."""
        return "; ".join(self.pick((
            "$fzl1 = sleep 30 &", "$fzl2 = Start-Job { sleep 30 }",
            "$fzl3 = Start-ThreadJob { sleep 30 }", "$fzl4 = sleep 30 | cat &",
            "$fzl5 = Start-Job { Start-Sleep 30 }", "$fzl6 = Start-ThreadJob { Start-Sleep 30 }",
            "$fzl7 = Start-Job { 1..3; sleep 30 }", "$fzl8 = Start-Sleep 30 -AsJob",
        )) for _ in range(self.r.randint(1, 3)))


def generate(seed: str, tail: bool = False, solo: bool = False) -> Script:
    """The script for ``seed`` (a top-level statement per line).

    ``tail`` appends long-running jobs; ``solo`` lets the script ``exit``."""
    g = Generator(seed)
    scope = _Scope()
    lines = [g.top_statement(scope) for _ in range(g.r.randint(1, 6))]
    if solo and g.chance(0.5):
        lines.insert(g.r.randrange(len(lines) + 1), g.pick(("exit", "exit 0", "exit 1")))
    if tail:
        lines.append(g.tail_jobs())
    return Script(seed, "\n".join(lines) + "\n", tail=tail, solo=solo)
