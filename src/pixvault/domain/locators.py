"""How a public URL names an image. Each surface builds one of these from its path; the
delivery service resolves it (project, then image) and decides what the answer may be cached
as. Locators for the Slink (`/image/{id}.{ext}`) and vault paths join these as those
surfaces arrive."""

from __future__ import annotations

from dataclasses import dataclass

from pixvault.domain.aliases import is_alias_reference


@dataclass(frozen=True)
class ById:
    """An image of a project named by its id: the bytes behind it never change."""

    org: str
    project: str
    image_id: str


@dataclass(frozen=True)
class ByAlias:
    """An image named by a project alias: the alias may move to other bytes."""

    org: str
    project: str
    alias: str


@dataclass(frozen=True)
class BySlinkId:
    """Slink's `/image/{id}.{ext}`: an image by id, the extension naming the output format.
    Every delivery counts a view, as Slink does."""

    org: str
    project: str
    image_id: str
    ext: str


@dataclass(frozen=True)
class ByVaultPath:
    """imgbt's `/{vaultId}/{partition}/{collection}/{channel}/{filename}`: the file at a folder
    path, whose bytes may change (delete, then upload again)."""

    vault_id: str
    folders: tuple[str, str, str]
    filename: str


Locator = ById | ByAlias | BySlinkId | ByVaultPath


def cdn_locator(org: str, project: str, ref: str) -> Locator:
    """The Banatie CDN path `/{org}/{project}/img/{id|@alias}`."""
    if is_alias_reference(ref):
        return ByAlias(org, project, ref)
    return ById(org, project, ref)
