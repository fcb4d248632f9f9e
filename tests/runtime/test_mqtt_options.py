"""MQTT URL options: a session name turns on persistent sessions with stable client ids; every
subscription connection acknowledges by hand (after the handler), the publisher does not."""

from __future__ import annotations

import pytest
from tmfgen_runtime.transports.mqtt import MqttTransport

URL = "mqtt://127.0.0.1:1884"


async def test_session_gives_stable_persistent_subscription_clients() -> None:
    first = MqttTransport(f"{URL}?session=replica-1&session_expiry=120").client("a/topic")
    again = MqttTransport(f"{URL}?session=replica-1").client("a/topic")
    other_topic = MqttTransport(f"{URL}?session=replica-1").client("b/topic")
    other_replica = MqttTransport(f"{URL}?session=replica-2").client("a/topic")
    assert first.identifier == again.identifier
    assert len({first.identifier, other_topic.identifier, other_replica.identifier}) == 3
    assert first._clean_start is False
    assert first._properties is not None and first._properties.SessionExpiryInterval == 120
    assert first._client._manual_ack is True


async def test_without_session_clients_are_fresh_and_clean() -> None:
    transport = MqttTransport(URL)
    subscriber, publisher = transport.client("a/topic"), transport.client()
    assert subscriber.identifier != transport.client("a/topic").identifier
    assert subscriber._clean_start is True
    assert subscriber._client._manual_ack is True  # PUBACK after the handler all the same
    assert publisher._client._manual_ack is False


def test_unknown_url_option_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown MQTT URL options: sesion"):
        MqttTransport(f"{URL}?sesion=x")
