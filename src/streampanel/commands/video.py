"""Video commands: the account's applications."""

from __future__ import annotations

from typing import Any

from streampanel.commands.context import CallContext
from streampanel.commands.params import Params
from streampanel.commands.registry import command


class GetAppsParams(Params):
    pass


@command(
    "video.getapps",
    params=GetAppsParams,
    message="Found Applications",
    summary="Lists the account's applications with their ids and names.",
    inline=True,
)
def get_apps(ctx: CallContext, params: GetAppsParams) -> list[dict[str, Any]]:
    return ctx.account_applications()
