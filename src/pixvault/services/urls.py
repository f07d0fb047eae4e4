"""Public URLs of images, built in one place for every surface.

The base is `PIXVAULT_PUBLIC_URL` (the CDN in front of pixvault) when set, else the address
the request reached, which the surface passes in.
"""

from pixvault.domain.models import Image, Project


class PublicUrls:
    def __init__(self, public_url: str | None):
        self._configured = public_url.rstrip("/") if public_url else None

    def base(self, request_base: str) -> str:
        return self._configured or request_base.rstrip("/")

    def cdn(self, project: Project, image: Image, *, request_base: str) -> str:
        """The Banatie CDN URL by id: its bytes never change."""
        return f"{self.base(request_base)}/{project.org_slug}/{project.slug}/img/{image.id}"
