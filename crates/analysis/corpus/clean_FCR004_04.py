import math


def root(text: str) -> float:
    return math.sqrt(float(text))
