"""Why a revenue operation could not be done: named exceptions, one per broken rule."""

from __future__ import annotations


class RevenueError(Exception):
    """A revenue rule was broken; the operation was not done."""


class InvalidTemplate(RevenueError):
    """An obligation template whose fields contradict each other."""


class OverlappingVersions(RevenueError):
    """Two catalog versions for the same key are effective on the same day."""


class NoTemplate(RevenueError):
    """No obligation template is effective for a SKU on a date."""


class NoSsp(RevenueError):
    """No standalone selling price is effective, or one is needed and the row has none."""


class InvalidContract(RevenueError):
    """A contract description that cannot be turned into a contract."""


class DiscountEvidenceMismatch(RevenueError):
    """Evidence that the entire discount belongs to some obligations does not add up."""


class ResidualNotAppropriate(RevenueError):
    """The residual approach gives nothing, or a price outside the observable SSP range."""


class InvalidFact(RevenueError):
    """A fact that contradicts the contract: an unknown line, more units than ordered."""


class CreditExceedsBilled(RevenueError):
    """A credit note larger than what was billed and not yet credited."""
