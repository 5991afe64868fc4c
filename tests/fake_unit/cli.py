"""The fake unit's ``careplane fake-lab`` commands."""

import typer

app = typer.Typer(help="The fake lab.", no_args_is_help=True)


@app.command("hello")
def hello() -> None:
    """Say hello from the fake lab."""
    typer.echo("hello from the fake lab")


@app.command("version")
def version() -> None:
    """Say which lab this is."""
    typer.echo("fake lab 1")
