from collections import defaultdict


def groups() -> dict:
    return defaultdict(list)
