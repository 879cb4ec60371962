"""The remoting cmdlets: New-Session, Get-Session, Remove-Session, Enter-Session,
Exit-Session and Invoke-Command (every ``*-PSSession`` name is an alias).

They live in the remote layer and reach a runspace through its command registry (the console
and scripted modes add :data:`REMOTE_MANIFEST` to the built-in one), so the engine below never
imports them. Invoke-Command's InProcess set runs locally like pwsh's; its other sets run on
hosts through ``pjsh.remote.sessions``.
"""

from __future__ import annotations

import fnmatch
import queue
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pjsh.remote.sessions import Emitter
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command
from pjsh.runtime.convert import (
    INT,
    INTS,
    OBJECT,
    OBJECTS,
    SCRIPTBLOCK,
    STRING,
    STRINGS,
    SWITCH,
    ConversionError,
    TypeSpec,
    as_list,
    to_string,
)

if TYPE_CHECKING:
    from pjsh.remote.sessions import PSSession
    from pjsh.remote.ssh import ConnectOptions
    from pjsh.runtime.scriptblock import ScriptBlock

def _sessions_convert(value: object) -> object:
    from pjsh.remote.sessions import PSSession
    out = []
    for v in as_list(value):
        if not isinstance(v, PSSession):
            raise ConversionError(
                f'Cannot convert the "{to_string(v)}" value of type "{type(v).__name__}" to '
                'type "System.Management.Automation.Runspaces.PSSession".')
        out.append(v)
    return out


def _session_convert(value: object) -> object:
    items = _sessions_convert(value)
    assert isinstance(items, list)
    if len(items) != 1:
        raise ConversionError("Cannot convert the value to type "
                              '"System.Management.Automation.Runspaces.PSSession": it holds '
                              f"{len(items)} sessions.")
    return items[0]


SESSIONS = TypeSpec("System.Management.Automation.Runspaces.PSSession[]", _sessions_convert,
                    is_array=True, python="list[PSSession]")
SESSION = TypeSpec("System.Management.Automation.Runspaces.PSSession", _session_convert,
                   python="PSSession")

_SSH = ("SSHHost",)


def _connect_params(sets: tuple[str, ...]) -> tuple[Param, ...]:
    return (
        Param("UserName", STRING, sets=sets, help="The user to log in as (else ssh_config's "
              "User, else yours)."),
        Param("Port", INT, sets=sets, help="The SSH port (else ssh_config's, else 22)."),
        Param("KeyFilePath", STRING, aliases=("IdentityFilePath",), sets=sets,
              completer="path", help="A private key file to authenticate with."),
        Param("Options", OBJECT, sets=sets,
              help="ssh_config keywords and values (a hashtable); they win over ~/.ssh/config."),
        Param("ConnectingTimeout", INT, sets=sets,
              help="Milliseconds to wait for the connection (default: ssh_config's, or none)."),
        Param("AcceptNewHostKey", SWITCH, sets=sets,
              help="Trust and record the key of a host not yet in known_hosts (OpenSSH's "
                   "accept-new); a changed key is always refused."),
    )


class ConnectArgs(Bound):
    """The SSH connection parameters shared by the remoting cmdlets."""

    UserName: str | None
    Port: int | None
    KeyFilePath: str | None
    Options: object
    ConnectingTimeout: int | None
    AcceptNewHostKey: bool


def _connect_options(cmd: Cmdlet, args: ConnectArgs) -> ConnectOptions:
    """The transport's options from the parameters; secrets are asked only where someone can
    answer (the console), never in -c, scripts or jobs."""
    from pjsh.remote.ssh import ConnectOptions
    from pjsh.runtime.values import Hashtable

    options: dict[str, str] = {}
    raw = args.Options
    if isinstance(raw, (Hashtable, dict)):
        for key, value in raw.items():
            options[to_string(key)] = to_string(value)
    elif raw is not None:
        cmd.ctx.throw("The Options parameter takes a hashtable of ssh_config keywords, such "
                      "as @{ServerAliveInterval=5}.", "InvalidOptions", "InvalidArgument", raw)
    key_file = args.KeyFilePath
    if key_file is not None:
        import os
        key_file = cmd.ctx.session.resolve_path(key_file)
        if not os.path.exists(key_file):
            cmd.ctx.throw(f"The specified key file {key_file} was not found.",
                          f"PathNotFound,{_fq_name(cmd)}", "ObjectNotFound", key_file)
    session = cmd.ctx.session
    reader = session.host.read_secret if session.interactive else None
    return ConnectOptions(key_file=key_file, options=options,
                          accept_new_host_key=bool(args.AcceptNewHostKey),
                          connecting_timeout_ms=args.ConnectingTimeout, read_secret=reader)


