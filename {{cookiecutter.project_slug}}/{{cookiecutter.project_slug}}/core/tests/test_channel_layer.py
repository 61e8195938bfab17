"""The channel layer on real Redis servers: groups, direct delivery, processes and shards."""

import asyncio
import contextlib
import warnings

import pytest
import redis
from asgiref.sync import async_to_sync

from config.layers import channel_layers

from ..channel_layer import PubSubChannelLayer


def make_layer(*urls: str, **options) -> PubSubChannelLayer:
    """A layer as one server process has it (two of them stand for two processes)."""
    hosts = channel_layers(",".join(urls))["default"]["CONFIG"]["hosts"]
    return PubSubChannelLayer(hosts=hosts, **options)


async def receive(layer: PubSubChannelLayer, channel: str) -> dict:
    return await asyncio.wait_for(layer.receive(channel), 5)


@pytest.fixture
def url(redis_url: str) -> str:
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


async def test_a_group_message_reaches_every_member_in_every_process_once_in_order(url):
    """One publish: members on two processes get each message once, in the order sent."""
    here, there = make_layer(url), make_layer(url)
    members = [(here, await here.new_channel()) for _ in range(3)]
    members += [(there, await there.new_channel()) for _ in range(2)]
    for layer, channel in members:
        await layer.group_add("room", channel)
    outsider = await here.new_channel()
    for n in range(20):
        await (here if n % 2 else there).group_send("room", {"type": "chat.message", "n": n})
    for layer, channel in members:
        assert [(await receive(layer, channel))["n"] for _ in range(20)] == list(range(20))
    assert not here.here().mailboxes[outsider].messages
    await here.flush()
    await there.flush()


async def test_a_join_is_complete_when_group_add_returns(url):
    """A message sent by another process right after group_add is never missed."""
    sender = make_layer(url)
    for n in range(30):
        joiner = make_layer(url)
        channel = await joiner.new_channel()
        await joiner.group_add(f"room-{n}", channel)
        await sender.group_send(f"room-{n}", {"type": "x", "n": n})
        assert (await receive(joiner, channel))["n"] == n
        await joiner.flush()
    await sender.flush()


async def test_direct_handlers_take_their_events_and_a_failing_one_harms_no_one(url):
    """Registered event types go to the handler at once; others queue; errors stay local."""
    layer = make_layer(url)
    seen: list[dict] = []
    fast, broken, plain = [await layer.new_channel() for _ in range(3)]
    layer.deliver_directly(fast, {"chat.message": seen.append})
    layer.deliver_directly(broken, {"chat.message": lambda event: 1 / 0})
    for channel in (fast, broken, plain):
        await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "chat.message", "text": "hi"})
    await layer.group_send("room", {"type": "presence.diff", "joins": []})
    assert (await receive(layer, plain))["text"] == "hi"
    assert (await receive(layer, fast))["type"] == "presence.diff"
    assert seen == [{"type": "chat.message", "text": "hi"}]
    assert (await receive(layer, broken))["type"] == "presence.diff"
    await layer.flush()


async def test_a_full_queue_drops_for_its_channel_only(url):
    """Past ``capacity`` a member's messages are dropped and counted; the others get theirs."""
    layer = make_layer(url, capacity=3)
    stuck, reader = await layer.new_channel(), await layer.new_channel()
    for channel in (stuck, reader):
        await layer.group_add("room", channel)
    for n in range(5):
        await layer.group_send("room", {"type": "x", "n": n})
        assert (await receive(layer, reader))["n"] == n
    assert [m["n"] for m in layer.here().mailboxes[stuck].messages] == [0, 1, 2]
    assert layer.here().dropped == 2
    await layer.flush()


