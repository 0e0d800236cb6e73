"""``medcurate users add|list|set-role|disable|enable|token``: people who sign in to the web app."""

import getpass
import sys
from typing import Annotated

import typer

from medcurate.cli.shared import console, fail, plain, print_json, run_guarded, settings_of, site_database
from medcurate.errors import MedcurateError

users_app = typer.Typer(no_args_is_help=True, help="Users and roles: admin, editor, curator, viewer.")
CLI_ACTOR = "cli"


def has_terminal() -> bool:
    """True when a person can be asked for a password here (stdin is a terminal)."""
    return sys.stdin.isatty()


def _read_password(from_stdin: bool, username: str) -> str:
    """The new password, from the first line of stdin or asked twice without echo.

    Without a terminal to ask on (a script, a container without ``-t``), it says so and how to pass
    the password, instead of waiting for a line nobody types.
    """
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not has_terminal():
        fail(
            f"`users add` prompts for {username}'s password, and there is no terminal to ask on; "
            f"in a script, pipe it in: printf '%s\\n' \"$PASSWORD\" | medcurate users add {username} "
            "--password-stdin",
            code=2,
        )
    console().print(f"Choose a password for {username} (typed twice, not shown; scripts: --password-stdin).")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        fail("the two passwords differ", code=2)
    return first


def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[str, typer.Option(help="admin, editor, curator or viewer.")] = "curator",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Add a user; the password is prompted for (never echoed) or read with --password-stdin."""
    from medcurate.users import add_user, parse_role

    try:
        parsed = parse_role(role)
    except MedcurateError as exc:
        fail(str(exc), code=2)
    password = _read_password(password_stdin, username)
    with site_database(settings_of(ctx)) as database, database.session() as session:
        user = add_user(session, username=username, password=password, role=parsed, actor=CLI_ACTOR)
    console().print(f"added [bold]{user.username}[/] ({user.role.value})")


def list_command(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users and their roles."""
    from rich.table import Table

    from medcurate.users import list_users

    database = run_guarded(settings_of(ctx))
    with database.session() as session:
        users = list_users(session)
    database.dispose()
    if as_json:
        print_json(
            [
                {
                    "username": u.username,
                    "role": u.role.value,
                    "disabled": u.disabled,
                    "created_at": u.created_at,
                }
                for u in users
            ]
        )
        return
    table = Table("username", "role", "status", "since", title=f"{len(users)} users")
    for u in users:
        table.add_row(
            plain(u.username),
            u.role.value,
            "disabled" if u.disabled else "active",
            u.created_at.date().isoformat(),
        )
    console().print(table)


def set_role_command(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="admin, editor, curator or viewer.")],
) -> None:
    """Give a user another role."""
    from medcurate.users import parse_role, set_role

    with site_database(settings_of(ctx)) as database, database.session() as session:
        user = set_role(session, username=username, role=parse_role(role), actor=CLI_ACTOR)
    console().print(f"{user.username} is now {user.role.value}")


def _set_disabled(ctx: typer.Context, username: str, disabled: bool) -> None:
    from medcurate.users import disable_user

    with site_database(settings_of(ctx)) as database, database.session() as session:
        disable_user(session, username=username, disabled=disabled, actor=CLI_ACTOR)
    console().print(f"{plain(username)} is {'disabled' if disabled else 'enabled'}")


def disable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: no sign-in, no API tokens."""
    _set_disabled(ctx, username, True)


def enable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Enable a disabled user again."""
    _set_disabled(ctx, username, False)


def unlock(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """End a user's sign-in delay: forget their failed sign-ins from every address."""
    from medcurate.users import unlock_user

    with site_database(settings_of(ctx)) as database, database.session() as session:
        cleared = unlock_user(session, username=username, actor=CLI_ACTOR)
    console().print(f"{plain(username)} is unlocked ({cleared} failed sign-ins forgotten)")


def token(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "script",
) -> None:
    """Create an API token for a user and print it once (only its hash is stored)."""
    from medcurate.users import create_api_token

    with site_database(settings_of(ctx)) as database, database.session() as session:
        _, secret = create_api_token(session, username=username, name=name, actor=CLI_ACTOR)
    sys.stdout.write(secret + "\n")


def register(app: typer.Typer) -> None:
    """Attach the ``users`` group to the root app."""
    users_app.command("add")(add)
    users_app.command("list")(list_command)
    users_app.command("set-role")(set_role_command)
    users_app.command("disable")(disable)
    users_app.command("enable")(enable)
    users_app.command("unlock")(unlock)
    users_app.command("token")(token)
    app.add_typer(users_app, name="users")
