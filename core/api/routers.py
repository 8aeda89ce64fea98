"""A router accepting URLs with or without the trailing slash (``POST /api/v1/trades``)."""

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
