"""Money as integer minor units with an ISO 4217 currency, and the one allocation function."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext

# ISO 4217 minor-unit exponents for the currencies Ordertrail accepts. A currency missing here is
# rejected rather than guessed, because a wrong exponent scales every amount by a power of ten.
MINOR_UNIT_EXPONENT: dict[str, int] = {
    "AED": 2,
    "ARS": 2,
    "AUD": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "CZK": 2,
    "DKK": 2,
    "EGP": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "MYR": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PHP": 2,
    "PLN": 2,
    "QAR": 2,
    "RON": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TND": 3,
    "TRY": 2,
    "TWD": 2,
    "UAH": 2,
    "USD": 2,
    "VND": 0,
    "ZAR": 2,
}


# Digits an exact decimal conversion may use; far beyond any real amount, bounded all the same.
DECIMAL_DIGITS_MAX = 60


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


class UnknownCurrency(MoneyError):
    def __init__(self, currency: str) -> None:
        super().__init__(f"{currency!r} is not an ISO 4217 currency Ordertrail knows")
        self.currency = currency


class CurrencyMismatch(MoneyError):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} with {right}")


def exponent_of(currency: str) -> int:
    """Return the number of minor-unit digits of a currency, or raise UnknownCurrency."""
    try:
        return MINOR_UNIT_EXPONENT[currency]
    except KeyError:
        raise UnknownCurrency(currency) from None


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: an integer count of minor units (cents, pence, yen) and a currency."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount_minor) is not int:
            raise MoneyError(f"amount_minor must be an int, got {type(self.amount_minor).__name__}")
        exponent_of(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __str__(self) -> str:
        exponent = exponent_of(self.currency)
        value = Decimal(self.amount_minor).scaleb(-exponent)
        return f"{value:.{exponent}f} {self.currency}"


def minor_units_from_decimal(*, amount: str, currency: str) -> int:
    """Convert a decimal string ("12.34") to exact minor units, refusing sub-minor precision.

    Refusing rather than rounding is deliberate: a price with more digits than the currency has
    is a data error upstream, and silently rounding it would create a difference nobody can trace.
    """
    exponent = exponent_of(currency)
    # Exact arithmetic only: a context wide enough for any amount we accept, with Inexact
    # trapped, so nothing is ever rounded silently.
    with localcontext(Context(prec=DECIMAL_DIGITS_MAX, traps=[Inexact, InvalidOperation])):
        try:
            value = Decimal(amount)
            if not value.is_finite():
                raise MoneyError(f"{amount!r} is not a finite amount")
            scaled = value.scaleb(exponent)
        except (InvalidOperation, Inexact):
            raise MoneyError(f"{amount!r} is not an exact decimal amount") from None
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than {exponent} decimal places for {currency}")
    return int(scaled)


def allocate(*, total_minor: int, weights: list[int]) -> list[int]:
    """Split an integer total in proportion to non-negative integer weights, summing exactly.

    Rounding rule (stated once, used everywhere): each part gets the floor of its exact share;
    the leftover units go one each to the parts with the largest fractional remainders; ties go
    to the earlier part. Negative totals are split as the negation of the positive split, so a
    reversal mirrors its original to the unit.
    """
    if not weights:
        raise MoneyError("cannot allocate over no weights")
    if any(w < 0 for w in weights):
        raise MoneyError("allocation weights must be non-negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("allocation weights sum to zero")
    if total_minor < 0:
        return [-part for part in allocate(total_minor=-total_minor, weights=weights)]
    floors = [total_minor * w // weight_sum for w in weights]
    remainders = [total_minor * w % weight_sum for w in weights]
    leftover = total_minor - sum(floors)
    # Sort by remainder descending, then by position ascending (ties to the earlier line).
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    if sum(floors) != total_minor:
        raise MoneyError("allocation lost units; this is a bug")
    return floors
