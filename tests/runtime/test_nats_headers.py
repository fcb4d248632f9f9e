"""The NATS backend's header-block parser gives exactly what nats-py's own gives.

`_TolerantClient._parse_header_lines` replaces nats-py's for speed only; any difference in what
it keeps or drops would change which headers a service sees. Compared on ordinary blocks, every
ASCII character inside a name, and malformed lines.
"""

from __future__ import annotations

import pytest
from nats.aio.client import Client
from tmfgen_runtime.transports.nats import _TolerantClient

BLOCKS = [
    b"X-Correlation-Id: abc\r\nReply-Channel: r.x.commandReply\r\nParameters: {\"id\": \"1\"}\r\n",
    b"Name:Value\r\nOther:\tspaced \r\n\r\n",
    b"no colon here\r\n: empty name\r\nK: v: with: colons\r\n",
    "Caf\u00e9: x\r\nUtf: caf\u00e9 \u2028 \r\n".encode(),
    b"Bad: \xff\xfe\r\nRepeat: 1\r\nRepeat: 2\r\n",
    b"",
]
BLOCKS += [b"A" + bytes([c]) + b"B: value\r\n" for c in range(128) if c not in (10, 13, 58)]


@pytest.mark.parametrize("raw", BLOCKS)
def test_the_fast_parser_agrees_with_nats_py(raw: bytes) -> None:
    assert _TolerantClient._parse_header_lines(raw) == Client._parse_header_lines(raw)
