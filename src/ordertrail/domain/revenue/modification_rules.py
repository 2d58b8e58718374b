"""How a contract modification is treated, chosen by a rule table and recorded with its reason.

The rules are the decision tree of ASC 606-10-25-12 and 25-13 (IFRS 15.20-21), scanned in
order; the first that holds wins. An explicit requested treatment overrides the table, and the
decision keeps both what the rules said and what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ordertrail.domain.revenue.facts import Treatment


@dataclass(frozen=True, slots=True)
class ModificationFacts:
    """What the rules look at, computed from the contract and the change."""

    adds_only: bool
    added_distinct: bool
    priced_at_ssp: bool
    remaining_distinct: bool


@dataclass(frozen=True, slots=True)
class ModificationRule:
    treatment: Treatment
    holds: Callable[[ModificationFacts], bool]
    reason: str
    paragraph: str


MODIFICATION_RULES: tuple[ModificationRule, ...] = (
    ModificationRule(
        "separate_contract",
        lambda f: f.adds_only and f.added_distinct and f.priced_at_ssp,
        "distinct goods or services were added at their standalone selling prices",
        "ASC 606-10-25-12; IFRS 15.20",
    ),
    ModificationRule(
        "prospective",
        lambda f: f.remaining_distinct,
        "the remaining goods or services are distinct from those already transferred: "
        "the existing contract is terminated and a new one created",
        "ASC 606-10-25-13(a); IFRS 15.21(a)",
    ),
    ModificationRule(
        "cumulative_catch_up",
        lambda _: True,
        "the remaining goods or services are not distinct: they belong to a partially "
        "satisfied performance obligation, adjusted on a cumulative catch-up basis",
        "ASC 606-10-25-13(b); IFRS 15.21(b)",
    ),
)

RULE_BY_TREATMENT = {rule.treatment: rule for rule in MODIFICATION_RULES}


@dataclass(frozen=True, slots=True)
class ModificationDecision:
    """The treatment applied, why, and whether a request overrode the rules."""

    treatment: Treatment
    reason: str
    paragraph: str
    rule_treatment: Treatment
    overridden: bool
    facts: ModificationFacts

    @property
    def summary(self) -> str:
        said = f"{self.treatment}: {self.reason} ({self.paragraph})"
        if not self.overridden:
            return said
        return f"{said}; requested over the rules' {self.rule_treatment}"


def decide_treatment(
    *, facts: ModificationFacts, requested: Treatment | None, requested_reason: str = ""
) -> ModificationDecision:
    """Scan the rule table; an explicit request replaces the rules' choice, recorded as such."""
    chosen = next(rule for rule in MODIFICATION_RULES if rule.holds(facts))
    if requested is None or requested == chosen.treatment:
        return ModificationDecision(
            treatment=chosen.treatment,
            reason=chosen.reason,
            paragraph=chosen.paragraph,
            rule_treatment=chosen.treatment,
            overridden=False,
            facts=facts,
        )
    rule = RULE_BY_TREATMENT[requested]
    return ModificationDecision(
        treatment=requested,
        reason=requested_reason or rule.reason,
        paragraph=rule.paragraph,
        rule_treatment=chosen.treatment,
        overridden=True,
        facts=facts,
    )
