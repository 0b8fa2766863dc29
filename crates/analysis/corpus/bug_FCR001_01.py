def area(radius: float) -> float:
    return pi * radius ** 2  # expect: FCR001
