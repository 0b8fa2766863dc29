import json as j  # expect: FCR013


def text() -> str:
    return "{}"
