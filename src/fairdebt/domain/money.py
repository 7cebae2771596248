"""Money as whole pence.

Every amount in fairdebt is an integer number of pence. Floats cannot hold 0.10 exactly, and
Decimal invites fractions of a penny, so neither is ever stored or used in arithmetic on money.
`Pence` is an `int` subclass so that it stores in a BIGINT column and sums like an int, while
refusing the operations that would quietly turn money into a float.

Python cannot stop a float on the *left* of an operator (`0.5 * p` is evaluated by float first and
gives a float), so write the money on the left (`p * 2`), and never let a float near money at all.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

__all__ = ["Pence", "apportion", "format_pounds", "split"]

_DIGITS = frozenset("0123456789")  # str.isdigit() would accept "²" and non-Latin digits


def _refuse(op: str, other: object) -> TypeError:
    return TypeError(
        f"cannot {op} money and {type(other).__name__}: amounts are whole pence, "
        "so use an int (never a float or Decimal)"
    )


class Pence(int):
    """A whole number of pence. Negative amounts are allowed (credits, refunds, reversals)."""

    __slots__ = ()

    def __new__(cls, value: int = 0) -> Pence:
        # bool is an int, but Pence(True) is surely a mistake; operator.index refuses float,
        # Decimal, Fraction and str, so "12.50" or 12.5 can never become money by accident.
        if isinstance(value, bool):
            raise TypeError("Pence needs a whole number of pence, not a bool")
        try:
            whole = operator.index(value)
        except TypeError:
            raise TypeError(
                f"Pence needs a whole number of pence, not {type(value).__name__} {value!r}; "
                "use Pence.from_pounds('12.34') to read pounds"
            ) from None
        return super().__new__(cls, whole)

    # --- reading and writing pounds ------------------------------------------------------------

    @classmethod
    def from_pounds(cls, text: str) -> Pence:
        """Read an amount in pounds, exactly: "1234.56", "-12.3", "£1,234.56", "12", "-£12.30"."""
        if not isinstance(text, str):
            raise TypeError(f"from_pounds reads text, not {type(text).__name__}")
        s = text.strip()
        if not s:
            raise ValueError("the amount is blank")
        negative, signs = False, 0
        # Accept one sign, before or after the pound sign: "-£12.30" and "£-12.30".
        if s[0] in "+-":
            negative, signs, s = s[0] == "-", 1, s[1:]
        if s.startswith("£"):
            s = s[1:]
        if s and s[0] in "+-":
            if signs:
                raise ValueError(f"{text!r} has more than one sign")
            negative, s = s[0] == "-", s[1:]
        if not s:
            raise ValueError(f"{text!r} has no digits")
        whole, dot, frac = s.partition(".")
        if "." in frac:
            raise ValueError(f"{text!r} has more than one decimal point")
        if dot and not frac:
            raise ValueError(f"{text!r} has no digits after the decimal point")
        if not whole:
            raise ValueError(f"{text!r} has no digits before the decimal point")
        if "," in whole:
            groups = whole.split(",")
            if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
                raise ValueError(f"{text!r} has commas that do not separate thousands")
            whole = "".join(groups)
        if not set(whole) <= _DIGITS or not set(frac) <= _DIGITS:
            raise ValueError(
                f"{text!r} is not an amount in pounds; write it like 1234.56 or £1,234.56"
            )
        if len(frac) > 2:
            raise ValueError(f"{text!r} has more than 2 decimal places; amounts are whole pence")
        pence = int(whole) * 100 + int(frac.ljust(2, "0"))
        return cls(-pence if negative else pence)

    def format(self) -> str:
        """ "£1,234.56"; negative as "-£12.30"."""
        return format_pounds(self)

    def __repr__(self) -> str:
        return f"Pence({int(self)})"

    # str() stays the int's digits ("123456") on purpose: it is used for storage and CSV, where a
    # "£" string would be misread. Use format() or format_pounds() for people. (Without this,
    # str() would fall back to the repr above.)
    __str__ = int.__repr__

    # --- arithmetic that stays in pence --------------------------------------------------------

    def __add__(self, other: object) -> Pence:
        if not isinstance(other, int):
            raise _refuse("add", other)
        return Pence(int(self) + int(other))

    def __radd__(self, other: object) -> Pence:
        # sum() starts from 0, so 0 + Pence must give Pence.
        if not isinstance(other, int):
            raise _refuse("add", other)
        return Pence(int(other) + int(self))

    def __sub__(self, other: object) -> Pence:
        if not isinstance(other, int):
            raise _refuse("subtract", other)
        return Pence(int(self) - int(other))

    def __rsub__(self, other: object) -> Pence:
        if not isinstance(other, int):
            raise _refuse("subtract", other)
        return Pence(int(other) - int(self))

    def __mul__(self, other: object) -> Pence:
        # Pence times a count (10 instalments) is money; Pence times Pence is meaningless.
        if isinstance(other, Pence) or not isinstance(other, int):
            raise _refuse("multiply", other)
        return Pence(int(self) * int(other))

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Pence:
        # Division makes fractions of a penny; the caller must decide where the pennies go.
        raise TypeError(
            "dividing money makes fractions of a penny: use split() or apportion(), "
            "or int(a) / int(b) if you want a ratio rather than money"
        )

    __rtruediv__ = __truediv__

    def __neg__(self) -> Pence:
        return Pence(-int(self))

    def __pos__(self) -> Pence:
        return self

    def __abs__(self) -> Pence:
        return Pence(abs(int(self)))


def format_pounds(p: int) -> str:
    """Whole pence as pounds for people: 123456 -> "£1,234.56", -1230 -> "-£12.30"."""
    pence = Pence(p)  # refuses floats
    pounds, rest = divmod(abs(int(pence)), 100)
    return f"{'-' if pence < 0 else ''}£{pounds:,}.{rest:02d}"


def split(total: int, n: int) -> list[Pence]:
    """Split `total` into `n` parts that differ by at most 1p and sum exactly to `total`.

    The first parts take the extra pennies (for instalments: the first instalments are the
    larger ones, so nothing is left to collect at the end). £10.00 in 3 -> 334, 333, 333.
    A negative total splits the same way with every part negated.
    """
    total = Pence(total)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("the number of parts must be a whole number")
    if n < 1:
        raise ValueError(f"cannot split into {n} parts; need at least 1")
    sign = -1 if total < 0 else 1
    base, extra = divmod(abs(int(total)), n)
    return [Pence(sign * (base + (1 if i < extra else 0))) for i in range(n)]


def apportion(total: int, weights: Sequence[int]) -> list[Pence]:
    """Share `total` in proportion to whole-number `weights`, summing exactly to `total`.

    Largest-remainder method: everyone gets the whole pence of their exact share, and the pennies
    left over go to the largest fractional remainders (earlier position first on a tie). So each
    part is its exact share rounded down or up, and a zero weight always gets 0p.
    Weights may be pence (apportion a payment by outstanding balances) or any other counts.
    """
    total = Pence(total)
    ws = _ints(weights)
    if not ws:
        raise ValueError("cannot apportion over no weights")
    if any(w < 0 for w in ws):
        raise ValueError("weights cannot be negative")
    weight_sum = sum(ws)
    if weight_sum == 0:
        raise ValueError("weights add up to zero, so there is nothing to apportion by")
    sign = -1 if total < 0 else 1
    t = abs(int(total))
    floors = [t * w // weight_sum for w in ws]
    remainders = [t * w % weight_sum for w in ws]
    left = t - sum(floors)
    # Largest remainder first; on a tie the earlier position, so the result is deterministic.
    order = sorted(range(len(ws)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [Pence(sign * f) for f in floors]


def _ints(weights: Sequence[int]) -> list[int]:
    out: list[int] = []
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, int):
            raise TypeError(f"weights must be whole numbers, not {type(w).__name__} {w!r}")
        out.append(w)
    return out
