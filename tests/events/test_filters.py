"""The filters' rules on payloads as Discord shapes them."""

from __future__ import annotations

from gateway.events.filters import Filter, by_bot, guild_of


def test_the_guild_of_an_event() -> None:
    assert guild_of("GUILD_CREATE", {"id": "5", "name": "League"}) == "5"
    assert guild_of("MESSAGE_CREATE", {"guild_id": "6"}) == "6"
    assert guild_of("APPLICATION_AUTHORIZED", {"guild": {"id": "7"}}) == "7"
    assert guild_of("USER_UPDATE", {"id": "8"}) is None
    assert guild_of("ENTITLEMENT_CREATE", None) is None


def test_bots_this_bot_and_people() -> None:
    assert by_bot({"author": {"id": "1", "bot": True}}, "99")
    assert by_bot({"author": {"id": "99"}}, "99")  # this bot, even without the flag
    assert not by_bot({"author": {"id": "2"}}, "99")
    assert by_bot({"member": {"user": {"id": "3", "bot": True}}, "user_id": "3"}, "99")
    assert by_bot({"user_id": "99"}, "99")  # a reaction removed by this bot
    assert not by_bot({"id": "4", "channel_id": "5"}, "99")  # MESSAGE_DELETE: no author


def test_channels_prefix_and_voice_leaves() -> None:
    rule = Filter(channels=frozenset({"10"}), content_prefix="!")
    assert rule.passes("MESSAGE_CREATE", {"channel_id": "10", "content": "!pick"}, None)
    assert not rule.passes("MESSAGE_CREATE", {"channel_id": "11", "content": "!pick"}, None)
    assert not rule.passes("MESSAGE_UPDATE", {"channel_id": "10"}, None)  # no content
    voice = Filter(channels=frozenset({"10"}))
    assert voice.passes("VOICE_STATE_UPDATE", {"channel_id": None, "user_id": "1"}, None)
    assert not voice.passes("VOICE_STATE_UPDATE", {"channel_id": "12"}, None)
    assert not voice.passes("GUILD_MEMBER_ADD", {"guild_id": "1"}, None)  # has no channel
    assert Filter(bots=True).passes("MESSAGE_CREATE", {"author": {"bot": True}}, None)
    assert not Filter().passes("MESSAGE_CREATE", {"author": {"bot": True}}, None)
