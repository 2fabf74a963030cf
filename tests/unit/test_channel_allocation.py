"""What each channel may sell (docs/inventory.md, "Channel availability")."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.availability import ChannelFigure, ChannelRules, sellable

STOCK = {"DC-EAST": 60, "DC-WEST": 40, "STORE-1": -5}


def test_one_channel_sells_the_whole_positive_pool():
    figure = sellable(STOCK, ChannelRules("web"), [])
    assert figure == ChannelFigure(
        channel="web", sellable=100, by_location={"DC-EAST": 60, "DC-WEST": 40, "STORE-1": 0}
    )


def test_only_the_channels_locations_feed_it():
    figure = sellable(STOCK, ChannelRules("amazon", locations=("DC-WEST", "DC-NORTH")), [])
    assert figure.sellable == 40 and figure.by_location == {"DC-WEST": 40, "DC-NORTH": 0}


def test_share_is_floored_on_the_decimal_written():
    # 100 x 0.29 is 28.999999999999996 in floating point; the rule means 29
    assert sellable({"DC": 100}, ChannelRules("b2b", share=0.29), []).sellable == 29
    assert sellable({"DC": 7}, ChannelRules("b2b", share=0.5), []).sellable == 3
    assert sellable({"DC": 7}, ChannelRules("b2b", share=0), []).sellable == 0


def test_buffer_and_safety_stock_hold_units_back_down_to_zero():
    rules = ChannelRules("web", share=0.5, buffer=3, safety_stock=2)
    assert sellable({"DC": 40}, rules, []).sellable == 15  # floor(40 x 0.5) - 3 - 2
    assert sellable({"DC": 8}, rules, []).sellable == 0


def test_other_channels_holds_come_off_the_free_pool():
    web = ChannelRules("web", buffer=5)
    wholesale = ChannelRules("wholesale", hold=30)
    assert sellable({"DC": 100}, web, [web, wholesale]).sellable == 65  # 100 - 30 - 5
    # the holder keeps its ring-fenced units and shares the free pool like anyone else
    assert sellable({"DC": 100}, wholesale, [web, wholesale]).sellable == 100


def test_a_hold_is_capped_by_the_pool_and_never_sells_more_than_the_pool():
    held = ChannelRules("marketplace", hold=50, share=0.5)
    assert sellable({"DC": 20}, held, []).sellable == 20  # min(20, min(50, 20) + 10)
    assert sellable({"DC": 80}, held, []).sellable == 80  # min(80, 50 + 40)
    assert sellable({"DC": 200}, held, []).sellable == 150


def test_holds_of_channels_on_other_locations_do_not_count():
    east = ChannelRules("east-shop", locations=("DC-EAST",))
    west_hold = ChannelRules("west-b2b", locations=("DC-WEST",), hold=35)
    everywhere_hold = ChannelRules("key-account", hold=10)
    assert sellable(STOCK, east, [west_hold]).sellable == 60
    assert sellable(STOCK, east, [west_hold, everywhere_hold]).sellable == 50


def test_holds_larger_than_the_pool_leave_nothing_free():
    web = ChannelRules("web")
    assert sellable({"DC": 10}, web, [ChannelRules("b2b", hold=25)]).sellable == 0


def test_per_location_figures_use_the_same_rule_without_holds():
    rules = ChannelRules("shopify", share=0.5, buffer=2, hold=10)
    others = [ChannelRules("b2b", hold=50)]
    figure = sellable({"DC-EAST": 60, "DC-WEST": 3}, rules, others)
    assert figure.by_location == {"DC-EAST": 28, "DC-WEST": 0}
    assert figure.sellable == 10 + 4  # min(10, 63) + floor((63 - 50) x 0.5) - 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"share": 1.5}, "share must be a number from 0 to 1"),
        ({"share": -0.1}, "share must be a number from 0 to 1"),
        ({"share": float("nan")}, "share must be a number from 0 to 1"),
        ({"share": True}, "share must be a number from 0 to 1"),
        ({"buffer": -1}, "buffer must be a non-negative integer"),
        ({"safety_stock": 2.5}, "safety_stock must be a non-negative integer"),
        ({"hold": -3}, "hold must be a non-negative integer"),
        ({"locations": "DC-EAST"}, "locations must be a sequence"),
    ],
)
def test_rules_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ChannelRules("web", **kwargs)


def test_availability_must_be_integers():
    with pytest.raises(ValueError, match="available at DC must be an integer"):
        sellable({"DC": 1.5}, ChannelRules("web"), [])


def test_locations_given_as_a_list_are_kept_as_a_tuple_without_repeats():
    assert ChannelRules("web", locations=["A", "B", "A"]).locations == ("A", "B")


rules_strategy = st.builds(
    ChannelRules,
    channel=st.sampled_from(["web", "b2b", "amazon"]),
    locations=st.lists(st.sampled_from(["A", "B", "C"]), max_size=3).map(tuple),
    share=st.floats(0, 1),
    buffer=st.integers(0, 50),
    safety_stock=st.integers(0, 50),
    hold=st.integers(0, 200),
)


@settings(max_examples=300, deadline=None)
@given(
    stock=st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(-100, 1000)),
    channel=rules_strategy,
    others=st.lists(rules_strategy, max_size=4),
)
def test_a_channel_never_sells_more_than_its_pool_nor_a_location_more_than_it_has(stock, channel, others):
    figure = sellable(stock, channel, others)
    pool = sum(max(0, stock.get(code, 0)) for code in channel.locations or stock)
    assert 0 <= figure.sellable <= pool
    for code, quantity in figure.by_location.items():
        assert 0 <= quantity <= max(0, stock.get(code, 0))
    # more stock never sells less
    more = {code: quantity + 10 for code, quantity in stock.items()}
    assert sellable(more, channel, others).sellable >= figure.sellable
