def scale(values: list[float], *, factor: float) -> list[float]:
    return [v * factor for v in values]


print(scale([1.0, 2.0], 3.0))  # expect: FCR003
