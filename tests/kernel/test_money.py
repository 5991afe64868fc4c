"""Money: integer cents, arithmetic without floats, allocation that loses no cent, parsing and
formatting, the column type and the template filter."""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from careplane.kernel.db import Base, Database
from careplane.kernel.money import ZERO, Money, MoneyParseError, MoneyType
from careplane.kernel.web import templates

cents = st.integers(min_value=-(10**15), max_value=10**15)
ratios = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any)


# ---------------------------------------------------------------- the value


def test_money_is_whole_cents_only():
    assert Money(1234).cents == 1234
    for bad in (12.34, Decimal("12.34"), Fraction(1, 2), "1234", True, None):
        with pytest.raises(TypeError):
            Money(bad)  # type: ignore[arg-type]


def test_money_is_frozen_and_hashable():
    amount = Money(500)
    with pytest.raises(AttributeError):
        amount.cents = 600  # type: ignore[misc]
    assert {Money(500), Money(500), Money(1)} == {Money(500), Money(1)}


def test_makers():
    assert Money.dollars(12) == Money(1200) and Money.dollars(-3) == Money(-300)
    assert Money.zero() == ZERO == Money(0)
    with pytest.raises(TypeError):
        Money.dollars(1.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- arithmetic


def test_add_subtract_negate():
    assert Money(150) + Money(275) == Money(425)
    assert Money(150) - Money(275) == Money(-125)
    assert -Money(5) == Money(-5) and +Money(5) == Money(5) and abs(Money(-5)) == Money(5)


def test_multiply_by_a_whole_number_only():
    assert Money(125) * 3 == Money(375) == 3 * Money(125)
    assert Money(125) * 0 == ZERO and Money(125) * -2 == Money(-250)
    for bad in (1.5, Decimal("2"), Fraction(1, 3), True, Money(2)):
        with pytest.raises(TypeError):
            Money(100) * bad  # type: ignore[operator]
        with pytest.raises(TypeError):
            bad * Money(100)  # type: ignore[operator]


def test_no_mixing_with_plain_numbers():
    for bad in (1, 0.5, Decimal("1.00")):
        with pytest.raises(TypeError):
            Money(100) + bad  # type: ignore[operator]
        with pytest.raises(TypeError):
            Money(100) - bad  # type: ignore[operator]
    with pytest.raises(TypeError):
        5 + Money(100)  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(100) / 2  # type: ignore[operator]


def test_sum():
    amounts = [Money(199), Money(1), Money(-50)]
    assert sum(amounts) == Money(150)
    assert sum(amounts, ZERO) == Money(150)
    assert Money.sum(amounts) == Money(150)
    assert Money.sum([]) == ZERO and sum([], ZERO) == ZERO
    with pytest.raises(TypeError):
        Money.sum([Money(1), 2])  # type: ignore[list-item]


def test_comparisons():
    assert Money(100) < Money(101) <= Money(101) < Money(1000)
    assert Money(-1) < ZERO
    assert max([Money(3), Money(30), Money(-300)]) == Money(30)
    assert sorted([Money(3), Money(-3), ZERO]) == [Money(-3), ZERO, Money(3)]
    assert Money(100) != 100 and Money(0) != 0
    with pytest.raises(TypeError):
        Money(100) < 200  # type: ignore[operator]  # noqa: B015
    assert not ZERO and Money(1) and Money(-1)


@given(cents, cents, cents)
def test_arithmetic_is_exact(a, b, c):
    x, y, z = Money(a), Money(b), Money(c)
    assert (x + y) + z == x + (y + z)
    assert x + y - y == x
    assert x * 3 == x + x + x
    assert sum([x, y, z]) == Money(a + b + c)
    assert (x < y) == (a < b)


# ---------------------------------------------------------------- allocation


def test_allocate_hands_out_the_left_over_cents_first_to_the_biggest_losses():
    assert Money(100).allocate([1, 1, 1]) == [Money(34), Money(33), Money(33)]
    assert Money(5).allocate([3, 7]) == [Money(2), Money(3)]  # 1.5 and 3.5: the tie goes to the first
    assert Money(10).allocate([1, 2]) == [Money(3), Money(7)]  # 3.33 and 6.67: the cent to the larger loss
    assert Money(-100).allocate([1, 1, 1]) == [Money(-34), Money(-33), Money(-33)]
    assert Money(5).allocate([0, 1, 1]) == [ZERO, Money(3), Money(2)]
    assert Money(7).allocate([5]) == [Money(7)]
    assert ZERO.allocate([1, 2]) == [ZERO, ZERO]


def test_split():
    assert Money(1000).split(3) == [Money(334), Money(333), Money(333)]
    assert Money(1).split(3) == [Money(1), ZERO, ZERO]
    assert Money(-2).split(4) == [Money(-1), Money(-1), ZERO, ZERO]
    for bad in (0, -1):
        with pytest.raises(ValueError):
            Money(100).split(bad)


def test_allocate_refuses_ratios_that_share_nothing():
    for bad in ([], [0, 0], [1, -1]):
        with pytest.raises(ValueError):
            Money(100).allocate(bad)
    for bad in ([0.5, 0.5], [Decimal(1)], [True, False]):
        with pytest.raises(TypeError):
            Money(100).allocate(bad)  # type: ignore[arg-type]


@given(cents, ratios)
def test_allocation_adds_back_to_the_amount_exactly(amount, weights):
    shares = Money(amount).allocate(weights)
    assert len(shares) == len(weights)
    assert sum(shares, ZERO) == Money(amount)


@given(cents, ratios)
def test_each_share_is_within_a_cent_of_its_exact_part(amount, weights):
    total = sum(weights)
    for share, weight in zip(Money(amount).allocate(weights), weights, strict=True):
        exact = Fraction(amount * weight, total)
        assert abs(share.cents - exact) < 1
        if weight == 0:
            assert share == ZERO
        # never the opposite sign of the amount
        assert share.cents * amount >= 0


@given(cents, st.integers(min_value=1, max_value=200))
def test_split_shares_differ_by_at_most_a_cent_largest_first(amount, parts):
    shares = Money(amount).split(parts)
    assert sum(shares, ZERO) == Money(amount)
    sizes = [abs(s.cents) for s in shares]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)


