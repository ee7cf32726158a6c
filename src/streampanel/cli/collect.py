"""``streampanel collect``: the collectors (disk usage, live viewers), run once or periodically.

Each collector's command lives in its feature's CLI module and is registered on this group.
"""

from __future__ import annotations

import typer

from streampanel.cli import collect_disk, collect_viewers

app = typer.Typer(help="Run the data collectors.", no_args_is_help=True)
app.command("viewers")(collect_viewers.viewers)
app.command("hls")(collect_viewers.hls)
app.command("disk")(collect_disk.disk)
