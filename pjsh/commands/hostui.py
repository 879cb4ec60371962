"""Commands that talk to the user through the host: Read-Host, and SecureString conversion
(ConvertTo-SecureString, ConvertFrom-SecureString)."""

from __future__ import annotations

from collections.abc import Callable

from pjsh.runtime.cmdlet import Bound, Cmdlet, CommandSpec, Param, command
from pjsh.runtime.convert import OBJECT, STRING, SWITCH, to_string
from pjsh.runtime.host import HostException
from pjsh.runtime.values import PSPropertyClass

SECURE_STRING = "System.Security.SecureString"


class SecureString(PSPropertyClass):
    """``System.Security.SecureString``: text that does not show itself (ToString gives the
    type name; only ConvertFrom-SecureString -AsPlainText reads it back)."""

    ps_type_names = (SECURE_STRING, "System.Object")
    ps_property_names = ("Length",)
    __slots__ = ("__text",)

    def __init__(self, text: str) -> None:
        self.__text = text

    @property
    def Length(self) -> int:
        """The number of characters."""
        return len(self.__text)

    def plain_text(self) -> str:
        """The text itself (ConvertFrom-SecureString -AsPlainText)."""
        return self.__text

    def __str__(self) -> str:
        return SECURE_STRING

    def __repr__(self) -> str:
        return f"<{SECURE_STRING}>"


def _secure_string(value: object) -> str | None:
    """Argument check of -SecureString: a SecureString (None), else why not."""
    if isinstance(value, SecureString):
        return None
    return (f'Cannot convert the "{to_string(value)}" value of type '
            f'"{type(value).__name__}" to type "{SECURE_STRING}".')


SECURE = OBJECT


def _fq(name: str, error_id: str) -> str:
    return f"{error_id},Microsoft.PowerShell.Commands.{name}"


class ReadHostArgs(Bound):
    """Read-Host's parameters."""

    Prompt: object
    AsSecureString: bool
    MaskInput: bool


@command
class ReadHost(Cmdlet):
    """Read-Host: read a line of input from the user."""

    spec = CommandSpec(
        name="Read-Host",
        params=(
            Param("Prompt", OBJECT, position=0, remaining=True,
                  help="The text of the prompt; ': ' is added after it."),
            Param("AsSecureString", SWITCH,
                  help="Hide the typed text and return a SecureString."),
            Param("MaskInput", SWITCH,
                  help="Hide the typed text and return it as a plain string."),
        ),
        summary="Reads a line of input from the console.",
        description=(
            "Read-Host shows the prompt and reads one line. On the console it is a line "
            "editor; with -AsSecureString or -MaskInput nothing typed is echoed and the text "
            "never enters the history. In scripted mode (statements piped into pjsh) the next "
            "input line is the answer. Under -NonInteractive, in a job, or with no input left "
            "it fails at once instead of waiting."
        ),
        examples=(
            ("$name = Read-Host 'Your name'", "Shows 'Your name: ' and stores the answer."),
            ("$pw = Read-Host 'Password' -AsSecureString", "A SecureString; nothing echoed."),
        ),
        output_type="System.String, System.Security.SecureString",
    )
    args_type = ReadHostArgs

    def process(self, args: ReadHostArgs) -> None:
        """Prompt once and output the answer."""
        prompt_value = args.Prompt
        if isinstance(prompt_value, (list, tuple)):
            prompt = " ".join(to_string(v) for v in prompt_value)
        else:
            prompt = to_string(prompt_value)
        text = f"{prompt}: " if prompt_value is not None else ""
        host = self.ctx.session.host
        secure = bool(args.AsSecureString)
        read: Callable[[str], str] = (
            host.read_secret if secure or args.MaskInput else host.read_line)
        try:
            answer = read(text)
        except HostException as e:
            self.ctx.throw(e.message, _fq("ReadHostCommand", e.error_id), e.category)
            return
        self.ctx.write_output(SecureString(answer) if secure else answer)


class ConvertToSecureStringArgs(Bound):
    """ConvertTo-SecureString's parameters."""

    String: str | None
    AsPlainText: bool
    Force: bool


@command
class ConvertToSecureString(Cmdlet):
    """ConvertTo-SecureString: wrap plain text in a SecureString."""

    spec = CommandSpec(
        name="ConvertTo-SecureString",
        params=(
            Param("String", STRING, position=0, pipeline=True, mandatory=True,
                  help="The text to protect."),
            Param("AsPlainText", SWITCH, help="The input is plain text (needs -Force)."),
            Param("Force", SWITCH, help="Confirm that plain text input is intended."),
        ),
        summary="Converts plain text to a secure string.",
        description="Only plain text input (-AsPlainText -Force) is supported.",
        examples=(("$s = ConvertTo-SecureString 'pw' -AsPlainText -Force", "A SecureString."),),
        output_type=SECURE_STRING,
    )
    args_type = ConvertToSecureStringArgs

    def process(self, args: ConvertToSecureStringArgs) -> None:
        """Convert one string."""
        if not args.AsPlainText:
            self.ctx.throw("Encrypted standard strings are not supported by pjsh; use "
                           "-AsPlainText -Force.", _fq("ConvertToSecureStringCommand",
                                                       "NotSupported"), "NotImplemented")
            return
        if not args.Force:
            # pwsh's own guard: plain text must be asked for explicitly.
            self.ctx.throw("The system cannot protect plain text input. To suppress this "
                           "warning and convert the plain text to a SecureString, reissue "
                           "the command specifying the Force parameter.",
                           _fq("ConvertToSecureStringCommand", "ImportSecureString_"
                               "InvalidArgument"), "InvalidArgument")
            return
        self.ctx.write_output(SecureString(to_string(args.String)))


class ConvertFromSecureStringArgs(Bound):
    """ConvertFrom-SecureString's parameters."""

    SecureString: object
    AsPlainText: bool


@command
class ConvertFromSecureString(Cmdlet):
    """ConvertFrom-SecureString: read a SecureString back as plain text."""

    spec = CommandSpec(
        name="ConvertFrom-SecureString",
        params=(
            Param("SecureString", SECURE, position=0, pipeline=True, mandatory=True,
                  validate=_secure_string, help="The SecureString to convert."),
            Param("AsPlainText", SWITCH, help="Return the text itself."),
        ),
        summary="Converts a secure string to plain text.",
        description="Only -AsPlainText is supported (pjsh has no key store for encrypted "
                    "standard strings).",
        examples=(("ConvertFrom-SecureString $pw -AsPlainText", "The text typed at the "
                   "Read-Host -AsSecureString prompt."),),
        output_type="System.String",
    )
    args_type = ConvertFromSecureStringArgs

    def process(self, args: ConvertFromSecureStringArgs) -> None:
        """Convert one SecureString."""
        value = args.SecureString
        if not isinstance(value, SecureString):
            return
        if not args.AsPlainText:
            self.ctx.throw("Encrypted standard strings are not supported by pjsh; use "
                           "-AsPlainText.", _fq("ConvertFromSecureStringCommand",
                                                "NotSupported"), "NotImplemented")
            return
        self.ctx.write_output(value.plain_text())
