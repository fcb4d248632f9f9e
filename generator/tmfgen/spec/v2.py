"""Operations of an AsyncAPI 2.6 document, with tmfgen's request/reply extensions.

AsyncAPI 2 keys channels by address and describes them from the application's side: `publish`
means others publish to the application, so the application *receives* (action "receive");
`subscribe` means the application *sends*. It has no notion of a reply, so tmfgen reads two
extensions on a `publish` operation:

``x-tmf-reply-channel``
    The address (a key of `channels`) replies are described on. The `subscribe` operation of that
    channel lists the reply messages (one message or `oneOf`); it belongs to the reply and is not
    reported as an operation of its own.
``x-tmf-reply-location``
    The runtime expression naming the reply address, e.g. `$message.header#/Reply-Channel`.

Both are consumed here and do not appear in `OperationSpec.extensions`, so a 2.6 and a 3.0
description of the same API load to the same operations. Operations are named by `operationId`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from tmfgen.spec.bundle import copy_data
from tmfgen.spec.documents import Location
from tmfgen.spec.messages import Context
from tmfgen.spec.model import MessageSpec, OperationSpec

REPLY_CHANNEL = "x-tmf-reply-channel"
REPLY_LOCATION = "x-tmf-reply-location"
_VERBS = {"publish": "receive", "subscribe": "send"}


def read_operations(ctx: Context, root: Location, doc: dict[str, Any]) -> list[OperationSpec]:
    channels = doc.get("channels")
    if not isinstance(channels, dict):
        ctx.error(root.child("channels"), "bad-type", "channels must be an object")
        return []
    resolved: dict[str, tuple[Location, dict[str, Any]]] = {}
    for address in channels:
        found = ctx.mapping(root.child("channels", address), "a channel")
        if found is not None:
            resolved[str(address)] = found
    replies = {
        op[REPLY_CHANNEL]
        for _, channel in resolved.values()
        for op in (channel.get("publish"), channel.get("subscribe"))
        if isinstance(op, dict) and isinstance(op.get(REPLY_CHANNEL), str)
    }
    operations = []
    for address, (cloc, channel) in resolved.items():
        for verb, action in _VERBS.items():
            if not isinstance(channel.get(verb), dict):
                continue
            if verb == "subscribe" and address in replies:
                continue
            op = _operation(ctx, resolved, address, cloc, channel, verb, action)
            if op is not None:
                operations.append(op)
    return sorted(operations, key=lambda o: o.name)


def _operation(
    ctx: Context,
    channels: dict[str, tuple[Location, dict[str, Any]]],
    address: str,
    cloc: Location,
    channel: dict[str, Any],
    verb: str,
    action: str,
) -> OperationSpec | None:
    oloc = cloc.child(verb)
    op: dict[str, Any] = channel[verb]
    name = op.get("operationId")
    if not isinstance(name, str) or not name:
        ctx.error(oloc, "missing-operation-id", "tmfgen needs an operationId on every operation")
        return None
    params = ctx.channel(cloc, channel, address)
    stem = name[:1].upper() + name[1:]
    messages = _messages(ctx, oloc, op, f"{stem}Request")
    reply_address = op.get(REPLY_CHANNEL)
    reply_location = op.get(REPLY_LOCATION)
    replies: tuple[MessageSpec, ...] = ()
    if reply_location is not None and not isinstance(reply_location, str):
        ctx.error(oloc.child(REPLY_LOCATION), "bad-type", f"{REPLY_LOCATION} must be a string")
        reply_location = None
    if reply_address is not None:
        if not isinstance(reply_address, str) or reply_address not in channels:
            ctx.error(
                oloc.child(REPLY_CHANNEL),
                "unknown-reply-channel",
                f"{REPLY_CHANNEL} must be the address of a channel: {reply_address!r}",
            )
            reply_address = None
        else:
            rloc, reply_channel = channels[reply_address]
            ctx.channel(rloc, reply_channel, reply_address)
            if isinstance(reply_channel.get("subscribe"), dict):
                replies = _messages(
                    ctx, rloc.child("subscribe"), reply_channel["subscribe"], f"{stem}Reply"
                )
            else:
                ctx.error(
                    rloc,
                    "missing-reply-messages",
                    "a reply channel needs a subscribe operation listing the reply messages",
                )
    consumed = {REPLY_CHANNEL, REPLY_LOCATION}
    extensions = {
        k: copy_data(op[k])
        for k in sorted(op)
        if isinstance(k, str) and k.startswith("x-") and k not in consumed
    }
    return OperationSpec(
        name=name,
        pointer=oloc.pointer,
        action=action,
        channel_address=address,
        parameters=params,
        messages=messages,
        reply_channel_address=reply_address,
        reply_location=reply_location,
        reply_messages=replies,
        extensions=MappingProxyType(extensions),
    )


def _messages(
    ctx: Context, oloc: Location, op: dict[str, Any], fallback: str
) -> tuple[MessageSpec, ...]:
    """The operation's message, or each entry of its `oneOf`."""
    if "message" not in op:
        return ()
    mloc = oloc.child("message")
    found = ctx.mapping(mloc, "a message")
    if found is None:
        return ()
    target, message = found
    if "oneOf" in message and isinstance(message["oneOf"], list):
        locs = [target.child("oneOf", i) for i in range(len(message["oneOf"]))]
    else:
        locs = [mloc]
    read = (ctx.message(loc, f"{fallback}{i or ''}") for i, loc in enumerate(locs))
    return tuple(m for m in read if m is not None)
