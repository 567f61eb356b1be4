"""Exceptions raised while reading or applying weights."""

from __future__ import annotations


class WeightsError(ValueError):
    """A weight file cannot be read or does not fit the requested network."""


class WeightsMismatchError(WeightsError):
    """The weights belong to another architecture (names the first mismatching parameter)."""
