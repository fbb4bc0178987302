"""De-identified analytics for optimisation: aggregates over groups of at least k customers."""
