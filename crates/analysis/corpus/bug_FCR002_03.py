import json


def parse(text: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError:
        print("bad input")
    return data  # expect: FCR002