def _fq_name(cmd: Cmdlet) -> str:
    return "Microsoft.PowerShell.Commands." + cmd.spec.name.replace("-", "") + "Command"


# ---- New-Session -----------------------------------------------------------------------------


class NewSessionArgs(ConnectArgs):
    """New-Session's parameters."""

    HostName: list[str] | None
    Name: list[str] | None


@command
class NewSession(Cmdlet):
    """New-Session: open persistent remote runspaces over SSH."""

    spec = CommandSpec(
        name="New-Session", aliases=("New-PSSession", "nsn"), default_set="SSHHost",
        summary="Creates persistent connections to remote hosts, each with its own runspace.",
        description="Each host gets a session whose runspace keeps its directory, variables, "
                    "functions and jobs between commands (Invoke-Command -Session, "
                    "Enter-Session -Session). Hosts are [user@]host[:port]; ~/.ssh/config, the "
                    "SSH agent and known_hosts are honoured. The engine is uploaded once per "
                    "version to ~/.cache/pjsh on the host and run with its python3 (3.8+).",
        examples=(("$s = New-Session -HostName web1,web2", "Two sessions."),
                  ("Invoke-Command -Session $s { hostname }", "Run a command in both.")),
        output_type="System.Management.Automation.Runspaces.PSSession",
        supports_as_job=False,
        params=(
            Param("HostName", STRINGS, position=0, mandatory=True, sets=_SSH,
                  aliases=("ComputerName", "Cn"), pipeline=True, completer="host",
                  help="The hosts, as [user@]host[:port]."),
            Param("Name", STRINGS, sets=_SSH, help="Friendly names for the sessions."),
            *_connect_params(_SSH),
        ))
    args_type = NewSessionArgs

    def process(self, args: NewSessionArgs) -> None:
        from pjsh.remote.sessions import (
            RemoteRunspace,
            RemotingError,
            open_remote,
            open_session_object,
        )
        connect = _connect_options(self, args)
        hosts = list(args.HostName or [])
        names = list(args.Name or [])
        results: list[object] = [None] * len(hosts)
        token = self.ctx.cancel

        def one(index: int, host: str) -> None:
            try:
                results[index] = open_remote(host, connect, token, user=args.UserName,
                                             port=args.Port)
            except RemotingError as exc:
                results[index] = exc.record
        threads = [threading.Thread(target=one, args=(i, h), daemon=True)
                   for i, h in enumerate(hosts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        from pjsh.runtime.errors import ErrorRecord
        for index, result in enumerate(results):
            if isinstance(result, RemoteRunspace):
                name = names[index] if index < len(names) else None
                self.ctx.write_output(open_session_object(self.ctx.session, result, name,
                                                          hosts[index]))
            elif isinstance(result, ErrorRecord):
                self.ctx.write_error(result)


# ---- Get-Session / Remove-Session ------------------------------------------------------------------


class GetSessionArgs(Bound):
    """Get-Session's parameters."""

    Name: list[str] | None
    Id: list[int] | None
    InstanceId: list[str] | None
    ComputerName: list[str] | None


def _select(cmd: Cmdlet, args: GetSessionArgs | RemoveSessionArgs) -> list[PSSession]:
    from pjsh.remote.sessions import session_table
    sessions = session_table(cmd.ctx.session).sessions
    found: list[PSSession] = []
    if args.Id is not None:
        for wanted in args.Id:
            hits = [s for s in sessions if s.Id == wanted]
            if not hits:
                cmd.ctx.write_error(cmd.ctx.error(
                    f"The remote session with the session ID {wanted} is not available.",
                    "InvalidArgument", "InvalidArgument", wanted))
            found.extend(hits)
        return found
    if args.InstanceId is not None:
        for wanted_id in args.InstanceId:
            hits = [s for s in sessions if str(s.InstanceId).lower() == str(wanted_id).lower()]
            if not hits:
                cmd.ctx.write_error(cmd.ctx.error(
                    f"Remote session is not available for {wanted_id}.", "InvalidArgument",
                    "InvalidArgument", wanted_id))
            found.extend(hits)
        return found
    if args.ComputerName is not None:
        return [s for s in sessions
                if any(fnmatch.fnmatchcase(s.ComputerName.lower(), p.lower())
                       for p in args.ComputerName)]
    if args.Name is not None:
        for pattern in args.Name:
            hits = [s for s in sessions if fnmatch.fnmatchcase(s.Name.lower(), pattern.lower())]
            if not hits and not any(c in pattern for c in "*?["):
                cmd.ctx.write_error(cmd.ctx.error(
                    f"The remote session with the name {pattern}  is not available.",
                    "InvalidArgument", "InvalidArgument", pattern))
            found.extend(h for h in hits if h not in found)
        return found
    return list(sessions)


@command
class GetSession(Cmdlet):
    """Get-Session: list this shell's remote sessions."""

    spec = CommandSpec(
        name="Get-Session", aliases=("Get-PSSession", "gsn"), default_set="Name",
        summary="Gets the remote sessions of the current runspace.",
        description="Without parameters, every session, with its state (Opened, Broken, "
                    "Closed) and availability (Available, Busy, None).",
        examples=(("Get-Session", "All sessions."),),
        output_type="System.Management.Automation.Runspaces.PSSession",
        supports_as_job=False,
        params=(
            Param("Name", STRINGS, sets=("Name",), help="Session names (wildcards allowed)."),
            Param("Id", INTS, position=0, mandatory=True, sets=("Id",), help="Session ids."),
            Param("InstanceId", STRINGS, mandatory=True, sets=("InstanceId",),
                  help="Session instance ids."),
            Param("ComputerName", STRINGS, mandatory=True, sets=("ComputerName",),
                  aliases=("Cn", "HostName"), help="Sessions to these hosts (wildcards)."),
        ))
    args_type = GetSessionArgs

    def end(self, args: GetSessionArgs) -> None:
        for session in _select(self, args):
            self.ctx.write_output(session)


class RemoveSessionArgs(Bound):
    """Remove-Session's parameters."""

    Session: list[PSSession] | None
    Name: list[str] | None
    Id: list[int] | None
    InstanceId: list[str] | None
    ComputerName: list[str] | None


@command
class RemoveSession(Cmdlet):
    """Remove-Session: close remote sessions (their remote jobs end with them)."""

    spec = CommandSpec(
        name="Remove-Session", aliases=("Remove-PSSession", "rsn"), default_set="Id",
        summary="Closes remote sessions and forgets them.",
        description="The remote runspace ends, with the jobs it kept; the SSH connection stays "
                    "pooled for other sessions.",
        examples=(("Get-Session | Remove-Session", "Close every session."),),
        supports_as_job=False,
        params=(
            Param("Id", INTS, position=0, mandatory=True, sets=("Id",), help="Session ids."),
            Param("Session", SESSIONS, position=0, mandatory=True, sets=("Session",),
                  pipeline=True, help="Session objects."),
            Param("Name", STRINGS, mandatory=True, sets=("Name",), help="Session names."),
            Param("InstanceId", STRINGS, mandatory=True, sets=("InstanceId",),
                  help="Session instance ids."),
            Param("ComputerName", STRINGS, mandatory=True, sets=("ComputerName",),
                  aliases=("Cn", "HostName"), help="Sessions to these hosts."),
        ))
    args_type = RemoveSessionArgs

    def process(self, args: RemoveSessionArgs) -> None:
        from pjsh.remote.sessions import session_table
        targets = list(args.Session) if args.Session is not None else _select(self, args)
        table = session_table(self.ctx.session)
        for session in targets:
            pushed = self.ctx.session.pushed
            if pushed is not None and getattr(pushed, "session", None) is session:
                pushed.leave(quiet=True)
            session.close()
            if session in table.sessions:
                table.sessions.remove(session)


# ---- Enter-Session / Exit-Session --------------------------------------------------------------------


class EnterSessionArgs(ConnectArgs):
    """Enter-Session's parameters."""

    HostName: str | None
    Session: PSSession | None
    Id: int | None
    Name: str | None


@command
class EnterSession(Cmdlet):
    """Enter-Session: send the following lines to a remote runspace."""

    spec = CommandSpec(
        name="Enter-Session", aliases=("Enter-PSSession", "etsn"), default_set="SSHHost",
        summary="Starts an interactive session with a remote host.",
        description="The prompt becomes [host]: PS /remote/dir> and every following line, typed "
                    "or piped to pjsh, runs on the host: natives, cmdlets, files, redirections "
                    "and jobs. exit or Exit-Session returns. A session entered with -HostName is "
                    "temporary: leaving it closes it and stops its jobs (and says how many); one "
                    "entered with -Session stays open. Ctrl+C stops the remote command, not the "
                    "session. Natives run without a terminal there.",
        examples=(("Enter-Session -HostName web1", "Work on web1 until exit."),),
        supports_as_job=False,
        params=(
            Param("HostName", STRING, position=0, mandatory=True, sets=_SSH,
                  aliases=("ComputerName", "Cn"), completer="host",
                  help="The host, as [user@]host[:port]."),
            Param("Session", SESSION, position=0, mandatory=True, sets=("Session",),
                  pipeline=True, help="An open session (it stays open after exit)."),
            Param("Id", INT, position=0, mandatory=True, sets=("Id",), help="A session's id."),
            Param("Name", STRING, mandatory=True, sets=("Name",), help="A session's name."),
            *_connect_params(_SSH),
        ))
    args_type = EnterSessionArgs

    def end(self, args: EnterSessionArgs) -> None:
        from pjsh.remote.sessions import (
            EnteredSession,
            RemotingError,
            open_remote,
            open_session_object,
        )
        local = self.ctx.session
        options = local.options
        if options is None or not options.reads_lines:
            self.ctx.throw("The host does not support Enter-PSSession and Exit-PSSession.",
                           "HostDoesNotSupportPushRunspace", "InvalidOperation")
        if local.pushed is not None:
            self.ctx.throw("You are already in a remote session; exit it first.",
                           "RemoteHostAlreadyEntered", "InvalidOperation")
        temporary = args.parameter_set == "SSHHost"
        if temporary:
            assert args.HostName is not None
            connect = _connect_options(self, args)
            try:
                remote = open_remote(args.HostName, connect, self.ctx.cancel,
                                     user=args.UserName, port=args.Port)
            except RemotingError as exc:
                if exc.reason == "nopython":
                    from pjsh.remote.sessions import NativeOnlySession
                    local.pushed = NativeOnlySession(local, args.HostName, connect,
                                                     args.UserName, args.Port, exc.detail)
                    return
                self.ctx.throw(exc.record.message, f"PSSessionOpenFailed,{_fq_name(self)}",
                               "OpenError", args.HostName,
                               "System.Management.Automation.Remoting."
                               "PSRemotingTransportException")
                return
            session = open_session_object(local, remote, None, args.HostName, listed=False)
        else:
            session = self._find(args)
            if session.State != "Opened":
                self.ctx.throw(
                    f"Cannot enter session {session.Name} because it is not in the "
                    "disconnected state or is not available for connection.",
                    "EnterPSSessionBrokenSession", "InvalidOperation", session)
        label = session.ComputerName
        spec_user = args.UserName
        if spec_user and spec_user != _local_user():
            label = f"{spec_user}@{label}"
        local.pushed = EnteredSession(local, session, temporary, label)

    def _find(self, args: EnterSessionArgs) -> PSSession:
        from pjsh.remote.sessions import session_table
        if args.Session is not None:
            return args.Session
        sessions = session_table(self.ctx.session).sessions
        if args.Id is not None:
            for s in sessions:
                if s.Id == args.Id:
                    return s
            self.ctx.throw(f"The remote session with the session ID {args.Id} is not "
                           "available.", "InvalidArgument", "InvalidArgument", args.Id)
        for s in sessions:
            if args.Name is not None and s.Name.lower() == args.Name.lower():
                return s
        self.ctx.throw(f"The remote session with the name {args.Name}  is not available.",
                       "InvalidArgument", "InvalidArgument", args.Name)
        raise AssertionError("unreachable")


def _using_names(body: object) -> list[str]:
    """The ``$using:`` names of a script block, found once per parsed block (a loop calling
    Invoke-Command runs the same block again and again)."""
    cached = getattr(body, "_c_using", None)
    if cached is None:
        from pjsh.jobs.service import iter_nodes
        from pjsh.lang import ast
        cached = []
        for node in iter_nodes(body):
            if isinstance(node, ast.Variable) and node.scope == "using" and \
                    node.name not in cached:
                cached.append(node.name)
        body._c_using = cached  # type: ignore[attr-defined]
    return list(cached)


def _local_user() -> str:
    import getpass
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry
        return ""


@command
class ExitSession(Cmdlet):
    """Exit-Session: leave the entered remote session (nothing outside one)."""

    spec = CommandSpec(
        name="Exit-Session", aliases=("Exit-PSSession", "exsn"),
        summary="Ends the interactive remote session.",
        description="Outside a remote session it silently does nothing, as in pwsh.",
        supports_as_job=False)

    def end(self, args: Bound) -> None:
        pushed = self.ctx.session.pushed
        if pushed is not None:
            pushed.leave()


# ---- Invoke-Command ---------------------------------------------------------------------------------

_REMOTE_SETS = ("SSHHost", "Session", "FilePathSSHHost", "FilePathSession")
_HOST_SETS = ("SSHHost", "FilePathSSHHost")


class InvokeCommandArgs(ConnectArgs):
    """Invoke-Command's parameters."""

    ScriptBlock: ScriptBlock | None
    FilePath: str | None
    HostName: list[str] | None
    Session: list[PSSession] | None
    NoNewScope: bool
    InputObject: object
    ArgumentList: list[object] | None
    AsJob: bool
    JobName: str | None
    HideComputerName: bool
    ThrottleLimit: int | None


@command
class InvokeCommand(Cmdlet):
    """Invoke-Command: run a script block here, or on many hosts at once."""

    spec = CommandSpec(
        name="Invoke-Command", aliases=("icm",), default_set="InProcess",
        summary="Runs commands locally, or on remote hosts over SSH.",
        description="With -HostName or -Session the script block runs on every host at once "
                    "(at most -ThrottleLimit, default 32, at a time); each output object "
                    "carries PSComputerName. A host that fails gives one error naming it and "
                    "the others go on. $using:x sends a local value. -AsJob returns a "
                    "RemoteJob at once, with one child job per host. A script block that is "
                    "one native command with literal arguments runs over a plain exec channel "
                    "with -HostName (no engine start, output kept as bytes).",
        examples=(("Invoke-Command -HostName web1,web2 { uptime }", "Two hosts."),
                  ("Invoke-Command -Session $s { Get-Job }", "The jobs kept in a session."),
                  ("Invoke-Command -HostName (1..50 | % { \"node$_\" }) { hostname } -AsJob",
                   "Fan out as a job.")),
        supports_as_job=False,
        params=(
            Param("ScriptBlock", SCRIPTBLOCK, position=0, mandatory=True, sets=("InProcess",),
                  aliases=("Command",), help="The commands to run."),
            Param("ScriptBlock", SCRIPTBLOCK, position=1, mandatory=True,
                  sets=("SSHHost", "Session"), aliases=("Command",),
                  help="The commands to run."),
            Param("FilePath", STRING, position=1, mandatory=True,
                  sets=("FilePathSSHHost", "FilePathSession"), aliases=("PSPath",),
                  completer="path", help="A local script file to run on the hosts."),
            Param("HostName", STRINGS, mandatory=True, sets=_HOST_SETS,
                  aliases=("ComputerName", "Cn"), completer="host",
                  help="The hosts, as [user@]host[:port]."),
            Param("Session", SESSIONS, position=0, mandatory=True,
                  sets=("Session", "FilePathSession"), help="Open sessions to run in."),
            Param("NoNewScope", SWITCH, sets=("InProcess",),
                  help="Run in the current scope (InProcess only)."),
            Param("InputObject", OBJECT, pipeline=True, help="Input for the script ($input)."),
            Param("ArgumentList", OBJECTS, aliases=("Args",),
                  help="Arguments for the script block's parameters, by position."),
            Param("AsJob", SWITCH, sets=_REMOTE_SETS,
                  help="Return a RemoteJob at once, one child job per host."),
            Param("JobName", STRING, sets=_REMOTE_SETS, help="The job's name (implies -AsJob)."),
            Param("HideComputerName", SWITCH, aliases=("HCN",), sets=_REMOTE_SETS,
                  help="Do not show the PSComputerName column."),
            Param("ThrottleLimit", INT, sets=_REMOTE_SETS,
                  help="How many hosts at once (default 32; 0 means the default)."),
            *_connect_params(_HOST_SETS),
        ))
    args_type = InvokeCommandArgs

    def begin(self, args: InvokeCommandArgs) -> None:
        self.items: list[object] = []
        self.got_input = False

    def process(self, args: InvokeCommandArgs) -> None:
        if "InputObject" in args:
            self.got_input = True
            self.items.append(args.InputObject)

    def end(self, args: InvokeCommandArgs) -> None:
        if args.parameter_set == "InProcess":
            self._in_process(args)
            return
        self._remote(args)

    def _write(self, kind: str, value: Any, writer: Any) -> None:
        """One result of a host, into this command's pipeline and streams."""
        if kind == "o":
            self.ctx.write_output(value)
        elif kind == "raw":
            if writer is not None:
                writer(value)
        elif kind == "e":
            self.ctx.write_error(value)
        elif kind == "i":
            from pjsh.jobs.jobhost import split_information
            message, tags = split_information(value)
            if "PSHOST" in tags:
                self.ctx.write_host(to_string(message))
            else:
                self.ctx.write_information(message, tags)
        elif kind == "w":
            self.ctx.write_warning(to_string(value))
        elif kind == "v":
            self.ctx.write_verbose(to_string(value))
        elif kind == "d":
            self.ctx.write_debug(to_string(value))
        elif kind == "p":
            self.ctx.write_progress(value)

    def _in_process(self, args: InvokeCommandArgs) -> None:
        assert args.ScriptBlock is not None
        interp, frame = self.ctx.caller()

        class _Out:
            def __init__(self, write: Any) -> None:
                self.send = write
        interp.invoke_block(args.ScriptBlock, frame, list(args.ArgumentList or []),
                            input_items=self.items if self.got_input else None,
                            new_scope=not args.NoNewScope,
                            out=_Out(self.ctx.write_output))

    def _script(self, args: InvokeCommandArgs) -> ScriptBlock:
        from pjsh.commands.jobs import script_from_file
        if args.ScriptBlock is not None:
            return args.ScriptBlock
        assert args.FilePath is not None  # mandatory in the FilePath sets
        return script_from_file(self, args.FilePath)

    def _remote(self, args: InvokeCommandArgs) -> None:
        from pjsh.remote.sessions import InvokeWork, Target, native_argv

        block = self._script(args)
        interp, frame = self.ctx.caller()
        using: dict[str, object] = {}
        for name in _using_names(block.body):
            found, value = frame.scope.lookup(name)
            using["using:" + name] = value if found else interp.get_variable(frame, name, None)
        if args.parameter_set in _HOST_SETS:
            assert args.HostName is not None
            targets = [Target(h) for h in args.HostName]
            connect = _connect_options(self, args)
        else:
            assert args.Session is not None
            targets = [Target(s.ComputerName, s) for s in args.Session]
            from pjsh.remote.ssh import ConnectOptions
            connect = ConnectOptions()
        registry = self.ctx.session.registry
        aliases = self.ctx.session.aliases

        def known(name: str) -> bool:
            low = name.lower()
            return (registry.commands.get(low) is not None or low in registry.aliases
                    or low in aliases or ("/" in name and False))
        as_job = bool(args.AsJob or args.JobName)
        # Only a host target can skip the engine (a session's runspace is the point).
        argv = None if self.got_input or args.ArgumentList or using or \
            args.parameter_set not in _HOST_SETS else native_argv(block.text, known)
        # Raw bytes come only over a plain exec channel: ask for a byte sink only then.
        writer = None if as_job or argv is None else self.ctx.byte_writer()
        work = InvokeWork(script=block.text, args=list(args.ArgumentList or []),
                          using=using, connect=connect, user=args.UserName, port=args.Port,
                          width=self.ctx.session.host.width, argv=argv,
                          as_bytes=as_job or writer is not None,
                          show_computer=not args.HideComputerName)
        throttle = args.ThrottleLimit or 32
        if as_job:
            self.ctx.write_output(self._start_job(targets, work, throttle, args.JobName,
                                                  block.text))
            return
        self._run_now(targets, work, throttle, writer)

    def _start_job(self, targets: Sequence[Any], work: Any, throttle: int,
                   name: str | None, command_text: str) -> object:
        from pjsh.jobs.model import PSRemotingChildJob, PSRemotingJob
        from pjsh.jobs.service import JobService
        from pjsh.remote.sessions import RemoteJobBackend

        service = self.ctx.session.jobs
        assert isinstance(service, JobService)
        manager = service.manager
        try:
            backend = manager.backend("remote")
        except Exception:  # first remote job of this session
            backend = RemoteJobBackend()
            manager.register_backend("remote", backend)
        assert isinstance(backend, RemoteJobBackend)
        import concurrent.futures
        parent_id = manager.next_id()
        children = []
        # Each Invoke-Command -AsJob has its own pool: its -ThrottleLimit is its own.
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, min(throttle, len(targets))), thread_name_prefix="pjsh-remote-job")
        for target in targets:
            child = PSRemotingChildJob(manager.next_id(), command=command_text,
                                       location=target.name, backend=backend,
                                       store=manager.new_store())
            backend.prepare(child, target, work, executor)
            children.append(child)
        parent = PSRemotingJob(parent_id, name=name, command=command_text, children=children,
                               type_name="RemoteJob")
        try:
            manager.start(parent)
        finally:
            executor.shutdown(wait=False)  # queued children still run; then the threads end
        return parent

    def _run_now(self, targets: Sequence[Any], work: Any, throttle: int,
                 writer: Any) -> None:
        from pjsh.remote.sessions import QueueEmitter, answer_host_call, fan_out, run_on_target
        out: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        if len(targets) == 1:
            # One target: run it on this thread (no pool, no hand-over): a command on an
            # open session then costs one request.
            run_on_target(targets[0], work, _DirectEmitter(self, writer), self.ctx.cancel)
            return
        remaining = [len(targets)]
        lock = threading.Lock()

        def on_done(_target: object, _ok: bool) -> None:
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                out.put(("end", None))
        token = self.ctx.cancel
        fan_out(targets, work, throttle, lambda _t: QueueEmitter(out), token, on_done)
        host = self.ctx.session.host
        while True:
            item = out.get()
            if item is None:
                continue
            kind, value = item
            if kind == "end":
                break
            if kind == "call":
                engine, message, answered = value
                try:
                    answer_host_call(host, engine, message)
                finally:
                    answered.set()
            else:
                self._write(kind, value, writer)


class _DirectEmitter(Emitter):
    """A single target's results, written by the cmdlet's own thread as they come."""

    def __init__(self, cmd: InvokeCommand, writer: Any) -> None:
        self.cmd = cmd
        self.writer = writer
        self.host_name = ""

    def output(self, value: object) -> None:
        self.cmd.ctx.write_output(value)

    def raw(self, data: bytes) -> None:
        if self.writer is not None:
            self.writer(data)

    def error(self, record: Any) -> None:
        self.cmd.ctx.write_error(record)

    def stream(self, kind: str, value: object) -> None:
        self.cmd._write(kind, value, self.writer)

    def host_call(self, engine: Any, message: Any) -> None:
        from pjsh.remote.sessions import answer_host_call
        answer_host_call(self.cmd.ctx.session.host, engine, message)
