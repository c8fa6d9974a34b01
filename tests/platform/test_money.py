"""Money: integer minor units, XOF without a minor unit, conversions rounded once."""

from decimal import Decimal

import pytest

from coko.platform import money


@pytest.mark.parametrize(("amount", "currency", "major"), [
    (150, "XOF", Decimal("150")), (250, "EUR", Decimal("2.50")), (1999, "USD", Decimal("19.99")),
])
def test_minor_units_read_as_major_units(amount, currency, major):
    assert money.major_units(amount=amount, currency=currency) == major


def test_prices_convert_to_xof_at_the_fixed_euro_parity_and_the_configured_dollar_rate():
    assert money.in_xof(amount=500, currency="XOF", usd_xof=600) == 500
    assert money.in_xof(amount=100, currency="EUR", usd_xof=600) == 656  # 1 € = 655.957 FCFA
    assert money.in_xof(amount=250, currency="USD", usd_xof=600) == 1500


def test_an_unknown_currency_is_refused():
    with pytest.raises(KeyError):
        money.major_units(amount=1, currency="GBP")
