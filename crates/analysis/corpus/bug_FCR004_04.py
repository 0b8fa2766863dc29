import math


def root(text: str) -> float:
    return math.sqrt(text)  # expect: FCR004
