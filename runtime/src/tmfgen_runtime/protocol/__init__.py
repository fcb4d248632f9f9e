"""The wire format: headers and JSON as the brokers carry them, TMF Error replies, and
JSON merge patch (RFC 7386). Nothing here knows a broker or a store."""