def test_allocation_loops_over_small_amounts_and_ratios():
    """Every amount from -300 to 300 cents over a spread of ratio lists, without hypothesis."""
    ratio_lists = [[1], [1, 1], [1, 2], [3, 7], [1, 1, 1], [0, 1], [2, 0, 5], [1] * 7, [10, 20, 30, 40], [99, 1]]
    for amount in range(-300, 301):
        for weights in ratio_lists:
            shares = Money(amount).allocate(weights)
            assert Money.sum(shares) == Money(amount), (amount, weights)


# ---------------------------------------------------------------- parsing and formatting


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.34", 1234),
        ("$1,234.50", 123450),
        ("1234.5", 123450),
        ("1,234", 123400),
        ("$1,234,567.89", 123456789),
        ("0", 0),
        ("$0.01", 1),
        (".99", 99),
        ("5.", 500),
        ("  $12.00 ", 1200),
        ("-5", -500),
        ("-$5.00", -500),
        ("$-5.00", -500),
        ("-0.01", -1),
        ("007", 700),
    ],
)
def test_parse(text, expected):
    assert Money.parse(text) == Money(expected)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Enter an amount"),
        ("   ", "Enter an amount"),
        ("$", "no digits"),
        (".", "no digits"),
        ("-", "no digits"),
        ("12.345", "more than two decimal places"),
        ("0.001", "more than two decimal places"),
        ("1.2.3", "more than one decimal point"),
        ("1,23", "groups of three"),
        ("12,34.00", "groups of three"),
        (",", "groups of three"),
        ("1234,567", "groups of three"),
        ("5-", "minus sign goes only at the start"),
        ("1-2", "minus sign goes only at the start"),
        ("--5", "two minus signs"),
        ("-$-5", "two minus signs"),
        ("abc", "not an amount of money"),
        ("1e3", "not an amount of money"),
        ("$ 5", "not an amount of money"),
        ("(5.00)", "not an amount of money"),
        ("5 USD", "not an amount of money"),
        ("€5", "not an amount of money"),
        ("١٢", "not an amount of money"),  # digits, but not ASCII ones
    ],
)
def test_parse_says_what_is_wrong(text, says):
    with pytest.raises(MoneyParseError, match=says):
        Money.parse(text)


