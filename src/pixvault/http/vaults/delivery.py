"""Vault delivery: `GET|HEAD /{vaultId}/{partition}/{collection}/{channel}/{filename}`, public.

The first segment must look like a vault id (`vault_` + 26 ULID characters), so these URLs
never shadow an API route of five segments. Query parameters go through the one transform
grammar with imgbt's default (`fit=cover` when both sides are given, applied by the core
after the URL's token is checked against the parameters as sent).
"""

from fastapi import Request, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route

from pixvault.domain.errors import PixvaultError
from pixvault.domain.locators import ByVaultPath
from pixvault.http.common.auth import core_of
from pixvault.http.common.delivery import respond, viewer_of
from pixvault.http.vaults.errors import render_error


class VaultIdConvertor(Convertor[str]):
    regex = "[vV][aA][uU][lL][tT]_[0-9A-Za-z]{26}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("vault_id", VaultIdConvertor())


async def vault_file(request: Request) -> Response:
    request.scope["route"] = route
    p = request.path_params
    core = core_of(request)
    try:
        answer = await core.delivery.serve(
            ByVaultPath(
                p["vault_id"], (p["partition"], p["collection"], p["channel"]), p["filename"]
            ),
            request.query_params.multi_items(),
            viewer_of(request, core),
        )
        return await respond(answer, render_error)
    except PixvaultError as exc:
        return render_error(exc)


route = Route(
    "/{vault_id:vault_id}/{partition}/{collection}/{channel}/{filename}",
    vault_file,
    methods=["GET", "HEAD"],
)
