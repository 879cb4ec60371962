"""The current location: Get-Location, Set-Location, Push-Location and Pop-Location.

The location is the session's logical ``cwd``; the process's own directory is never changed,
so jobs, remote runspaces and thread jobs each keep their own.
"""

from __future__ import annotations

import os

from pjsh.commands.items import glob_paths, provider_path
from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command
from pjsh.runtime.convert import STRING, SWITCH, to_string
from pjsh.runtime.operators import has_wildcard
from pjsh.runtime.values import PathInfo


def _fqid(error_id: str, command_class: str) -> str:
    return f"{error_id},Microsoft.PowerShell.Commands.{command_class}"


class LocationChangerArgs(Bound):
    """The parameters Set-Location and Push-Location share."""

    Path: str | None
    LiteralPath: str | None
    PassThru: bool


class _LocationChanger(Cmdlet):
    """Shared by Set-Location and Push-Location: resolve a target and move there."""

    command_class = ""

    def change_to(self, args: LocationChangerArgs) -> bool:
        """Move to the location the arguments name; report a non-terminating error and return
        False when it does not exist or is not a directory."""
        session = self.ctx.session
        literal = args.parameter_set == "LiteralPath" or "LiteralPath" in args
        raw = args.LiteralPath if literal else args.Path
        if raw is None:
            target = os.path.expanduser("~")
        else:
            text = provider_path(to_string(raw))
            if not literal and text == "-":
                if session.previous_location is None:
                    self.ctx.write_error(self.ctx.error(
                        "There is no location history left to navigate backwards.",
                        _fqid("InvalidOperation", self.command_class), "InvalidOperation",
                        None, "System.InvalidOperationException"))
                    return False
                target = session.previous_location
            elif not literal and has_wildcard(text):
                matches = [m for m in glob_paths(session, text) if os.path.isdir(m)]
                if len(matches) > 1:
                    self.ctx.write_error(self.ctx.error(
                        f"Cannot set the location because path '{text}' resolved to multiple "
                        "containers. You can only set the location to a single container at a "
                        "time.", _fqid("PathResolvedToMultiple", self.command_class),
                        "InvalidArgument", text,
                        "System.Management.Automation.PSArgumentException"))
                    return False
                target = matches[0] if matches else session.resolve_path(text)
            else:
                target = session.resolve_path(text or "~")
        old = session.cwd
        try:
            session.set_location(target)
        except OSError:
            full = session.resolve_path(target)
            self.ctx.write_error(self.ctx.error(
                f"Cannot find path '{full}' because it does not exist.",
                _fqid("PathNotFound", self.command_class), "ObjectNotFound", full,
                "System.Management.Automation.ItemNotFoundException"))
            return False
        session.previous_location = old
        return True


_PATH_PARAMS = (
    Param("Path", STRING, position=0, pipeline=True, pipeline_by_name=True, sets=("Path",),
          completer="directory",
          help="The directory to go to (~ for home, - for the previous location); wildcards "
               "allowed."),
    Param("LiteralPath", STRING, mandatory=True, aliases=("PSPath", "LP"),
          pipeline_by_name=True, sets=("LiteralPath",), completer="directory",
          help="The directory to go to, taken exactly as written."),
    Param("PassThru", SWITCH, help="Output the new location as a PathInfo object."),
)


class GetLocationArgs(Bound):
    """Get-Location's parameters."""

    Stack: bool


@command
class GetLocation(Cmdlet):
    """Get-Location: the current directory as a PathInfo object."""

    spec = CommandSpec(
        name="Get-Location",
        aliases=("gl", "pwd"),
        summary="Gets information about the current working location or a location stack.",
        description=(
            "Outputs the current location as a PathInfo object (its Path property, and its "
            "string form, is the directory). -Stack lists the Push-Location stack instead, "
            "most recent first."
        ),
        examples=(
            ("Get-Location", "Show the current directory."),
            ("(Get-Location).Path", "The current directory as a string."),
            ("Get-Location -Stack", "Show the directories saved by Push-Location."),
        ),
        output_type="System.Management.Automation.PathInfo",
        params=(
            Param("Stack", SWITCH, help="List the location stack instead."),
        ),
    )
    args_type = GetLocationArgs

    def process(self, args: GetLocationArgs) -> None:
        """Write the location (or the stack)."""
        session = self.ctx.session
        if args.Stack:
            for path in reversed(session.location_stack):
                self.ctx.write_output(PathInfo(path))
            return
        self.ctx.write_output(PathInfo(session.cwd))


