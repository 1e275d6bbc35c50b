menus = {}  # which menu each call is in, by its uuid

@ws.on_input
def on_input(event):
    digit = event["dtmf"]["digits"]
    if menus.get(event["uuid"]) == "support":
        team = {"1": "billing", "2": "technical help"}.get(digit, "nobody")
        return [Talk(text=f"Connecting you to {team}.")]
    if digit == "2":
        menus[event["uuid"]] = "support"
        return [
            Talk(text="Press 1 for billing or 2 for technical help."),
            Input(type=["dtmf"], dtmf=Dtmf(maxDigits=1), eventUrl=[ws.webhook_url("input")]),
        ]
    team = {"1": "sales"}.get(digit, "nobody")
    return [Talk(text=f"Connecting you to {team}.")]
