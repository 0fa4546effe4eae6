"""The body map's regions now live in `screening.questionnaire.bodymap`; this name stays for the app factory."""

from .questionnaire.bodymap import LABELS, REGION_CODES, REGIONS, Region

__all__ = ["LABELS", "REGIONS", "REGION_CODES", "Region"]
