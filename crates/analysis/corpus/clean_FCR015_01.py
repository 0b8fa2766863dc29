import json


def load(text: str) -> dict:
    try:
        return json.loads(text)
    except ValueError:
        return {}
