"""The replay portal's fault kinds and their descriptions: a module of its own, importing nothing, so the CLI's
``--help`` text for ``portal serve`` costs no import of the portal (or the connectors) for every other command."""

FAULT_KINDS = ("500", "429", "html", "truncated", "drop", "timeout")
FAULT_HELP = {
    "500": "HTTP 500 with a JSON error body",
    "429": "HTTP 429 with Retry-After: 0",
    "html": "an HTML error page with status 200 (a portal's maintenance page)",
    "truncated": "the right answer cut off half way (Content-Length promises more)",
    "drop": "the connection closed with no answer (connection reset)",
    "timeout": "no answer for `stall` seconds, then the connection closes (a client with a shorter read "
               "timeout sees its timeout, others a reset)",
}
