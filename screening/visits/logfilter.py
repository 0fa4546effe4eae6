"""Keep personal-link tokens out of the development server's log.

gunicorn's access log (screening/gunicorn_conf.py) writes the path without the query
string, so /i?t=<token> is logged as /i. Werkzeug's development server (`flask run`)
logs the whole request line: this filter blanks the token out of it.
"""

from __future__ import annotations

import logging
import re

TOKEN = re.compile(r"([?&]t=)[^&\s\"]*")


class RedactLinkTokens(logging.Filter):
    """Replace the value of a `t=` query parameter in a log record with [hidden]."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "t=" in record.msg:
            record.msg = TOKEN.sub(r"\1[hidden]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(TOKEN.sub(r"\1[hidden]", a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Add the filter to werkzeug's logger, once per process."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
        logger.addFilter(RedactLinkTokens())
