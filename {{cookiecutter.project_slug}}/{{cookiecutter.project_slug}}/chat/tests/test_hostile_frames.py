"""Hostile client frames: every one gets an answer, and the socket and its room carry on."""

import itertools
import json

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.fixtures import communicator, login

from ...core.protocol import FRAME_MAX_DEPTH, FrameError, frame_parse

# Characters databases and UTF-8 refuse, mixed into arbitrary text.
UNSTORABLE = ["\x00", "\ud800", "\udfff", "\udbff"]
texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(UNSTORABLE)), max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
posts = st.fixed_dictionaries({"message": texts}, optional={"type": texts, "ref": json_values})
# What the article's client never sends: nesting past any parser, lone surrogates and NUL
# in JSON escapes, binary-looking text, huge numbers, the wrong shapes.
KNOWN_HOSTILE = [
    "[" * 100_000,
    '{"message":' * 50_000,
    json.dumps({"message": "x\ud800y"}),
    json.dumps({"message": "nul \x00 here"}),
    json.dumps({"mess\udc00age": "key"}),
    '{"message": "' + "\\" * 9 + '"}',
    "1" * 5000,
    '{"message": 1e999}',
    '{"message": ["a"]}',
    "null",
    "",
    "\ufeff{}",
]
frames = st.one_of(
    st.sampled_from(KNOWN_HOSTILE),
    texts,
    json_values.map(json.dumps),
    posts.map(json.dumps),
)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 100_000, "frame_too_long"),
        ("[" * 60_000, "frame_too_deep"),
        ('{"a":' * (FRAME_MAX_DEPTH + 1) + "1" + "}" * (FRAME_MAX_DEPTH + 1), "frame_too_deep"),
        (json.dumps({"message": "x\ud800y"}), "invalid_text"),
        (json.dumps({"message": "a\x00b"}), "invalid_text"),
        (json.dumps({"\udfffkey": "v"}), "invalid_text"),
        (json.dumps([{"deep": ["\ud800"]}]), "invalid_frame"),
        ("x" * 70_000, "frame_too_long"),
        ("1" * 5000, "invalid_json"),
    ],
)
def test_frames_are_refused_before_they_reach_anything(text, code):
    """It names what is wrong with each kind of frame it cannot take."""
    with pytest.raises(FrameError) as refused:
        frame_parse(text, max_length=65_536)
    assert refused.value.code == code


def test_brackets_inside_strings_are_not_nesting():
    """A message full of brackets is a message, not a deep frame."""
    text = json.dumps({"message": "[{" * 1000})
    assert frame_parse(text, max_length=65_536) == {"message": "[{" * 1000}


def test_frames_at_the_depth_limit_parse():
    """It parses a frame nested exactly as deep as allowed."""
    text = "[" * (FRAME_MAX_DEPTH - 1) + "{}" + "]" * (FRAME_MAX_DEPTH - 1)
    with pytest.raises(FrameError) as refused:  # parsed, then refused for its shape only
        frame_parse(text, max_length=65_536)
    assert refused.value.code == "invalid_frame"


def test_the_longest_valid_post_fits_the_frame_limit():
    """A post of the longest message, every character escaped, is under the limit."""
    text = json.dumps({"message": "\U0001f600" * settings.CHAT_MESSAGE_MAX_LENGTH})
    assert len(text) <= settings.WEBSOCKET_FRAME_MAX_LENGTH
    assert frame_parse(text, max_length=settings.WEBSOCKET_FRAME_MAX_LENGTH)["message"]


@given(frames)
def test_any_text_parses_or_is_refused_clearly(text):
    """Whatever the text, the parser returns an object or raises FrameError."""
    try:
        data = frame_parse(text, max_length=65_536)
    except FrameError as refused:
        assert refused.code
    else:
        assert isinstance(data, dict)
        json.dumps(data, ensure_ascii=False).encode()  # storable and sendable back


@pytest.fixture
def logins(make_user):
    """Two users of one room, made once for all the examples of a test."""
    return login(make_user("mallory")), login(make_user("member"))


# Every example chats in a room of its own, without the history of the others.
rooms = itertools.count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("layer")
@hypothesis_settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sent=st.lists(frames, min_size=1, max_size=4))
async def test_no_frame_ends_a_socket_or_stops_its_room(logins, sent):
    """Each frame gets its answers (an error frame; or for a post its message, and its
    ack when it has a ref), never a close, and the room still delivers a member's next
    message to the others."""
    path = f"/ws/chat/hostile-{next(rooms)}/"
    sender, member = (communicator(path, login=credentials) for credentials in logins)
    for client in (sender, member):
        assert (await client.connect(timeout=10))[0]
    refs: set[str] = set()
    for text in sent:
        # As the server hands it over (the communicator's send_to refuses empty text).
        await sender.send_input({"type": "websocket.receive", "text": text})
        first = await sender.receive_json_from(timeout=10)
        if first["type"] == "error":
            assert first["code"] != "internal_error", first
            continue
        ref = json.loads(text).get("ref") or ""  # a post was taken: its frame is sound
        expected = {"chat.ack"} if ref else set()
        if not ref or ref not in refs:  # not a retry: stored and sent to the room
            expected.add("chat.message")
        refs.add(ref)
        answers = [first] + [
            await sender.receive_json_from(timeout=10) for _ in range(len(expected) - 1)
        ]
        assert {a["type"] for a in answers} == expected, answers
        message = [a for a in answers if a["type"] == "chat.message"]
        if message:
            assert (await member.receive_json_from(timeout=10)) == message[0]
    await sender.send_to(text_data=json.dumps({"message": "still here"}))
    for client in (sender, member):
        assert (await client.receive_json_from(timeout=10))["message"] == "still here"
    await sender.disconnect()
    await member.disconnect()
