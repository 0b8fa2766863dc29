def describe(flag: bool) -> None:
    if flag:
        message = "on"
    print(message)  # expect: FCR002
