import json


def load(text: str) -> dict:
    return jsn.loads(text)  # expect: FCR001


def dump(data: dict) -> str:
    return json.dumps(data)
