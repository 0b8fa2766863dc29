def total(prices: dict[str, float]) -> float:
    base = prices.get("base")
    return base * 2  # expect: FCR005
