"""Public URLs of images, built in one place for every surface.

The base is `PIXVAULT_PUBLIC_URL` (the CDN in front of pixvault) when set, else the address
the request reached, which the surface passes in.
"""

from urllib.parse import quote

from pixvault.domain.models import Image, Project
from pixvault.domain.signing import token


class PublicUrls:
    def __init__(self, public_url: str | None):
        self._configured = public_url.rstrip("/") if public_url else None

    def base(self, request_base: str) -> str:
        return self._configured or request_base.rstrip("/")

    def cdn(self, project: Project, image: Image, *, request_base: str) -> str:
        """The Banatie CDN URL by id: its bytes never change."""
        return f"{self.base(request_base)}/{project.org_slug}/{project.slug}/img/{image.id}"

    def vault(self, project: Project, image: Image, *, request_base: str) -> str:
        """The vault delivery URL of a file: its bytes may change (mutable)."""
        return self.base(request_base) + vault_pathname(project, vault_path(image))

    def signed_vault(
        self, project: Project, path: str, expires: int, secret: str, *, request_base: str
    ) -> str:
        """A vault URL that works until `expires` (unix seconds) for anyone holding it."""
        pathname = vault_pathname(project, path)
        signature = token(secret, f"{pathname}\n\n{expires}")
        return f"{self.base(request_base)}{pathname}?expires={expires}&token={signature}"


def vault_path(image: Image) -> str:
    """`partition/collection/channel/filename` of a file with a folder path."""
    return "/".join(
        (image.partition or "", image.collection or "", image.channel or "", image.filename or "")
    )


def vault_pathname(project: Project, path: str) -> str:
    """The delivery path of a file, each segment percent-encoded, as clients request it."""
    return "/" + "/".join([project.vault_id, *(quote(part, safe="") for part in path.split("/"))])
