def total(prices: dict[str, float]) -> float:
    base = prices.get("base", 0.0)
    return base * 2
