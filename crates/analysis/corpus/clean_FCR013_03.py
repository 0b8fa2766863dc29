import json as j


def text() -> str:
    return j.dumps({})
