from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from recon_assets.domain.records import minor_column, minor_value

CURRENCIES = ("USD", "JPY", "KWD", "CLF", "XYZ")


def test_a_column_is_converted_exactly_and_the_values_at_fault_are_named():
    values = [Decimal("12.50"), "1.250", None, Decimal("12.505"), "NaN", "1E+2", "99999999999999999999", "-0.01",
              "abc", "9223372036854775807", "-9223372036854775808"]  # fmt: skip
    currencies = ["USD", "KWD", "USD", "USD", "USD", "JPY", "USD", "USD", "EUR", "JPY", "JPY"]
    minor, refused = minor_column(values, currencies)
    assert minor.tolist() == [1250, 1250, 0, 0, 0, 100, 0, -1, 0, 2**63 - 1, 0]
    assert sorted(refused) == [3, 4, 6, 8, 10]
    assert "more decimals than USD allows" in refused[3] and "bigint" in refused[10]


def test_a_value_beyond_38_decimals_is_refused_not_read_as_zero():  # Arrow's decimal cast truncates it to 0
    minor, refused = minor_column(["6.89735393721735216391E-19", "0.000", "-0E+3", "1" + "0" * 3], ["JPY"] * 4)
    assert minor.tolist() == [0, 0, 0, 1000]
    assert list(refused) == [0] and "more decimals than JPY allows" in refused[0]


amounts = st.one_of(
    st.none(),
    st.integers(0, 4).flatmap(lambda places: st.decimals(allow_nan=False, allow_infinity=False, places=places)),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20).map(str),
    st.text(max_size=6),
)


@given(st.lists(st.tuples(amounts, st.sampled_from(CURRENCIES)), max_size=40))
def test_a_column_converts_as_its_values_do_one_by_one(rows):  # minor_value: to_minor, and the bigint bound
    values, currencies = [v for v, _ in rows], [c for _, c in rows]
    minor, refused = minor_column(values, currencies)
    expected = [minor_value(v, c) for v, c in rows]
    assert minor.tolist() == [amount for amount, _ in expected]
    assert set(refused) == {i for i, (_, reason) in enumerate(expected) if reason}
