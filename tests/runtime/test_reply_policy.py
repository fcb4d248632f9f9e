"""Where a service may publish replies: the Reply-Channel header is chosen by the requester, so
the policy is what stands between a request and a publish to a broker system subject (a JetStream
purge) or to another tenant's channel. Each case pins one decision of `ReplyPolicy`."""

from __future__ import annotations

import pytest
from tmfgen_runtime.protocol.wire import ReplyPolicy, usable_reply_channel

REQUEST = "customerManagement.v5.createCustomer.commandRequest"
OWN = "customerManagement.v5.createCustomer.commandReply"


@pytest.mark.parametrize(
    "reply", [OWN, f"acme.{OWN}", f"inbox-1234.acme.{OWN}"], ids=["bare", "prefixed", "deep"]
)
def test_own_command_reply_under_any_prefix_is_allowed(reply: str) -> None:
    assert ReplyPolicy().refusal(reply, REQUEST) is None


@pytest.mark.parametrize(
    "reply",
    [
        "$JS.API.STREAM.PURGE.X",
        "$JS.API.STREAM.DELETE.X",
        f"$JS.API.{OWN}",
        "$SYS.REQ.SERVER.PING",
        "$KV.bucket.key",
        "$O.store.chunk",
        f"$share/g/{OWN}",
        "$SYS/broker/clients",
        f"_INBOX.{OWN}",
        "_INBOX.abc",
        "customerManagement.v5.retrieveCustomer.commandReply",  # another operation's
        "other-tenant.orders",
        f"{OWN}.extra",
        f"x{OWN}",  # a suffix that is not a dotted prefix
    ],
)
def test_default_policy_refuses(reply: str) -> None:
    assert ReplyPolicy().refusal(reply, REQUEST)


def test_glob_pattern_allows_matching_channels_only() -> None:
    policy = ReplyPolicy(allow=("acme.replies.*",))
    assert policy.refusal("acme.replies.client-7", REQUEST) is None
    assert policy.refusal("acme.replies.a.b", REQUEST) is None
    assert policy.refusal("acme.other.client-7", REQUEST)
    assert policy.refusal(OWN, REQUEST) is None, "the own reply stays allowed"


def test_regex_pattern_must_match_the_whole_name() -> None:
    policy = ReplyPolicy(allow=(r"re:tenant-[0-9]+\.replies",))
    assert policy.refusal("tenant-42.replies", REQUEST) is None
    assert policy.refusal("tenant-42.replies.more", REQUEST)
    assert policy.refusal("xtenant-42.replies", REQUEST)


def test_no_pattern_can_allow_a_system_subject() -> None:
    policy = ReplyPolicy(allow=("*", "$JS.*", "re:.*"))
    assert policy.refusal("$JS.API.STREAM.PURGE.X", REQUEST)
    assert policy.refusal("$SYS/broker", REQUEST)


def test_inbox_only_by_a_pattern_that_names_it() -> None:
    assert ReplyPolicy(allow=("*",)).refusal("_INBOX.abc", REQUEST)
    assert ReplyPolicy(allow=("_INBOX.*",)).refusal("_INBOX.abc", REQUEST) is None


def test_own_reply_can_be_switched_off() -> None:
    policy = ReplyPolicy(allow=("acme.replies.*",), own_reply=False)
    assert policy.refusal(OWN, REQUEST)
    assert policy.refusal("acme.replies.x", REQUEST) is None


def test_patterns_from_command_line_and_environment_split_on_commas() -> None:
    policy = ReplyPolicy.from_patterns(["a.*, b.*", "", "re:c\\..*"])
    assert policy.allow == ("a.*", "b.*", "re:c\\..*")
    assert policy.refusal("b.x", REQUEST) is None
    assert policy.refusal("c.x", REQUEST) is None
    assert policy.refusal("d.x", REQUEST)


def test_bad_regex_is_a_value_error_naming_the_pattern() -> None:
    with pytest.raises(ValueError, match=r"re:\("):
        ReplyPolicy(allow=("re:(",))


@pytest.mark.parametrize("value", ["a\x00b", "a\x7fb", "a\x1bb"], ids=["nul", "del", "esc"])
def test_control_characters_make_a_reply_channel_unusable(value: str) -> None:
    assert usable_reply_channel(value) is None


def test_serve_option_and_environment_add_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    from tmfgen_runtime.running.cli import _parser

    monkeypatch.setenv("TMF_REPLY_CHANNEL_PATTERN", "env.replies.*")
    args = _parser("pkg").parse_args(["serve", "--reply-channel-pattern", "cli.replies.*"])
    policy = ReplyPolicy.from_patterns(args.reply_channel_pattern)
    assert policy.allow == ("env.replies.*", "cli.replies.*")
    monkeypatch.delenv("TMF_REPLY_CHANNEL_PATTERN")
    assert _parser("pkg").parse_args(["serve"]).reply_channel_pattern == [""]