class SetLocationArgs(LocationChangerArgs):
    """Set-Location's parameters."""


@command
class SetLocation(_LocationChanger):
    """Set-Location: change the current directory."""

    command_class = "SetLocationCommand"
    spec = CommandSpec(
        name="Set-Location",
        aliases=("cd", "sl", "chdir"),
        default_set="Path",
        summary="Sets the current working location to a specified location.",
        description=(
            "Makes the given directory the current location. Without a path it goes to your "
            "home directory; `-` goes back to the previous location. Relative paths, `..` and "
            "`~` work as in other shells."
        ),
        examples=(
            ("Set-Location /tmp", "Go to /tmp."),
            ("cd ..", "Go to the parent directory."),
            ("cd -", "Go back to where you were."),
            ("cd ~/src -PassThru", "Go to ~/src and output the new location."),
        ),
        output_type="System.Management.Automation.PathInfo",
        params=_PATH_PARAMS,
    )
    args_type = SetLocationArgs

    def process(self, args: SetLocationArgs) -> None:
        """Change the location."""
        if self.change_to(args) and args.PassThru:
            self.ctx.write_output(PathInfo(self.ctx.session.cwd))


class PushLocationArgs(LocationChangerArgs):
    """Push-Location's parameters."""


@command
class PushLocation(_LocationChanger):
    """Push-Location: save the current directory on the stack, then change it."""

    command_class = "PushLocationCommand"
    spec = CommandSpec(
        name="Push-Location",
        aliases=("pushd",),
        default_set="Path",
        summary="Adds the current location to the top of a location stack.",
        description=(
            "Saves the current location on the location stack and, if a path is given, goes "
            "there. Pop-Location returns to the saved location."
        ),
        examples=(
            ("Push-Location /etc", "Remember where you are and go to /etc."),
            ("pushd; cd /tmp; popd", "Come back after wandering off."),
        ),
        output_type="System.Management.Automation.PathInfo",
        params=(
            Param("Path", STRING, position=0, pipeline=True, pipeline_by_name=True,
                  sets=("Path",), completer="directory",
                  help="The directory to go to after saving the current one."),
            *_PATH_PARAMS[1:],
        ),
    )
    args_type = PushLocationArgs

    def process(self, args: PushLocationArgs) -> None:
        """Push, then move (undoing the push if the move fails)."""
        session = self.ctx.session
        session.location_stack.append(session.cwd)
        if args.Path is None and args.LiteralPath is None:
            if args.PassThru:
                self.ctx.write_output(PathInfo(session.cwd))
            return
        if not self.change_to(args):
            session.location_stack.pop()
            return
        if args.PassThru:
            self.ctx.write_output(PathInfo(session.cwd))


class PopLocationArgs(Bound):
    """Pop-Location's parameters."""

    PassThru: bool


@command
class PopLocation(Cmdlet):
    """Pop-Location: go back to the directory last saved by Push-Location."""

    spec = CommandSpec(
        name="Pop-Location",
        aliases=("popd",),
        summary="Changes the current location to the location most recently pushed onto the "
                "stack.",
        description=(
            "Takes the most recent location off the location stack and goes there. An empty "
            "stack leaves the location unchanged."
        ),
        examples=(("Pop-Location", "Return to the location saved by Push-Location."),),
        output_type="System.Management.Automation.PathInfo",
        params=(
            Param("PassThru", SWITCH, help="Output the new location as a PathInfo object."),
        ),
    )
    args_type = PopLocationArgs

    def process(self, args: PopLocationArgs) -> None:
        """Pop and move."""
        session = self.ctx.session
        if not session.location_stack:
            return
        target = session.location_stack.pop()
        old = session.cwd
        try:
            session.set_location(target)
        except OSError:
            self.ctx.write_error(self.ctx.error(
                f"Cannot find path '{target}' because it does not exist.",
                _fqid("PathNotFound", "PopLocationCommand"), "ObjectNotFound", target,
                "System.Management.Automation.ItemNotFoundException"))
            return
        session.previous_location = old
        if args.PassThru:
            self.ctx.write_output(PathInfo(session.cwd))
