"""Units and teams: the organisation chart, restructuring (merge, split, move) and its history."""
