"""Who calls the vault surface: a key of one vault (`Bearer KEY` or `X-API-Key`). The vault in
the path, when there is one, must be the key's; any other vault id, known or not, is not
found. Checks run in the contract's order: key (401), vault (404), permission (403)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pixvault.domain.errors import Forbidden, VaultNotFound
from pixvault.domain.models import Project
from pixvault.domain.principal import Action, KeyPrincipal, authorize
from pixvault.http.common.auth import principal


@dataclass(frozen=True)
class Vault:
    project: Project
    who: KeyPrincipal


async def _vault(request: Request, action: Action) -> Vault:
    who = await principal(request)
    if isinstance(who, KeyPrincipal) and who.kind == "master":
        raise Forbidden("A master key administers the instance: use a key of this vault")
    authorize(who, Action.READ)  # no key: 401
    assert isinstance(who, KeyPrincipal) and who.project is not None
    named = request.path_params.get("vault_id")
    if named is not None and named.lower() != who.project.vault_id.lower():
        raise VaultNotFound(named)
    return Vault(authorize(who, action), who)


async def _reader(request: Request) -> Vault:
    return await _vault(request, Action.READ)


async def _writer(request: Request) -> Vault:
    return await _vault(request, Action.WRITE)


VaultReader = Annotated[Vault, Depends(_reader)]
VaultWriter = Annotated[Vault, Depends(_writer)]
