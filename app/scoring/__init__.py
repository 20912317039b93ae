"""Point scoring: rulesets (bands, thresholds, sanctions) and the violation catalogue."""
