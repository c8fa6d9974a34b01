"""Money as Coko handles it everywhere: integer minor units with an ISO 4217 currency.

Plain Python (a domain's contracts may import it). XOF, the CFA franc of Senegal, Côte
d'Ivoire, Mali, Burkina Faso …, has no minor unit: 150 FCFA is ``150``; 2,50 € is ``250``.
Never a float for an amount; a conversion rounds once, to the nearest minor unit.
"""

from __future__ import annotations

from decimal import Decimal

#: The currencies Coko prices in: XOF first, EUR and USD for readers abroad.
CURRENCIES = ("XOF", "EUR", "USD")
#: ISO 4217 minor-unit exponent of each, and of XAF (the CFA franc of Central Africa, which
#: providers such as Orange Money use in Cameroon): the CFA francs have no minor unit.
CURRENCY_EXPONENT = {"XOF": 0, "XAF": 0, "EUR": 2, "USD": 2}
#: XOF per euro: the fixed parity of the CFA franc.
EUR_XOF = 655.957


def major_units(*, amount: int, currency: str) -> Decimal:
    """``amount`` minor units as a decimal of major units (``250 EUR`` → ``Decimal("2.50")``)."""
    exponent = CURRENCY_EXPONENT[currency]
    return Decimal(amount).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


_SYMBOL = {"XOF": "FCFA", "XAF": "FCFA", "EUR": "€", "USD": "$"}


def display(*, amount: int, currency: str, language: str) -> str:
    """``amount`` minor units as a reader reads it: ``1 500 FCFA``, ``2,50 €`` (French: narrow
    no-break spaces between thousands, a no-break space before the symbol), ``1,500 FCFA``,
    ``€2.50`` (English)."""
    value = major_units(amount=amount, currency=currency)
    whole, _, cents = f"{value:.{CURRENCY_EXPONENT[currency]}f}".partition(".")
    sign, whole = ("-", whole[1:]) if whole.startswith("-") else ("", whole)
    groups = [whole[max(0, i - 3):i] for i in range(len(whole), 0, -3)][::-1]
    symbol = _SYMBOL.get(currency, currency)
    if language == "fr":
        return f"{sign}{chr(0x202F).join(groups)}{',' + cents if cents else ''}\u00a0{symbol}"
    number = ",".join(groups) + (f".{cents}" if cents else "")
    return f"{sign}{symbol}{number}" if currency in {"EUR", "USD"} else f"{sign}{number} {symbol}"


def in_xof(*, amount: int, currency: str, usd_xof: float) -> int:
    """The XOF value of ``amount`` minor units: EUR at the fixed parity, USD at ``usd_xof``
    (XOF per dollar, a rate the caller configures)."""
    if currency == "XOF":
        return amount
    rate = EUR_XOF if currency == "EUR" else usd_xof
    return round(amount * rate / 10 ** CURRENCY_EXPONENT[currency])


__all__ = ["CURRENCIES", "CURRENCY_EXPONENT", "EUR_XOF", "display", "in_xof", "major_units"]