async def test_a_forgotten_channel_leaves_its_groups_and_a_timed_out_receive_does_not(url):
    """forget() (its consumer ended) unsubscribes the process; a receive timing out keeps all."""
    layer = make_layer(url)
    client = redis.Redis.from_url(url)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    name = layer.here().group_channel("room")
    assert dict(client.pubsub_numsub(name)) == {name.encode(): 1}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.05)
    await layer.group_send("room", {"type": "still here"})
    assert (await receive(layer, channel))["type"] == "still here"
    await layer.forget(channel)
    assert channel not in layer.here().mailboxes
    for _ in range(100):
        if dict(client.pubsub_numsub(name)) == {name.encode(): 0}:
            break
        await asyncio.sleep(0.02)
    assert dict(client.pubsub_numsub(name)) == {name.encode(): 0}
    await layer.group_send("room", {"type": "ping"})  # reaches no one, raises nothing
    await layer.flush()


async def test_send_reaches_a_channel_of_another_process(url):
    """channel_layer.send to a consumer on another process goes through that process's inbox."""
    here, there = make_layer(url), make_layer(url)
    channel = await there.new_channel()
    await here.send(channel, {"type": "direct", "text": "for you"})
    assert (await receive(there, channel))["text"] == "for you"
    await here.flush()
    await there.flush()


async def test_databases_of_one_server_do_not_hear_each_other(redis_server):
    """Pub/sub ignores the database number: the layer's names carry it."""
    zero, one = make_layer(f"{redis_server}/0"), make_layer(f"{redis_server}/1")
    heard_on_one = await one.new_channel()
    await one.group_add("room", heard_on_one)
    heard_on_zero = await zero.new_channel()
    await zero.group_add("room", heard_on_zero)
    await zero.group_send("room", {"type": "x", "db": 0})
    assert (await receive(zero, heard_on_zero))["db"] == 0
    await one.group_send("room", {"type": "x", "db": 1})
    assert (await receive(one, heard_on_one))["db"] == 1
    await zero.flush()
    await one.flush()


async def test_groups_are_spread_over_shards_and_delivered_from_each(url, second_redis):
    """With two Redis hosts each group lives on one, chosen by its name, the same everywhere."""
    redis.Redis.from_url(second_redis).flushdb()
    here, there = make_layer(url, second_redis), make_layer(url, second_redis)
    groups = [f"room-{n}" for n in range(12)]
    shards_used = {here.here().shard(here.here().group_channel(g)).client for g in groups}
    assert len(shards_used) == 2
    channels = {}
    for group in groups:
        channels[group] = await there.new_channel()
        await there.group_add(group, channels[group])
    for group in groups:
        await here.group_send(group, {"type": "x", "group": group})
    for group in groups:
        assert (await receive(there, channels[group]))["group"] == group
    for server in (url, second_redis):
        # Each server carries only the subscriptions of its own groups.
        names = redis.Redis.from_url(server).pubsub_channels(b"*:group:*")
        assert 0 < len(names) < len(groups)
    await here.flush()
    await there.flush()


def test_group_send_from_synchronous_code_leaves_no_connection_open(url):
    """async_to_sync runs each call on a loop of its own; the layer closes its connections."""
    layer = make_layer(url)
    client = redis.Redis.from_url(url)
    before = len(client.client_list())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for n in range(10):
            async_to_sync(layer.group_send)("room", {"type": "x", "n": n})
    assert len(client.client_list()) == before
    assert not layer.loops


async def test_a_sentinel_host_finds_the_master_and_carries_groups(sentinel, second_redis):
    """A host given as Sentinel addresses and a master name works like a URL."""
    here, there = PubSubChannelLayer(hosts=[sentinel]), PubSubChannelLayer(hosts=[sentinel])
    channel = await there.new_channel()
    await there.group_add("room", channel)
    await here.group_send("room", {"type": "x", "via": "sentinel"})
    assert (await receive(there, channel))["via"] == "sentinel"
    name = there.here().group_channel("room")
    # The subscription is on the master the Sentinel names: the second Redis.
    assert dict(redis.Redis.from_url(second_redis).pubsub_numsub(name)) == {name.encode(): 1}
    await here.flush()
    await there.flush()


