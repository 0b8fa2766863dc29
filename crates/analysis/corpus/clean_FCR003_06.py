def scale(values: list[float], *, factor: float) -> list[float]:
    return [v * factor for v in values]


print(scale([1.0, 2.0], factor=3.0))
