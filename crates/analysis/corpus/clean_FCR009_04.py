def pick(flag: bool) -> int:
    if flag:
        return 1
    return 2
