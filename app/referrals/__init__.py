"""Two-way referrals (双向移送) with partner departments."""
