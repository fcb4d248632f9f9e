"""Operations of an AsyncAPI 3.0 document.

In 3.0 an operation names its channel and messages by `$ref`, and request/reply is first-class:
`reply.address.location` is the runtime expression that names the reply address and
`reply.channel` the channel replies are described on. When `messages` is omitted the operation
(or reply) uses every message of its channel, as the specification says.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from tmfgen.spec.bundle import copy_data
from tmfgen.spec.documents import Location
from tmfgen.spec.messages import Context
from tmfgen.spec.model import MessageSpec, OperationSpec

_ACTIONS = ("send", "receive")


def read_operations(ctx: Context, root: Location, doc: dict[str, Any]) -> list[OperationSpec]:
    operations = doc.get("operations")
    if operations is None:
        return []
    if not isinstance(operations, dict):
        ctx.error(root.child("operations"), "bad-type", "operations must be an object")
        return []
    found = (_operation(ctx, root.child("operations", name), name) for name in sorted(operations))
    return [op for op in found if op is not None]


def _operation(ctx: Context, loc: Location, name: str) -> OperationSpec | None:
    found = ctx.mapping(loc, "an operation")
    if found is None:
        return None
    oloc, op = found
    action = op.get("action")
    if action not in _ACTIONS:
        ctx.error(oloc.child("action"), "bad-action", f"action must be send or receive: {action!r}")
    channel = ctx.follow(oloc.child("channel"), "operation channel")
    address, params = None, ()
    messages: tuple[MessageSpec, ...] = ()
    if channel is not None:
        address, params = _address(ctx, *channel)
        messages = _messages(ctx, oloc, op, channel, name[:1].upper() + name[1:] + "Request")
    reply_address, reply_location = None, None
    replies: tuple[MessageSpec, ...] = ()
    if "reply" in op:
        reply_address, reply_location, replies = _reply(ctx, oloc.child("reply"), name)
    extensions = {
        k: copy_data(op[k]) for k in sorted(op) if isinstance(k, str) and k.startswith("x-")
    }
    return OperationSpec(
        name=name,
        pointer=loc.pointer,
        action=str(action),
        channel_address=address,
        parameters=params,
        messages=messages,
        reply_channel_address=reply_address,
        reply_location=reply_location,
        reply_messages=replies,
        extensions=MappingProxyType(extensions),
    )


def _address(ctx: Context, cloc: Location, channel: dict[str, Any]) -> tuple[str | None, Any]:
    address = channel.get("address")
    if address is not None and not isinstance(address, str):
        ctx.error(cloc.child("address"), "bad-type", "channel address must be a string or null")
        address = None
    return address, ctx.channel(cloc, channel, address)


def _messages(
    ctx: Context,
    oloc: Location,
    op: dict[str, Any],
    channel: tuple[Location, dict[str, Any]],
    fallback: str,
) -> tuple[MessageSpec, ...]:
    """The operation's messages, or all of its channel's when it lists none."""
    cloc, chan = channel
    if "messages" in op:
        listed = op["messages"]
        if not isinstance(listed, list):
            ctx.error(oloc.child("messages"), "bad-type", "messages must be a list of $refs")
            return ()
        locs = []
        for i in range(len(listed)):
            target = ctx.follow(oloc.child("messages", i), "an operation message")
            if target is not None:
                locs.append(target[0])
    else:
        inline = chan.get("messages")
        keys = list(inline) if isinstance(inline, dict) else []
        locs = [cloc.child("messages", key) for key in keys]
    read = (ctx.message(loc, f"{fallback}{i or ''}") for i, loc in enumerate(locs))
    return tuple(m for m in read if m is not None)


def _reply(
    ctx: Context, loc: Location, name: str
) -> tuple[str | None, str | None, tuple[MessageSpec, ...]]:
    found = ctx.mapping(loc, "reply")
    if found is None:
        return None, None, ()
    rloc, reply = found
    location = None
    if "address" in reply:
        address = ctx.mapping(rloc.child("address"), "reply address")
        if address is not None:
            location = address[1].get("location")
            if not isinstance(location, str):
                ctx.error(address[0], "bad-reply-address", "reply address needs a location")
                location = None
    channel_address = None
    messages: tuple[MessageSpec, ...] = ()
    if "channel" in reply:
        channel = ctx.follow(rloc.child("channel"), "reply channel")
        if channel is not None:
            channel_address, _ = _address(ctx, *channel)
            stem = name[:1].upper() + name[1:] + "Reply"
            messages = _messages(ctx, rloc, reply, channel, stem)
    elif "messages" in reply:
        ctx.error(rloc.child("channel"), "missing-reply-channel", "reply messages need a channel")
    return channel_address, location, messages
