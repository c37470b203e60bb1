"""Jetty's own error answers, which real Marathon sends for `response.sendError(...)`.

Marathon 1.10.26 runs Jetty 9.4 with `setSendServerVersion(false)` (d2iq-archive/marathon,
src/main/scala/mesosphere/marathon/api/HttpModule.scala), so an error raised outside Jersey (the
basic-auth constraint, LeaderProxyFilter, the request forwarder) is Jetty's default HTML page,
not JSON: clients that parse every error body as JSON break on them.
"""

from __future__ import annotations

import html

# Jetty's reason phrases for sendError(code) without a message.
REASONS = {401: "Unauthorized", 404: "Not Found", 500: "Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}
CONTENT_TYPE = "text/html;charset=iso-8859-1"


def error_page(status: int, uri: str, message: str | None = None) -> str:
    """The HTML body of Jetty 9.4's ErrorHandler for `status` on request path `uri`.

    `message` is the text given to sendError; without one Jetty uses the reason phrase.
    """
    reason = html.escape(message or REASONS.get(status, "Error"))
    return (
        "<html>\n<head>\n"
        '<meta http-equiv="Content-Type" content="text/html;charset=iso-8859-1"/>\n'
        f"<title>Error {status} {reason}</title>\n"
        "</head>\n"
        f"<body><h2>HTTP ERROR {status}</h2>\n"
        f"<p>Problem accessing {html.escape(uri)}. Reason:\n"
        f"<pre>    {reason}</pre></p>\n"
        "</body>\n</html>\n"
    )
