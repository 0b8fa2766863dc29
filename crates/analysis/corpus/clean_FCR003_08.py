def log(message: str) -> None:
    print(message)


def run() -> None:
    log("start now")
