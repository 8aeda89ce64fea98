"""URL converters shared by the apps' page routes."""


class CodeConverter:
    """A business code in a URL: anything but a slash or a control character.

    Control characters (NUL above all) never reach the database: PostgreSQL refuses NUL in
    text, which would otherwise turn a crafted URL into a server error instead of a 404.
    """

    regex = r"[^/\x00-\x1f\x7f]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
