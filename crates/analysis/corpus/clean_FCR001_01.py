from math import pi


def area(radius: float) -> float:
    return pi * radius ** 2