def test_parse_errors_are_value_errors_and_take_only_text():
    assert issubclass(MoneyParseError, ValueError)
    with pytest.raises(TypeError):
        Money.parse(12.34)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "$0.00"),
        (1, "$0.01"),
        (99, "$0.99"),
        (100, "$1.00"),
        (123450, "$1,234.50"),
        (123456789, "$1,234,567.89"),
        (-500, "-$5.00"),
        (-1, "-$0.01"),
        (-123450, "-$1,234.50"),
    ],
)
def test_format(amount, shown):
    assert Money(amount).format() == shown == str(Money(amount))


@given(cents)
def test_format_parses_back(amount):
    assert Money.parse(Money(amount).format()) == Money(amount)


# ---------------------------------------------------------------- templates


def test_the_money_filter():
    page = templates.from_string("{{ a|money }}|{{ b|money }}|{{ c|money }}")
    assert page.render(a=Money(123450), b=Money(-500), c=None) == "$1,234.50|-$5.00|"
    with pytest.raises(TypeError):
        templates.from_string("{{ a|money }}").render(a=1234)


# ---------------------------------------------------------------- the column


def test_the_column_refuses_anything_but_money():
    column = MoneyType()
    assert column.process_bind_param(Money(1234), None) == 1234
    assert column.process_bind_param(None, None) is None
    assert column.process_result_value(1234, None) == Money(1234)
    assert column.process_result_value(None, None) is None
    for bad in (1234, 12.34, Decimal("12.34")):
        with pytest.raises(TypeError):
            column.process_bind_param(bad, None)
    assert column.python_type is Money


class _Probe(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = Base.type_annotation_map  # Mapped[Money] as the app's models get it


class Charge(_Probe):
    __tablename__ = f"money_probe_{uuid.uuid4().hex[:8]}"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Money]
    refund: Mapped[Money | None]


def test_money_round_trips_through_the_database_as_integer_cents(db: Database):
    raw = Table(
        Charge.__tablename__,
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("amount", Integer),
        Column("refund", Integer),
    )
    _Probe.metadata.create_all(db.engine)
    try:
        big = Money(10**15 + 7)  # ten trillion dollars and seven cents: beyond a 32-bit integer
        with Session(db.engine) as session:
            session.add_all(
                [
                    Charge(id=1, amount=Money(123450), refund=None),
                    Charge(id=2, amount=Money(-500), refund=Money(99)),
                    Charge(id=3, amount=big, refund=ZERO),
                ]
            )
            session.commit()
        with Session(db.engine) as session:
            rows = {c.id: (c.amount, c.refund) for c in session.scalars(select(Charge))}
            assert rows == {1: (Money(123450), None), 2: (Money(-500), Money(99)), 3: (big, ZERO)}
            dear = session.scalars(select(Charge.id).where(Charge.amount > Money(100)).order_by(Charge.id)).all()
            assert dear == [1, 3]
            assert all(isinstance(amount, Money) for amount, _ in rows.values())
        with db.engine.connect() as connection:  # what is stored: whole cents
            stored = connection.execute(select(raw.c.id, raw.c.amount, raw.c.refund).order_by(raw.c.id)).all()
            assert [tuple(r) for r in stored] == [(1, 123450, None), (2, -500, 99), (3, 10**15 + 7, 0)]
            with pytest.raises(Exception, match="Money"):
                connection.execute(insert(Charge.__table__).values(id=4, amount=1234))
    finally:
        _Probe.metadata.drop_all(db.engine)
