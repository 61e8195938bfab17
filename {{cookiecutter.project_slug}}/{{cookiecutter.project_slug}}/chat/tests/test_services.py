"""Room names, group names and message sequence numbers."""

import pytest
from channels.layers import BaseChannelLayer

from .. import services


@pytest.mark.parametrize(
    "name", ["lobby", "café", "two words", "聊天", "x" * 100, "a.b", "emoji 🎉", "UPPER-lower_1"]
)
def test_every_valid_room_maps_to_a_valid_group_name(name):
    """It maps every accepted room name to a name the channel layer accepts."""
    group = services.room_group_name(name=services.room_name_validate(name=name))
    assert BaseChannelLayer().require_valid_group_name(group)


def test_distinct_rooms_get_distinct_groups():
    """It never maps two room names to one group."""
    names = ["lobby", "Lobby", "h", "café", "cafe", "a.b", "a_b", "x" * 80, "x" * 81]
    groups = {services.room_group_name(name=n) for n in names}
    assert len(groups) == len(names)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 101, "longer than 100"),
        (" lead", "white space"),
        ("bell\x07", "control"),
        ("a/b", '"/"'),
    ],
)
def test_bad_room_names_are_refused_with_the_reason(name, problem):
    """It refuses an unusable room name and says why."""
    with pytest.raises(services.InvalidRoomName, match=problem):
        services.room_name_validate(name=name)


def test_room_names_are_normalised():
    """It treats the composed and decomposed spellings of a name as one room."""
    assert services.room_name_validate(name="cafe\u0301") == "café"


@pytest.mark.django_db
def test_sequence_numbers_increase_by_one_per_room(django_user_model):
    """It numbers each room's messages 1, 2, 3 independently of other rooms."""
    author = django_user_model.objects.create_user(username="alice", password="pw")
    one = services.room_get_or_create(name="one")
    two = services.room_get_or_create(name="two")
    seqs = [
        services.message_create(room=room, author=author, body="hi")[0].seq
        for room in (one, one, two, one, two)
    ]
    assert seqs == [1, 2, 1, 3, 2]
