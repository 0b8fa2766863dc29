def pick(flag: bool) -> int:
    if flag:
        return 1
    else:
        return 2
    return 3  # expect: FCR009