async def test_groups_carry_messages_again_after_redis_restarts(restartable_redis):
    """The subscription reconnects and subscribes again by itself: no member has to rejoin."""
    url = f"{restartable_redis.url}/0"
    sender, members = make_layer(url), make_layer(url)
    channel = await members.new_channel()
    await members.group_add("room", channel)
    restartable_redis.stop()
    restartable_redis.start()
    # Published while the subscription is still down, a message reaches no one (the
    # members catch up on layer.resubscribed): send until one arrives, within the
    # reader's backoff.
    received = None
    for n in range(100):
        with contextlib.suppress(redis.ConnectionError, ConnectionError):
            await sender.group_send("room", {"type": "x", "n": n})
        try:
            received = await asyncio.wait_for(members.receive(channel), 0.2)
            if received["type"] == "x":
                break
        except TimeoutError:
            continue
    assert received is not None and received["type"] == "x"
    await sender.flush()
    await members.flush()


async def test_members_hear_when_a_lost_subscription_is_back(restartable_redis):
    """After a restart, each member of each group gets layer.resubscribed once Redis has
    confirmed the group again: from then on nothing published is missed."""
    layer = make_layer(f"{restartable_redis.url}/0")
    channels = [await layer.new_channel() for _ in range(2)]
    for channel in channels:
        await layer.group_add("room", channel)
    await layer.group_add("other", channels[0])
    restartable_redis.stop()
    restartable_redis.start()
    heard = [await asyncio.wait_for(layer.receive(channels[0]), 20) for _ in range(2)]
    assert sorted(e["group"] for e in heard) == ["other", "room"]
    assert {e["type"] for e in heard} == {"layer.resubscribed"}
    assert (await asyncio.wait_for(layer.receive(channels[1]), 20))["group"] == "room"
    await layer.group_send("room", {"type": "after"})
    assert (await receive(layer, channels[1]))["type"] == "after"
    await layer.flush()


async def test_a_malformed_publish_is_dropped_and_the_group_keeps_delivering(url):
    """Anyone who can reach Redis can publish: garbage must not stop the shard's reader."""
    layer = make_layer(url)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    name = layer.here().group_channel("room")
    client = redis.Redis.from_url(url)
    for garbage in (b"\xc1", b"\x93\x01\x02\x03", b"not msgpack at all"):
        client.publish(name, garbage)
    await layer.group_send("room", {"type": "after garbage"})
    assert (await receive(layer, channel))["type"] == "after garbage"
    await layer.flush()


async def test_a_join_that_failed_while_redis_was_down_works_once_it_is_back(restartable_redis):
    layer = make_layer(f"{restartable_redis.url}/0")
    channel = await layer.new_channel()
    restartable_redis.stop()
    with pytest.raises((redis.RedisError, OSError, TimeoutError)):
        await layer.group_add("room", channel)
    restartable_redis.start()
    # A join refused while the subscription's reader is still reconnecting fails fast;
    # the client tries again, as here.
    for _ in range(50):
        try:
            await layer.group_add("room", channel)
            break
        except (redis.RedisError, OSError, TimeoutError):
            await asyncio.sleep(0.1)
    await layer.group_send("room", {"type": "back"})
    assert (await receive(layer, channel))["type"] == "back"
    await layer.flush()


async def test_a_burst_past_the_pool_waits_for_a_connection_instead_of_failing(url):
    """pool_timeout: 300 commands at once on 5 connections all succeed; redis-py's own
    pool fails them (the storm that once lost presence leaves)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from ..redis_hosts import redis_client

    waiting = redis_client({"address": url, "max_connections": 5, "pool_timeout": 5})
    assert await asyncio.gather(*(waiting.incr("burst") for _ in range(300)))
    assert int(await waiting.get("burst")) == 300
    failing = redis_client({"address": url, "max_connections": 5})
    results = await asyncio.gather(
        *(failing.incr("burst") for _ in range(300)), return_exceptions=True
    )
    assert any(isinstance(r, RedisConnectionError) for r in results)
    await waiting.aclose()
    await failing.aclose()
