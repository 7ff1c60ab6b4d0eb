class Config:
    bind: list[str]
    accesslog: object
    errorlog: object
    loglevel: str
    def __init__(self) -> None: ...
