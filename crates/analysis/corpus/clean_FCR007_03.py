class Config:
    def __init__(self) -> None:
        self.debug = False


def check(config: Config) -> bool:
    return config.debug
