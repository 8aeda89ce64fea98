"""Log records carry the request id of the request (or task) that produced them."""

import logging

from core import context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id if ctx else "-"
        return True
