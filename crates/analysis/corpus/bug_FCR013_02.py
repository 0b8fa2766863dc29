from collections import OrderedDict, defaultdict  # expect: FCR013


def groups() -> dict:
    return defaultdict(list)
