"""一人一档: the dossier, read across scoring, due process and referrals (above all three)."""
