def keys(config: dict[str, int]) -> list[str]:
    return list(config.iterkeys())  # expect: FCR006
