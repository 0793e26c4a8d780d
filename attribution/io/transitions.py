"""Markov transition exports (moved here from the model module; see wave2-presence)."""

from attribution.models.markov import check_transitions_path, write_transitions

__all__ = ["check_transitions_path", "write_transitions"]
