"""``lkbuild diff``: compare two recordings message by message."""
from __future__ import annotations

import click


@click.command("diff")
@click.argument("rec_a", type=click.Path(dir_okay=False))
@click.argument("rec_b", type=click.Path(dir_okay=False))
@click.pass_context
def diff(ctx, rec_a, rec_b):
    """Compare two MCAP recordings: the first differing message of each component output.

    Messages are compared by logical time and by value (the codec's bytes); wall-clock times are not
    compared. Exit code 0 when the recordings are the same, 1 when they differ.
    """
    from ..recording import read
    from ..replay import differences

    a, b = read(rec_a), read(rec_b)
    found = differences(a, b)
    if not found:
        outputs = len(a.streams())
        click.echo(f"identical: {len(a.messages)} messages on {outputs} output{'s' if outputs != 1 else ''}.")
        return
    for output, what in found:
        click.echo(f"{output}: {what}")
    click.echo(f"{len(found)} output{'s' if len(found) != 1 else ''} differ (A = {rec_a}, B = {rec_b}).")
    ctx.exit(1)
