def total(prices: list[float]) -> float:
    result = 0.0
    for price in prices:
        result += price
    return reslt  # expect: FCR001
