"""The deterministic reference scenario (DESIGN.md: "Reference scenario"): a synthetic
war-affected region and every record a programme keeps about it, at any scale."""

from clearfield.scenario.generate import Scenario, generate

__all__ = ["Scenario", "generate"]
