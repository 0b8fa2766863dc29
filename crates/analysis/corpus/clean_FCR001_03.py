import json


def load(text: str) -> dict:
    return json.loads(text)


def dump(data: dict) -> str:
    return json.dumps(data)
